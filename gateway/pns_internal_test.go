package gateway

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A burst for one key costs two signals: the first, and one follow-up for
// everything that arrived while it was on its way; every caller hears the
// outcome of a signal sent after it called, and each signal's landing names
// the notifications it covered, so they are marked handed together.
func TestPNSSignalFlightsCoalesce(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}}
	var sent atomic.Int32
	release := make(chan struct{})
	send := func() error {
		sent.Add(1)
		<-release
		return nil
	}
	var mu sync.Mutex
	var landings [][]int64
	landed := func(ids []int64, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("landed with %v", err)
		}
		landings = append(landings, slices.Sorted(slices.Values(ids)))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.do("k", 1, send, landed) }()
	for sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = g.do("k", int64(i+2), send, landed) }()
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
	want := [][]int64{{1}, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}
	if len(landings) != 2 || !slices.Equal(landings[0], want[0]) || !slices.Equal(landings[1], want[1]) {
		t.Fatalf("landings %v, want %v", landings, want)
	}
}

// A failed signal is reported with the notifications it should have
// carried (left for the maintenance sweep), and the next one goes again.
func TestPNSSignalFlightFailureIsReported(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}}
	down := errors.New("temporal unreachable")
	var got []int64
	var gotErr error
	err := g.do("k", 7, func() error { return down }, func(ids []int64, err error) { got, gotErr = ids, err })
	if !errors.Is(err, down) || !errors.Is(gotErr, down) || !slices.Equal(got, []int64{7}) {
		t.Fatalf("do answered %v; landed %v %v", err, got, gotErr)
	}
	if err := g.do("k", 8, func() error { return nil }, func([]int64, error) {}); err != nil {
		t.Fatalf("the next signal: %v", err)
	}
}
