package cvent_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/simulator"
)

type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounter) CountCall(clientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[clientID]++
}

// Every request the client sends is counted against its account: the token
// requests, a retry after a 401, pages of a list, a 429 and a 5xx, as many
// as the simulated Cvent received.
func TestEveryRequestIsCounted(t *testing.T) {
	sim := simulator.New(simulator.Config{Seed: 21, Attendees: 250})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	id, secret := sim.Credentials()
	counter := &callCounter{n: map[string]int{}}
	c, err := cvent.New(cvent.Config{ClientID: id, ClientSecret: secret, BaseURL: srv.URL + "/ea", Calls: counter})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.GetEvent(ctx, sim.EventID()); err != nil {
		t.Fatal(err)
	}
	for _, err := range c.Attendees(cvent.ListOptions{Limit: 100}).All(ctx) { // 3 pages
		if err != nil {
			t.Fatal(err)
		}
	}
	sim.SetFaults(simulator.Faults{ExpireTokens: true}) // 401, a new token, the retry
	if _, err := c.GetEvent(ctx, sim.EventID()); err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(simulator.Faults{TooManyRequests: 1})
	if _, err := c.GetEvent(ctx, sim.EventID()); err == nil {
		t.Fatal("want the 429")
	}
	sim.SetFaults(simulator.Faults{ErrorRate: 1})
	if _, err := c.GetEvent(ctx, sim.EventID()); err == nil {
		t.Fatal("want the 5xx")
	}
	received := 0
	for _, n := range sim.Calls() {
		received += n
	}
	// token, event, 3 pages, 401, token, retry, 429, 5xx
	if received != 10 || counter.n[id] != received || len(counter.n) != 1 {
		t.Errorf("counted %v, the simulator received %d calls (%v), want 10 counted for %s", counter.n, received, sim.Calls(), id)
	}
}
