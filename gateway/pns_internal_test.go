package gateway

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHandOff counts signals and records landings; answered answers for
// the ids in done.
type fakeHandOff struct {
	t        *testing.T
	sent     atomic.Int32
	release  chan struct{} // nil: send at once
	err      error
	mu       sync.Mutex
	done     map[int64]bool
	landings [][]int64
	errs     []error
}

func (h *fakeHandOff) send() error {
	h.sent.Add(1)
	if h.release != nil {
		<-h.release
	}
	return h.err
}

func (h *fakeHandOff) answered(ids []int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		if !h.done[id] {
			return false
		}
	}
	return true
}

func (h *fakeHandOff) landed(ids []int64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.landings = append(h.landings, slices.Sorted(slices.Values(ids)))
	h.errs = append(h.errs, err)
}

// A burst for one key costs two signals: the first, and one follow-up for
// everything that arrived while it was on its way or in the follow-up's
// gathering time after it; every caller hears the outcome of a signal sent
// after it called, and each landing names the notifications it covered, so
// they are marked handed together.
func TestPNSSignalFlightsCoalesce(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}, gather: 100 * time.Millisecond}
	h := &fakeHandOff{t: t, release: make(chan struct{})}
	var wg sync.WaitGroup
	call := func(id int64) {
		wg.Add(1)
		go func() { defer wg.Done(); _ = g.do("k", id, h) }()
	}
	call(1)
	for h.sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 10 {
		call(int64(i + 2))
	}
	time.Sleep(50 * time.Millisecond)
	close(h.release)
	time.Sleep(30 * time.Millisecond) // within the follow-up's gathering
	call(12)
	wg.Wait()
	if n := h.sent.Load(); n != 2 {
		t.Fatalf("%d signals, want 2", n)
	}
	if len(g.flights) != 0 {
		t.Fatalf("flights left: %v", g.flights)
	}
	want := [][]int64{{1}, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	if len(h.landings) != 2 || !slices.Equal(h.landings[0], want[0]) || !slices.Equal(h.landings[1], want[1]) {
		t.Fatalf("landings %v, want %v", h.landings, want)
	}
}

// A follow-up whose notifications a pull already answered (it began after
// they were stored) sends no signal; one with any unanswered does.
func TestPNSSignalFollowUpSkippedWhenAnswered(t *testing.T) {
	for _, tc := range []struct {
		name     string
		done     map[int64]bool
		wantSent int32
	}{
		{"all answered", map[int64]bool{2: true, 3: true}, 1},
		{"one not answered", map[int64]bool{2: true}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &signalFlights{flights: map[string]*signalFlight{}, gather: 50 * time.Millisecond}
			h := &fakeHandOff{t: t, release: make(chan struct{}), done: tc.done}
			var wg sync.WaitGroup
			wg.Add(3)
			go func() { defer wg.Done(); _ = g.do("k", 1, h) }()
			for h.sent.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			go func() { defer wg.Done(); _ = g.do("k", 2, h) }()
			go func() { defer wg.Done(); _ = g.do("k", 3, h) }()
			time.Sleep(20 * time.Millisecond)
			close(h.release)
			wg.Wait()
			if n := h.sent.Load(); n != tc.wantSent {
				t.Fatalf("%d signals, want %d", n, tc.wantSent)
			}
			if len(h.landings) != int(tc.wantSent) {
				t.Fatalf("landings %v", h.landings)
			}
		})
	}
}

// A failed signal is reported with the notifications it should have
// carried (left for the maintenance sweep), and the next one goes again.
func TestPNSSignalFlightFailureIsReported(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}, gather: time.Millisecond}
	down := errors.New("temporal unreachable")
	h := &fakeHandOff{t: t, err: down}
	if err := g.do("k", 7, h); !errors.Is(err, down) {
		t.Fatalf("do answered %v", err)
	}
	if len(h.landings) != 1 || !slices.Equal(h.landings[0], []int64{7}) || !errors.Is(h.errs[0], down) {
		t.Fatalf("landed %v %v", h.landings, h.errs)
	}
	h.err = nil
	if err := g.do("k", 8, h); err != nil {
		t.Fatalf("the next signal: %v", err)
	}
}

// While every slot is taken, an RFP's first signal waits, and the
// notifications stored meanwhile join it: one signal for all of them.
func TestPNSSignalWaitingForASlotTakesLaterNotifications(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}, gather: 10 * time.Millisecond, slots: make(chan struct{}, 1)}
	busy := &fakeHandOff{t: t, release: make(chan struct{})}
	h := &fakeHandOff{t: t}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = g.do("other", 100, busy) }()
	for busy.sent.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = g.do("k", int64(i+1), h) }()
	}
	time.Sleep(50 * time.Millisecond)
	if n := h.sent.Load(); n != 0 {
		t.Fatalf("%d signals sent while no slot was free", n)
	}
	close(busy.release)
	wg.Wait()
	if n := h.sent.Load(); n != 1 {
		t.Fatalf("%d signals, want 1", n)
	}
	if len(h.landings) != 1 || !slices.Equal(h.landings[0], []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("landings %v", h.landings)
	}
}

// hand returns at once, and a burst runs on one goroutine per RFP: the
// notifications handed while the signal waits for a slot all ride on it.
func TestPNSSignalHandDoesNotWait(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}, gather: 10 * time.Millisecond, slots: make(chan struct{}, 1)}
	g.slots <- struct{}{} // every slot taken
	h := &fakeHandOff{t: t}
	before := runtime.NumGoroutine()
	for i := range 50 {
		g.hand("k", int64(i+1), h) // would block here if it waited
	}
	if n := runtime.NumGoroutine() - before; n > 5 { // one per notification would be 50
		t.Errorf("%d goroutines for one RFP's burst", n)
	}
	<-g.slots // a slot frees
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		landed := len(h.landings)
		h.mu.Unlock()
		if landed > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.sent.Load(); n != 1 || len(h.landings) != 1 || len(h.landings[0]) != 50 {
		t.Fatalf("%d signals, landings %v; want one signal carrying 50", n, h.landings)
	}
}
