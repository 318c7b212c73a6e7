package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func spec(t *testing.T) string {
	t.Helper()
	p, err := FindSpec(".")
	if err != nil {
		t.Fatalf("Cvent's OpenAPI spec is missing: %v", err)
	}
	return p
}

func token(t *testing.T, srv *httptest.Server, s *Simulator) string {
	t.Helper()
	id, secret := s.Credentials()
	tok, expiresIn, status := requestToken(t, srv, id, secret)
	if tok == "" || expiresIn != 3600 {
		t.Fatalf("token answer: %d %q expires_in %d", status, tok, expiresIn)
	}
	return tok
}

// requestToken asks the token endpoint as Cvent's clients do.
func requestToken(t *testing.T, srv *httptest.Server, id, secret string) (accessToken string, expiresIn, status int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ea/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	return tok.AccessToken, tok.ExpiresIn, resp.StatusCode
}

func get(t *testing.T, srv *httptest.Server, tok, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ea"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The conformance check is real: a wrong answer shape is caught, and in
// strict mode it becomes a 500 the client sees.
func TestOpenAPICatchesAWrongShape(t *testing.T) {
	s := New(Config{Seed: 1, Attendees: 5, OpenAPISpecPath: spec(t), StrictOpenAPI: true})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tok := token(t, srv, s)
	id := s.Attendees()[0].ID
	if resp := get(t, srv, tok, "/attendees/"+id); resp.StatusCode != http.StatusOK {
		t.Fatalf("a correct answer was refused: %d %v", resp.StatusCode, s.Violations())
	}
	s.SetFaults(Faults{BreakResponses: true})
	resp := get(t, srv, tok, "/attendees/"+id)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("a broken answer got through with %d", resp.StatusCode)
	}
	v := s.Violations()
	if len(v) != 1 || !strings.Contains(v[0], "guest") {
		t.Fatalf("violations: %v", v)
	}
	if resp := get(t, srv, tok, "/sessions"); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("a list without its required paging got through with %d", resp.StatusCode)
	}
	if v := s.Violations(); len(v) != 2 || !strings.Contains(v[1], "paging") {
		t.Fatalf("violations: %v", v)
	}
	s.SetFaults(Faults{})
	if resp := get(t, srv, tok, "/sessions"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a correct list was refused: %d %v", resp.StatusCode, s.Violations())
	}
	// A request that breaks the spec is caught too.
	if resp := get(t, srv, tok, "/attendees?limit=abc"); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("bad request parameter: %d", resp.StatusCode)
	}
}

func TestTierLimitsAnswerCventsTwo429s(t *testing.T) {
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	s := New(Config{Seed: 2, Attendees: 1, Custom: &Tier{Name: "Tiny", PerSecond: 1, Burst: 2, PerDay: 4}, Now: func() time.Time { return now }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tok := token(t, srv, s)
	var msgs []string
	for i := 0; i < 3; i++ {
		resp := get(t, srv, tok, "/usage/tier")
		var body struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		msgs = append(msgs, strings.TrimSpace(resp.Status+" "+body.Message))
	}
	if !strings.HasPrefix(msgs[0], "200") || !strings.HasPrefix(msgs[1], "200") || msgs[2] != "429 Too Many Requests Too Many Requests" {
		t.Fatalf("burst of 2 at 1/s: %v", msgs)
	}
	now = now.Add(3 * time.Second)
	for i := 0; i < 2; i++ {
		get(t, srv, tok, "/usage/tier")
	}
	resp := get(t, srv, tok, "/usage/tier")
	var body struct{ Message string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 429 || body.Message != "Limit Exceeded" {
		t.Fatalf("past the daily quota: %d %q", resp.StatusCode, body.Message)
	}
	now = now.Add(13 * time.Hour) // past 00:00 UTC; the token expired meanwhile
	if resp := get(t, srv, token(t, srv, s), "/usage/tier"); resp.StatusCode != 200 {
		t.Errorf("after the reset: %d", resp.StatusCode)
	}
	if tmr, le := s.RateLimited(); tmr != 1 || le != 1 {
		t.Errorf("429 counts: %d %d", tmr, le)
	}
}

func TestGenerationIsDeterministic(t *testing.T) {
	a := New(Config{Seed: 42, Attendees: 50000})
	b := New(Config{Seed: 42, Attendees: 10})
	if a.Attendees()[3].Email != b.Attendees()[3].Email || a.EventID() != b.EventID() {
		t.Error("the same seed must give the same account")
	}
	statuses := map[string]int{}
	for _, x := range a.Attendees() {
		statuses[x.Status]++
	}
	if statuses["Accepted"] < 40000 || statuses["Cancelled"] == 0 || statuses["Waitlisted"] == 0 {
		t.Errorf("status mix: %v", statuses)
	}
}

func tokenFor(t *testing.T, srv *httptest.Server, id, secret string) string {
	t.Helper()
	tok, _, status := requestToken(t, srv, id, secret)
	if tok == "" {
		t.Fatalf("token for %s: %d", id, status)
	}
	return tok
}

// A 429 storm lasts its duration on the simulator's clock, then ends.
func TestTooManyRequestsStorm(t *testing.T) {
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	s := New(Config{Seed: 3, Attendees: 1, Now: func() time.Time { return now }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	tok := token(t, srv, s)
	s.SetFaults(Faults{TooManyRequestsFor: 10 * time.Second})
	statuses := func() []int {
		var out []int
		for i := 0; i < 3; i++ {
			out = append(out, get(t, srv, tok, "/usage/tier").StatusCode)
		}
		return out
	}
	if got := statuses(); got[0] != 429 || got[1] != 429 || got[2] != 429 {
		t.Fatalf("during the storm: %v", got)
	}
	now = now.Add(11 * time.Second)
	if got := statuses(); got[0] != 200 || got[2] != 200 {
		t.Fatalf("after the storm: %v", got)
	}
	if tmr, _ := s.RateLimited(); tmr != 3 {
		t.Errorf("429s counted: %d", tmr)
	}
}

// Each account has its own tier: one account spending its quota leaves the
// other untouched, and /usage/tier answers the caller's tier.
func TestAccountsHaveTheirOwnLimits(t *testing.T) {
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	s := New(Config{Seed: 4, Attendees: 1, Custom: &Tier{Name: "Tiny", PerSecond: 100, Burst: 100, PerDay: 2},
		Accounts: []Account{{ClientID: "second", ClientSecret: "s3cret", Tier: "Free"}}, Now: func() time.Time { return now }})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	first, second := token(t, srv, s), tokenFor(t, srv, "second", "s3cret")
	for i := 0; i < 2; i++ {
		get(t, srv, first, "/usage/tier")
	}
	if resp := get(t, srv, first, "/usage/tier"); resp.StatusCode != 429 {
		t.Fatalf("first account past its quota: %d", resp.StatusCode)
	}
	resp := get(t, srv, second, "/usage/tier")
	var tier struct {
		Name      string  `json:"name"`
		RateLimit float64 `json:"rateLimit"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tier); err != nil || resp.StatusCode != 200 || tier.RateLimit != 2 || !strings.Contains(tier.Name, "Free") {
		t.Fatalf("second account: %d %+v %v", resp.StatusCode, tier, err)
	}
	s.ResetDay()
	if resp := get(t, srv, first, "/usage/tier"); resp.StatusCode != 200 {
		t.Errorf("after ResetDay: %d", resp.StatusCode)
	}
}
