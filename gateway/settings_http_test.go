package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// Integration settings with a repeated JSON key answer 400 naming the key,
// on create and on update; nothing is stored.
func TestIntegrationSettingsRepeatedKey(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	var e struct{ Error string }
	s.admin(http.MethodPost, "/api/v1/integrations",
		`{"name":"N","cventEventId":"E","mapping":{"defaultGroup":"a","defaultGroup":"b"}}`, http.StatusBadRequest, &e)
	if !strings.Contains(e.Error, `duplicate key "defaultGroup" in mapping`) {
		t.Errorf("create: %q", e.Error)
	}
	in := s.createIntegration(newIntegration)
	for body, key := range map[string]string{
		`{"mapping":{"guests":"skip"},"mapping":{"guests":"admit"}}`:        `duplicate key "mapping"`,
		`{"mapping":{"fields":{"title":"designation","title":"jobTitle"}}}`: `duplicate key "title" in mapping.fields`,
	} {
		s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, body, http.StatusBadRequest, &e)
		if !strings.Contains(e.Error, key) {
			t.Errorf("update %s: %q", body, e.Error)
		}
	}
	var got struct{ Settings map[string]any }
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID, "", http.StatusOK, &got)
	if _, ok := got.Settings["mapping"]; ok {
		t.Errorf("a refused update was stored: %v", got.Settings)
	}
}
