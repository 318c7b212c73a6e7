package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func checkIn(t *testing.T, client *http.Client, srv *httptest.Server, tok, eventID, attendeeID string) (int, error) {
	t.Helper()
	body := fmt.Sprintf(`[{"id":%q,"checkIn":"2026-05-25T18:00:00Z"}]`, attendeeID)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ea/events/"+eventID+"/check-in", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// Each after-effect acts first: the check-in is counted whatever the client
// sees — no answer, a 500, an answer after it gave up.
func TestAfterEffectsActThenFail(t *testing.T) {
	s := New(Config{Seed: 3, Attendees: 8, OpenAPISpecPath: spec(t), StrictOpenAPI: true})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tok := token(t, srv, s)
	rules := []AfterEffect{}
	for _, f := range []string{"check-in,calls=2,drop", "check-in,calls=3,500", "check-in,calls=4,delay=2s", "check-in,calls=5,slow=300ms"} {
		a, err := ParseAfterEffect(f)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, a)
	}
	s.SetFaults(Faults{AfterEffects: rules})
	as := s.Attendees()
	client := &http.Client{Timeout: time.Second}
	want := []struct {
		status int
		err    bool
	}{{207, false}, {0, true}, {500, false}, {0, true}, {207, false}, {207, false}}
	for i, w := range want {
		status, err := checkIn(t, client, srv, tok, s.EventID(), as[i].ID)
		if status != w.status || (err != nil) != w.err {
			t.Errorf("call %d: status %d, error %v; want %d, error %v", i+1, status, err, w.status, w.err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the held answer notices its client left
	eff := s.Effects(EndpointEventCheckIn)
	for i := range want {
		if eff[as[i].ID] != 1 {
			t.Errorf("call %d: %d effects, want 1", i+1, eff[as[i].ID])
		}
	}
	st := s.AfterEffects()[EndpointEventCheckIn]
	if st != (AfterEffectStats{Calls: 6, Dropped: 1, Failed: 1, Delayed: 1, Abandoned: 1, Slowed: 1}) {
		t.Errorf("stats: %+v", st)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("OpenAPI: %v", v)
	}
}

func TestParseAfterEffect(t *testing.T) {
	a, err := ParseAfterEffect("session-check-in,every=5,delay=70s")
	if err != nil || a.Endpoint != EndpointSessionCheckIn || a.Every != 5 || a.Action != ActionDelay || a.Delay != 70*time.Second {
		t.Errorf("%+v %v", a, err)
	}
	for _, bad := range []string{"check-in,drop", "check-in,every=3", "check-in,every=3,delay=", "check-in,every=x,drop", ",every=2,drop", "check-in,every=2,explode"} {
		if _, err := ParseAfterEffect(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// The control endpoint sets faults a user can watch cventsync recover from,
// and reports what they did; session check-ins can be read back from
// GET /sessions/attendance.
func TestControlEndpointAndAttendance(t *testing.T) {
	s := New(Config{Seed: 4, Attendees: 3, OpenAPISpecPath: spec(t), StrictOpenAPI: true})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(body string) int {
		resp, err := http.Post(srv.URL+"/_sim/faults", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(`{"afterEffects":[{"endpoint":"session-check-in","every":1,"action":"500"}],"latency":"1ms"}`); c != http.StatusOK {
		t.Fatalf("POST /_sim/faults: %d", c)
	}
	if c := post(`{"afterEffects":[{"endpoint":"check-in","every":1,"action":"explode"}]}`); c != http.StatusBadRequest {
		t.Errorf("a bad rule: %d", c)
	}
	tok := token(t, srv, s)
	session, a := s.Sessions()[0].ID, s.Attendees()[0].ID
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ea/sessions/"+session+"/check-in",
		strings.NewReader(fmt.Sprintf(`[{"id":%q,"checkIn":"2026-05-25T18:00:00Z"}]`, a)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req.WithContext(context.Background()))
	if err != nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("session check-in: %v %v", resp, err)
	}
	resp.Body.Close()
	resp = get(t, srv, tok, "/sessions/attendance?filter="+strings.ReplaceAll(fmt.Sprintf("session.id eq '%s'", session), " ", "%20"))
	var list struct {
		Data []struct {
			Attendee struct{ ID string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Data) != 1 || list.Data[0].Attendee.ID != a {
		t.Errorf("attendance: %+v", list)
	}
	resp, err = http.Get(srv.URL + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats struct {
		AfterEffects map[string]AfterEffectStats
	}
	_ = json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats.AfterEffects[EndpointSessionCheckIn].Failed != 1 {
		t.Errorf("stats: %+v", stats)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("OpenAPI: %v", v)
	}
}
