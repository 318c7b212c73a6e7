package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestEndpoint(t *testing.T) {
	for path, want := range map[string]string{
		"/events/3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B/check-in": "/events/{id}/check-in",
		"/attendees?filter=x":     "/attendees",
		"/contacts/a1b2c3d4":      "/contacts/{id}",
		"/sessions/42/enrollment": "/sessions/{id}/enrollment",
		"/usage/tier":             "/usage/tier",
		"/oauth2/token":           "/oauth2/token",
	} {
		if got := Endpoint(path); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestKindName(t *testing.T) {
	for eventType, want := range map[string]string{
		"InviteeOrGuestAccepted": "attendee", "SessionCreated": "session", "": "unknown", "SomethingNew": "ignored",
	} {
		if got := KindName(eventType); got != want {
			t.Errorf("KindName(%q) = %q, want %q", eventType, got, want)
		}
	}
}

// The SDK uses one metric name with different tag sets; the collector gives
// every series of a name the union of its label names, as Prometheus wants.
func TestTemporalHandler(t *testing.T) {
	h := TemporalHandler().WithTags(map[string]string{"namespace": "ns"})
	h.Counter("test_sdk_counter").Inc(1)
	h.WithTags(map[string]string{"operation": "Poll"}).Counter("test_sdk_counter").Inc(2)
	h.Gauge("test_sdk_gauge").Update(3.5)
	h.Timer("test_sdk_latency").Record(20 * time.Millisecond)
	families, err := Registry.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	c := byName["test_sdk_counter_total"]
	if c == nil || len(c.Metric) != 2 {
		t.Fatalf("counter family: %v", c)
	}
	total := 0.0
	for _, m := range c.Metric {
		if len(m.Label) != 2 {
			t.Errorf("series labels %v, want namespace and operation", m.Label)
		}
		total += m.GetCounter().GetValue()
	}
	if total != 3 {
		t.Errorf("counter total %v, want 3", total)
	}
	if g := byName["test_sdk_gauge"]; g == nil || g.Metric[0].GetGauge().GetValue() != 3.5 {
		t.Errorf("gauge: %v", g)
	}
	hist := byName["test_sdk_latency_seconds"]
	if hist == nil || hist.Metric[0].GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("timer histogram: %v", hist)
	}
}

func TestRequireToken(t *testing.T) {
	h := RequireToken("s3cret", Handler())
	for auth, want := range map[string]int{"": http.StatusUnauthorized, "Bearer wrong": http.StatusUnauthorized, "Bearer s3cret": http.StatusOK} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, rec.Code, want)
		}
	}
	if RequireToken("", Handler()) == nil {
		t.Error("no token must leave the handler open")
	}
}
