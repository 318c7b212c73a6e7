package gateway_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/bench"
)

// The bench scenario of issue 16 on the test stack (gateway and worker in
// this process): 1,000 notifications about 200 RFPs in a burst, with the
// simulator's rate limits off and at the Premium tier. `make bench` runs
// the same burst against separate gateway and worker processes.
func TestPNSBurstBench(t *testing.T) {
	if os.Getenv("CVENTSYNC_PNS_BENCH") == "" {
		t.Skip("a burst of 1,000 notifications, timed: set CVENTSYNC_PNS_BENCH=1 (make bench runs it as scenario pns)")
	}
	s := newStack(t, stackOptions{})
	target := bench.PNSTarget{BaseURL: s.server.URL, AdminToken: adminToken, Store: s.store,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	for _, step := range []struct {
		name, tier string
	}{{"no limit", ""}, {"Premium", "Premium"}} {
		rep, err := bench.PNSBurst(context.Background(), target, bench.PNSBurstOptions{Tier: step.tier, Seed: 16})
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		t.Logf("%s: %s", step.name, rep)
		if rep.Wrong != 0 || rep.MaxPulls > 2 {
			t.Errorf("%s: %d RFPs wrong, at most %d pulls per RFP", step.name, rep.Wrong, rep.MaxPulls)
		}
		if step.tier == "" && rep.Elapsed > 10*time.Second {
			t.Errorf("no limit: %v, want ≤ 10 s", rep.Elapsed)
		}
		if step.tier != "" && rep.Elapsed-rep.Floor > 5*time.Second {
			t.Errorf("%s: %v is more than 5 s over the floor %v", step.name, rep.Elapsed, rep.Floor)
		}
	}
}
