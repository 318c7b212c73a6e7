package cvent_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/simulator"
)

// specPath finds shared/cvent/openapi.yaml beside the repository.
func specPath(t *testing.T) string {
	t.Helper()
	p, err := simulator.FindSpec(".")
	if err != nil {
		t.Fatalf("Cvent's OpenAPI spec is missing: %v", err)
	}
	return p
}

type env struct {
	sim    *simulator.Simulator
	client *cvent.Client
	srv    *httptest.Server
}

func newEnv(t *testing.T, cfg simulator.Config, limiter *rate.Limiter) *env {
	t.Helper()
	if cfg.OpenAPISpecPath == "" {
		cfg.OpenAPISpecPath, cfg.StrictOpenAPI = specPath(t), true
	}
	sim := simulator.New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	id, secret := sim.Credentials()
	c, err := cvent.New(cvent.Config{ClientID: id, ClientSecret: secret, BaseURL: srv.URL + "/ea", Limiter: limiter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if v := sim.Violations(); len(v) > 0 {
			t.Errorf("%d OpenAPI violations, first: %s", len(v), v[0])
		}
	})
	return &env{sim: sim, client: c, srv: srv}
}

func TestPagingWalksEveryAttendee(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 1, Attendees: 450}, nil)
	ctx := context.Background()
	p := e.client.Attendees(cvent.ListOptions{Filter: cvent.EventFilter(e.sim.EventID()), Limit: 200})
	seen := map[string]bool{}
	for a, err := range p.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		seen[a.ID] = true
	}
	if len(seen) != 450 || p.TotalCount != 450 {
		t.Fatalf("got %d attendees, totalCount %d; want 450", len(seen), p.TotalCount)
	}
}

func TestEmptyLastPage(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 2, Attendees: 200}, nil) // 2 full pages of 100, then an empty one
	n := 0
	pages := 0
	p := e.client.Attendees(cvent.ListOptions{Limit: 100})
	for {
		items, ok, err := p.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		pages++
		n += len(items)
	}
	if n != 200 || pages != 2 {
		t.Fatalf("got %d attendees on %d pages, want 200 on 2", n, pages)
	}
	if e.sim.Calls()["GET /attendees"] != 3 {
		t.Errorf("the empty third page must be fetched and ended on: %v", e.sim.Calls())
	}
}

func TestRepeatedPageTokenIsAnError(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 3, Attendees: 300}, nil)
	e.sim.SetFaults(simulator.Faults{RepeatPage: true})
	var err error
	for _, err = range e.client.Attendees(cvent.ListOptions{Limit: 100}).All(context.Background()) {
		if err != nil {
			break
		}
	}
	if !errors.Is(err, cvent.ErrTokenNotAdvancing) {
		t.Fatalf("got %v, want ErrTokenNotAdvancing", err)
	}
}

func TestEarlyTokenExpiryRefreshesOnceAndRetries(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 4, Attendees: 3}, nil)
	ctx := context.Background()
	if _, err := e.client.GetEvent(ctx, e.sim.EventID()); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(simulator.Faults{ExpireTokens: true})
	if _, err := e.client.GetEvent(ctx, e.sim.EventID()); err != nil {
		t.Fatalf("after early expiry: %v", err)
	}
	if got := e.sim.Calls()["POST /oauth2/token"]; got != 2 {
		t.Errorf("token requests: %d, want 2", got)
	}
}

func TestConcurrentCallersShareOneToken(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 5, Attendees: 3}, nil)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client.GetEvent(context.Background(), e.sim.EventID()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.sim.Calls()["POST /oauth2/token"]; got != 1 {
		t.Errorf("token requests: %d, want 1", got)
	}
}

func TestShortTokenLifetimeIsRenewedBeforeExpiry(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 6, Attendees: 1, TokenTTL: 59 * time.Second}, nil)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := e.client.GetEvent(ctx, e.sim.EventID()); err != nil {
			t.Fatal(err)
		}
	}
	// A lifetime under the one-minute margin: every call renews.
	if got := e.sim.Calls()["POST /oauth2/token"]; got != 2 {
		t.Errorf("token requests: %d, want 2", got)
	}
}

func TestRateLimitsAndErrorsAreClassified(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 7, Attendees: 1}, nil)
	ctx := context.Background()
	e.sim.SetFaults(simulator.Faults{TooManyRequests: 1})
	_, err := e.client.GetEvent(ctx, e.sim.EventID())
	if k, wait := cvent.Classify(err); k != cvent.TooManyRequests || wait != 2*time.Second {
		t.Errorf("per-second 429: %v %v (%v)", k, wait, err)
	}
	e.sim.SetFaults(simulator.Faults{LimitExceeded: true})
	_, err = e.client.GetEvent(ctx, e.sim.EventID())
	if k, wait := cvent.Classify(err); k != cvent.LimitExceeded || wait <= 0 || wait > 24*time.Hour {
		t.Errorf("daily 429: %v %v (%v)", k, wait, err)
	}
	e.sim.SetFaults(simulator.Faults{ErrorRate: 1})
	_, err = e.client.GetEvent(ctx, e.sim.EventID())
	if k, _ := cvent.Classify(err); k != cvent.Transient {
		t.Errorf("5xx: %v (%v)", k, err)
	}
	e.sim.SetFaults(simulator.Faults{})
	_, err = e.client.GetAttendee(ctx, "00000000-0000-4000-8000-000000000000", "")
	var ce *cvent.Error
	if k, _ := cvent.Classify(err); k != cvent.Permanent || !errors.As(err, &ce) || ce.Status != 404 || ce.Message == "" {
		t.Errorf("404: %v (%v)", k, err)
	}
}

func TestBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 16 * time.Second, 9: 16 * time.Second} {
		if got := cvent.Backoff(attempt); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	midnight := time.Date(2026, 5, 25, 23, 0, 0, 0, time.UTC)
	if _, wait := cvent.ClassifyAt(&cvent.Error{Status: 429, Message: "Limit Exceeded"}, 1, midnight); wait != time.Hour {
		t.Errorf("daily limit at 23:00 UTC waits %v, want 1h", wait)
	}
}

// burst fires calls concurrent GetEvent calls through a client paced by a
// shared Limiters registry sized to tier, and reports the simulator's 429s.
func burst(t *testing.T, seed uint64, tier cvent.UsageTier, calls int) {
	t.Helper()
	custom := &simulator.Tier{Name: tier.Name, PerSecond: tier.RateLimit, Burst: int(tier.BurstLimit), PerDay: int(tier.Quota)}
	e := newEnv(t, simulator.Config{Seed: seed, Attendees: 1, Custom: custom}, nil)
	limiters := &cvent.Limiters{Default: tier}
	id, secret := e.sim.Credentials()
	c, err := cvent.New(cvent.Config{ClientID: id, ClientSecret: secret, BaseURL: e.srv.URL + "/ea", Limiter: limiters.For(id)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetEvent(context.Background(), e.sim.EventID()); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if tmr, le := e.sim.RateLimited(); tmr != 0 || le != 0 {
		t.Errorf("simulator answered %d per-second and %d daily 429s", tmr, le)
	}
	if got := e.sim.Calls()["GET /events/{id}"]; got != calls {
		t.Errorf("simulator saw %d calls, want %d", got, calls)
	}
}

// A burst of 500 concurrent calls, paced by the shared limiter, never gets
// a 429. The tier is scaled up (100/s, burst 20) so the test is quick; the
// pacing logic is the same as at Cvent's real tiers. (At 200/s the
// scheduling jitter of a loaded 2-core machine alone could bunch paced
// calls past the simulator's window.)
func TestLimiterAvoids429s(t *testing.T) {
	burst(t, 8, cvent.UsageTier{Name: "Fast", RateLimit: 100, BurstLimit: 20, Quota: 100000}, 500)
}

// Control for the test above: without the limiter the same burst does meet
// the simulator's 429s, so a zero there means pacing worked.
func TestUnpacedBurstGets429s(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 8, Attendees: 1, Custom: &simulator.Tier{Name: "Fast", PerSecond: 100, Burst: 20, PerDay: 100000}}, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	kinds := map[cvent.Kind]int{}
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.client.GetEvent(context.Background(), e.sim.EventID()); err != nil {
				k, _ := cvent.Classify(err)
				mu.Lock()
				kinds[k]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	tmr, _ := e.sim.RateLimited()
	if tmr == 0 || kinds[cvent.TooManyRequests] != tmr {
		t.Errorf("unpaced burst: simulator answered %d 429s, client saw %v", tmr, kinds)
	}
}

// The exact case at Cvent's real Standard tier (10/s): 500 calls
// take about 55 s, so `go test -short` skips it; make test and CI run it.
func TestLimiterAvoids429sAtStandardTier(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping 500 calls at 10/s (about a minute)")
	}
	burst(t, 8, cvent.Tiers["Standard"], 500)
}

// Before the tier is known an account is paced as Standard; Apply resizes
// the one limiter every client of the account shares.
func TestLimitersShareOneLimiterPerAccount(t *testing.T) {
	l := &cvent.Limiters{}
	a, b := l.For("acct-1"), l.For("acct-1")
	if a != b {
		t.Fatal("two limiters for one account")
	}
	if l.For("acct-2") == a {
		t.Fatal("two accounts share a limiter")
	}
	cases := []struct {
		tier  cvent.UsageTier
		burst int
	}{
		{cvent.Tiers["Free"], 1},
		{cvent.Tiers["Standard"], 9},
		{cvent.Tiers["Premium"], 24},
	}
	for _, c := range cases {
		l.Apply("acct-1", c.tier)
		if a.Burst() != c.burst || float64(a.Limit()) > c.tier.RateLimit || float64(a.Limit()) < c.tier.RateLimit*0.8 {
			t.Errorf("%s: limiter %v/s burst %d", c.tier.Name, a.Limit(), a.Burst())
		}
	}
}

func TestCheckInMultiStatusAndPatchContact(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 9, Attendees: 3}, nil)
	ctx := context.Background()
	as := e.sim.Attendees()
	now := time.Now().UTC().Truncate(time.Second)
	res, err := e.client.CheckInAttendees(ctx, e.sim.EventID(), []cvent.CheckIn{
		{ID: as[0].ID, CheckIn: now, Device: "cventsync"}, {ID: "00000000-0000-4000-8000-000000000001", CheckIn: now}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || !res[0].OK() || res[0].ID() != as[0].ID || res[1].OK() || res[1].ErrorMessage() == "" {
		t.Fatalf("per-item results: %+v", res)
	}
	if e.sim.CheckIns()[as[0].ID] != 1 {
		t.Errorf("check-ins: %v", e.sim.CheckIns())
	}
	if err := e.client.PatchContact(ctx, as[1].ContactID, map[string]any{"title": "CTO"}); err != nil {
		t.Fatal(err)
	}
	c := e.sim.Contact(as[1].ContactID)
	if c["title"] != "CTO" || c["firstName"] != as[1].FirstName {
		t.Errorf("PATCH must change only the sent field: %v", c)
	}
}

// Every call the client makes, with the options cventsync uses, is answered
// by the simulator in strict OpenAPI mode: a request or answer that broke
// Cvent's spec would fail here (as a 500) and in newEnv's violation check.
func TestEveryCallConformsToTheSpec(t *testing.T) {
	e := newEnv(t, simulator.Config{Seed: 10, Attendees: 30}, nil)
	ctx := context.Background()
	ev := e.sim.EventID()
	as := e.sim.Attendees()
	count := func(name string, n int, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if n == 0 {
			t.Errorf("%s: nothing listed", name)
		}
	}
	n, err := drain(ctx, e.client.Attendees(cvent.ListOptions{Filter: cvent.EventFilter(ev) + " and status eq 'Accepted'",
		Expand: "answers.question,registrationType", After: time.Now().Add(-48 * time.Hour), Limit: 7}))
	count("attendees", n, err)
	n, err = drain(ctx, e.client.Attendees(cvent.ListOptions{Filter: cvent.IDsFilter(idsOf(as, 60))}))
	count("attendees by POST /attendees/filter", n, err)
	if e.sim.Calls()["POST /attendees/filter"] == 0 {
		t.Error("a long filter did not go to POST /attendees/filter")
	}
	if _, err := e.client.GetAttendee(ctx, strings.ToUpper(as[0].ID), "answers.question"); err != nil {
		t.Errorf("attendee by its webhook (upper-case) id: %v", err)
	}
	if _, err := e.client.GetEvent(ctx, ev); err != nil {
		t.Errorf("event: %v", err)
	}
	if c, err := e.client.GetContact(ctx, as[0].ContactID); err != nil || c["email"] != as[0].Email {
		t.Errorf("contact: %v %v", c, err)
	}
	n, err = drain(ctx, e.client.RegistrationTypes(ev))
	count("registration types", n, err)
	n, err = drain(ctx, e.client.ContactCustomFields())
	count("contact custom fields", n, err)
	n, err = drain(ctx, e.client.EventQuestions(ev))
	count("questions", n, err)
	n, err = drain(ctx, e.client.Sessions(ev))
	count("sessions", n, err)
	n, err = drain(ctx, e.client.SessionEnrollment(ev))
	count("enrollment", n, err)
	tier, err := e.client.GetUsageTier(ctx)
	if err != nil || tier.RateLimit <= 0 || tier.Quota <= 0 {
		t.Errorf("usage tier: %+v %v", tier, err)
	}
	now := time.Now().UTC()
	if res, err := e.client.SessionCheckIn(ctx, e.sim.Sessions()[0].ID, []cvent.CheckIn{{ID: as[0].ID, CheckIn: now}}); err != nil || len(res) != 1 || !res[0].OK() {
		t.Errorf("session check-in: %+v %v", res, err)
	}
	if _, err := e.client.CheckInAttendees(ctx, ev, []cvent.CheckIn{{ID: as[1].ID, CheckIn: now}}); err != nil {
		t.Errorf("check-in: %v", err)
	}
	if err := e.client.DeleteCheckIn(ctx, ev, as[1].ID); err != nil {
		t.Errorf("delete check-in: %v", err)
	}
	if a, _ := e.sim.Attendee(as[1].ID); a.CheckedIn {
		t.Error("check-in was not undone")
	}
}

func idsOf(as []simulator.Attendee, n int) []string {
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, as[i%len(as)].ID)
	}
	return ids
}

func drain[T any](ctx context.Context, p *cvent.Pager[T]) (int, error) {
	n := 0
	for _, err := range p.All(ctx) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Tokens that die long before their announced expires_in: each call meets a
// 401, refreshes once and succeeds; a second 401 in a row is not retried.
func TestTokenDyingBeforeExpiresIn(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, simulator.Config{Seed: 11, Attendees: 1, Now: clock}, nil)
	e.sim.SetFaults(simulator.Faults{TokenLifetime: time.Second})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := e.client.GetEvent(ctx, e.sim.EventID()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		advance(2 * time.Second)
	}
	calls := e.sim.Calls()
	if calls["POST /oauth2/token"] != 3 || calls["GET /events/{id}"] != 5 {
		t.Errorf("want 3 tokens and 5 event calls (1 + 2×(401, retry)), got %v", calls)
	}
	// Credentials that stop working: the refresh itself fails, as a permanent error.
	bad, err := cvent.New(cvent.Config{ClientID: "nobody", ClientSecret: "wrong", BaseURL: e.srv.URL + "/ea"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetEvent(ctx, e.sim.EventID())
	var ce *cvent.Error
	if k, _ := cvent.Classify(err); k != cvent.Permanent || !errors.As(err, &ce) || ce.Status != 401 {
		t.Errorf("bad credentials: %v (%v)", k, err)
	}
}

// Incremental pulls: after= returns only what changed since, and the status
// filter narrows it; ids from webhooks (upper case) match REST ids.
func TestIncrementalPullWithAfterAndStatus(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 5, 25, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, simulator.Config{Seed: 12, Attendees: 40, Now: clock}, nil)
	ctx := context.Background()
	mark := clock()
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	added := e.sim.AddAttendee(simulator.Attendee{ID: "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE", FirstName: "Ines", LastName: "Berg", Email: "ines@fabrikam.example"})
	waitlisted := e.sim.AddAttendee(simulator.Attendee{FirstName: "Noah", Status: "Waitlisted"})
	cancelled, _ := e.sim.Cancel(e.sim.Attendees()[0].ID)

	cases := []struct {
		filter string
		want   []string
	}{
		{cvent.EventFilter(e.sim.EventID()), []string{added.ID, waitlisted.ID, cancelled.ID}},
		{cvent.EventFilter(strings.ToUpper(e.sim.EventID())) + " and status eq 'Accepted'", []string{added.ID}},
		{cvent.EventFilter(e.sim.EventID()) + " and status eq 'Cancelled'", []string{cancelled.ID}},
	}
	for _, c := range cases {
		var got []string
		for a, err := range e.client.Attendees(cvent.ListOptions{Filter: c.filter, After: mark}).All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, a.ID)
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s after %v: got %v, want %v", c.filter, mark, got, c.want)
		}
	}
	if added.ID != "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" {
		t.Errorf("the simulator must keep REST ids lower case, got %s", added.ID)
	}
}
