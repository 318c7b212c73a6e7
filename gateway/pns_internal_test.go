package gateway

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A burst for one key costs two signals: the first, and one follow-up for
// everything that arrived while it was on its way; every caller hears the
// outcome of a signal sent after it called.
func TestPNSSignalFlightsCoalesce(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}}
	var sent atomic.Int32
	release := make(chan struct{})
	send := func() error {
		sent.Add(1)
		<-release
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.do("k", send) }()
	for sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = g.do("k", send) }()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := sent.Load(); n != 2 {
		t.Fatalf("%d signals, want 2", n)
	}
	if len(g.flights) != 0 {
		t.Fatalf("flights left: %v", g.flights)
	}
}
