package pns_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cventsync/cventsync/internal/pns"
	"github.com/cventsync/cventsync/internal/simulator"
)

type countCalls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countCalls) CountCall(clientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[clientID]++
}

// A REST pull counts every call it sends (the token included) against the
// account, so the console's daily quota shows Supplier Network pulls too.
func TestRESTPullCountsItsCalls(t *testing.T) {
	net := simulator.NewSupplierNetwork(simulator.SupplierConfig{Seed: 1})
	srv := httptest.NewServer(net.Handler())
	defer srv.Close()
	rfp, _ := net.SendRFP("Annual meeting", "S1")
	id, secret, _ := net.Credentials()
	calls := &countCalls{n: map[string]int{}}
	p, err := pns.NewPuller(pns.PullConfig{Flavour: pns.FlavourREST, BaseURL: srv.URL + "/ea", ClientID: id, ClientSecret: secret, Calls: calls})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Pull(context.Background(), rfp.ID, []string{"S1"}); err != nil {
		t.Fatal(err)
	}
	_, answered := net.Calls(rfp.ID)
	if got := calls.n[id]; answered == 0 || got != answered+1 {
		t.Errorf("counted %d calls of %s; the network answered %d pull calls and a token", got, id, answered)
	}
}
