package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/simulator"
)

type cventEvent struct {
	ID, Title, Code, Status, EventStatus string
}

// The account's events are listed whatever their status, searchable by
// title and code; an integration may name its event by event code, which
// is resolved to the event's id with the credentials it is given.
func TestCventEventsAndEventCodeInPlaceOfID(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 62}, "")
	var all struct{ Events []cventEvent }
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/cvent/events", "", http.StatusOK, &all)
	statuses := map[string]bool{}
	var past cventEvent
	for _, e := range all.Events {
		statuses[e.Status] = true
		if e.Code == "NWS2025PAST" {
			past = e
		}
	}
	if len(all.Events) < 4 || !statuses["Completed"] || !statuses["Cancelled"] || !statuses["Pending"] || past.ID == "" {
		t.Fatalf("events: %+v", all.Events)
	}
	var byCode struct{ Events []cventEvent }
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/cvent/events?q=roadshow", "", http.StatusOK, &byCode)
	if len(byCode.Events) != 1 || byCode.Events[0].Title != "Partner Roadshow Lisbon" {
		t.Errorf("q=roadshow: %+v", byCode.Events)
	}

	id, secret := s.sim.Credentials()
	creds := fmt.Sprintf(`"cvent":{"clientId":%q,"clientSecret":%q,"baseUrl":%q}`, id, secret, s.simURL+"/ea")
	var in struct{ ID, CventEventID string }
	s.admin(http.MethodPost, "/api/v1/integrations", `{"name":"last year","cventEventId":"NWS2025PAST",`+creds+`}`, http.StatusCreated, &in)
	if in.CventEventID != strings.ToLower(past.ID) {
		t.Errorf("event code NWS2025PAST resolved to %q, want %q", in.CventEventID, past.ID)
	}
	var bad struct{ Error string }
	s.admin(http.MethodPost, "/api/v1/integrations", `{"name":"typo","cventEventId":"NOSUCHCODE",`+creds+`}`, http.StatusBadRequest, &bad)
	if !strings.Contains(bad.Error, `"NOSUCHCODE"`) {
		t.Errorf("unknown event code: %q", bad.Error)
	}
	// Without credentials the id is kept as given, as before.
	var plain struct{ CventEventID string }
	s.admin(http.MethodPost, "/api/v1/integrations", `{"name":"as given","cventEventId":"E1"}`, http.StatusCreated, &plain)
	if plain.CventEventID != "e1" {
		t.Errorf("cventEventId without credentials: %q", plain.CventEventID)
	}
}
