package gateway_test

import (
	"net/http"
	"testing"
)

// List parameters the API cannot honour answer 400 naming them: before,
// a bad limit or status on deliveries was ignored, and a NUL in a text
// parameter reached PostgreSQL and answered 500.
func TestListQueriesRefuseBadInput(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	base := "/api/v1/integrations/" + in.ID
	for _, q := range []string{
		"/attendees?after=%00", "/attendees?email=%ff", "/attendees?limit=0",
		"/deliveries?limit=abc", "/deliveries?before=-1", "/deliveries?status=done", "/deliveries?inviteeId=a%00",
	} {
		var e struct{ Error string }
		s.admin(http.MethodGet, base+q, "", http.StatusBadRequest, &e)
		if e.Error == "" {
			t.Errorf("%s: no error message", q)
		}
	}
	s.admin(http.MethodGet, base+"/deliveries?status=failed&limit=500&before=10", "", http.StatusOK, nil)
	s.admin(http.MethodGet, base+"/attendees?access=true&limit=10000&after=a", "", http.StatusOK, nil)
}
