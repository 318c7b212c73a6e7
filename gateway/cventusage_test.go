package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cventusage"
	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
)

type usageAnswer struct {
	CventUsage *struct {
		Account string
		Day     string
		Calls   int64
		Tier    string
		Quota   int64
		Percent float64
		Warn    bool
		Summary string
	}
}

// Every Cvent call the gateway makes (the account's events) and the worker
// makes (a re-sync) is counted in PostgreSQL against the account's daily
// quota: the admin API's integration answer and /metrics show as many calls
// as the simulated Cvent received, against the Standard tier's 15,000; above
// 80% the answer and the console's integrations panel warn.
func TestCventCallsCountedAgainstTheDailyQuota(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 71, Attendees: 30, Tier: "Standard"}, "", true)
	account, _ := s.sim.Credentials()
	received := func() int64 {
		n := 0
		for _, c := range s.sim.Calls() {
			n += c
		}
		return int64(n)
	}
	if n := received(); n != 0 {
		t.Fatalf("the simulator saw %d calls before the test made any", n)
	}
	var none usageAnswer
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID, "", http.StatusOK, &none)
	if u := none.CventUsage; u == nil || u.Calls != 0 || u.Account != account || u.Summary != "0 today (tier not read yet)" {
		t.Fatalf("before any call: %+v", u)
	}

	// The gateway's calls: token, GET /events, its tier look-up.
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/cvent/events", "", http.StatusOK, nil)
	// The worker's: token, its tier look-up, the attendee pages.
	var r struct{ ID int64 }
	s.admin(http.MethodPost, "/api/v1/integrations/"+s.in.ID+"/resync", "", http.StatusAccepted, &r)
	s.waitFor("the re-sync", 60*time.Second, func() (bool, string) {
		var st struct{ Status string }
		s.admin(http.MethodGet, fmt.Sprintf("/api/v1/integrations/%s/resyncs/%d", s.in.ID, r.ID), "", http.StatusOK, &st)
		return st.Status == "done", st.Status
	})

	var got usageAnswer
	s.waitFor("the count to reach what the simulator received", 20*time.Second, func() (bool, string) {
		s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID, "", http.StatusOK, &got)
		u, n := got.CventUsage, received()
		return u != nil && u.Calls == n && u.Tier != "", fmt.Sprintf("%+v, simulator received %d", u, n)
	})
	u := *got.CventUsage // a copy: got is decoded into again below
	if u.Calls < 5 || u.Quota != 15000 || u.Warn || u.Day != time.Now().UTC().Format(time.DateOnly) ||
		u.Summary != fmt.Sprintf("%d of 15,000 today (<1%%)", u.Calls) {
		t.Errorf("usage after the calls: %+v", u)
	}
	var list struct{ Integrations []usageAnswer }
	s.admin(http.MethodGet, "/api/v1/integrations", "", http.StatusOK, &list)
	if len(list.Integrations) != 1 || list.Integrations[0].CventUsage == nil || list.Integrations[0].CventUsage.Calls != u.Calls {
		t.Errorf("the integrations list does not show the count %d: %+v", u.Calls, list.Integrations)
	}
	m := scrape(t, s.gw.Handler())
	if used, limit := m[`cventsync_cvent_quota_used{account="`+account+`"}`], m[`cventsync_cvent_quota_limit{account="`+account+`"}`]; used != float64(u.Calls) || limit != 15000 {
		t.Errorf("/metrics: quota used %v of %v, want %d of 15000", used, limit, u.Calls)
	}

	// Past 80% of the quota (as other processes' calls would take it).
	if err := s.store.AddCventCalls(context.Background(), []store.CventCalls{
		{Account: account, Day: cventusage.Today(time.Now()), Calls: 12000}}); err != nil {
		t.Fatal(err)
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID, "", http.StatusOK, &got)
	if w := got.CventUsage; !w.Warn || w.Calls != u.Calls+12000 || !strings.HasPrefix(w.Summary, fmt.Sprintf("%s of 15,000 today (80%%)", thousands(w.Calls))) {
		t.Errorf("past 80%%: %+v", w)
	}
	cc := newConsoleClient(t)
	session := cc.signIn(s.server.URL)
	for _, path := range []string{"/console", "/console/integrations/" + s.in.ID} {
		resp, page := cc.do(http.MethodGet, s.server.URL+path, nil, session)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, got.CventUsage.Summary) ||
			!strings.Contains(page, `id="cvent-usage-warning-`+s.in.ID+`"`) || !strings.Contains(page, "over 80% of the daily quota") {
			t.Errorf("%s (%d) does not warn of %q", path, resp.StatusCode, got.CventUsage.Summary)
		}
	}
}

// thousands is 12345 → "12,345".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
