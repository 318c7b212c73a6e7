package gateway

import (
	"errors"
	"runtime"
	"slices"
	"strconv"
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
	sentAt   []time.Time
}

func (h *fakeHandOff) send() error {
	h.sent.Add(1)
	h.mu.Lock()
	h.sentAt = append(h.sentAt, time.Now())
	h.mu.Unlock()
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

// While the integration's notifications keep coming (a flush), an RFP's
// follow-up waits for them to pause, so the RFP is pulled once more after
// the burst, not once a second during it; an integration that never
// pauses still gets its follow-up after the hold.
func TestPNSFollowUpWaitsForTheBurstToPause(t *testing.T) {
	for _, tc := range []struct {
		name     string
		burst    time.Duration // how long other RFPs of the integration keep notifying
		hold     time.Duration
		minDelay time.Duration // of the follow-up, after the first signal landed
		maxDelay time.Duration
	}{
		{"waits for the pause", 300 * time.Millisecond, 5 * time.Second, 300 * time.Millisecond, 2 * time.Second},
		{"no longer than the hold", 1500 * time.Millisecond, 400 * time.Millisecond, 350 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &signalFlights{flights: map[string]*signalFlight{}, gather: 20 * time.Millisecond,
				settle: 100 * time.Millisecond, hold: tc.hold}
			h := &fakeHandOff{t: t, done: map[int64]bool{1: true}} // the pull of signal 1 answered it
			other := &fakeHandOff{t: t}
			if err := g.do("rfp/I/R1", 1, h); err != nil { // landed: the next one is a follow-up
				t.Fatal(err)
			}
			h.release = make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); _ = g.do("rfp/I/R1", 2, h) }() // on its way
			for h.sent.Load() < 2 {
				time.Sleep(time.Millisecond)
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = g.do("rfp/I/R1", 3, h) }() // its follow-up
			time.Sleep(10 * time.Millisecond)
			landed := time.Now()
			close(h.release)
			h.mu.Lock()
			h.done[2] = true // the pull of signal 2, at once
			h.mu.Unlock()
			var took time.Duration
			seen := func() {
				if took == 0 && h.sent.Load() == 3 {
					took = time.Since(landed)
				}
			}
			stop := time.Now().Add(tc.burst)
			for i := int64(100); time.Now().Before(stop); i++ { // the rest of the integration's burst
				g.hand("rfp/I/R"+strconv.FormatInt(i, 10), i, other)
				g.hand("rfp/J/X", i, other) // another integration's stream is not this one's
				time.Sleep(20 * time.Millisecond)
				seen()
			}
			for took == 0 {
				time.Sleep(time.Millisecond)
				seen()
			}
			wg.Wait()
			if h.sent.Load() != 3 {
				t.Fatalf("%d signals, want 3", h.sent.Load())
			}
			if took < tc.minDelay || took > tc.maxDelay {
				t.Fatalf("the follow-up went %v after the signal landed, want %v–%v", took, tc.minDelay, tc.maxDelay)
			}
		})
	}
}

// A follow-up waits for the pull its previous signal caused: when that
// pull began after the follow-up's notifications were stored, it answered
// them and no signal goes; when it did not, the signal goes once the pull
// is done, not before (it would only make the workflow wake for nothing).
func TestPNSFollowUpWaitsForThePreviousPull(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pullSaw   []int64 // what the pull caused by signal 1 answers, 150 ms after it landed
		wantSent  int32
		wantAfter time.Duration
	}{
		{"the pull answered the follow-up too", []int64{1, 2}, 1, 0},
		{"the pull began before the follow-up's notification was stored", []int64{1}, 2, 150 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &signalFlights{flights: map[string]*signalFlight{}, gather: 10 * time.Millisecond,
				settle: 10 * time.Millisecond, hold: 5 * time.Second}
			h := &fakeHandOff{t: t, release: make(chan struct{}), done: map[int64]bool{}}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _ = g.do("rfp/I/R", 1, h) }()
			for h.sent.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			go func() { defer wg.Done(); _ = g.do("rfp/I/R", 2, h) }() // the follow-up
			time.Sleep(10 * time.Millisecond)
			close(h.release)
			landed := time.Now()
			time.Sleep(150 * time.Millisecond)
			h.mu.Lock()
			for _, id := range tc.pullSaw {
				h.done[id] = true
			}
			h.mu.Unlock()
			wg.Wait()
			if n := h.sent.Load(); n != tc.wantSent {
				t.Fatalf("%d signals, want %d", n, tc.wantSent)
			}
			if took := h.sentAt[len(h.sentAt)-1].Sub(landed); tc.wantSent > 1 && took < tc.wantAfter {
				t.Fatalf("the follow-up went %v after the first signal landed, before the pull (%v)", took, tc.wantAfter)
			}
		})
	}
}

// A notification stored just after its RFP's signal landed (nothing on its
// way any more) follows that signal up like one that came while it flew:
// it waits the gather time from the landing, and the pull of the landed
// signal answers it when that pull began after it was stored.
func TestPNSNotificationJustAfterALandingIsAFollowUp(t *testing.T) {
	g := &signalFlights{flights: map[string]*signalFlight{}, gather: 200 * time.Millisecond,
		settle: 10 * time.Millisecond, hold: 5 * time.Second}
	h := &fakeHandOff{t: t, done: map[int64]bool{1: true}}
	if err := g.do("rfp/I/R", 1, h); err != nil {
		t.Fatal(err)
	}
	landed := time.Now()
	if err := g.do("rfp/I/R", 2, h); err != nil {
		t.Fatal(err)
	}
	if n := h.sent.Load(); n != 2 {
		t.Fatalf("%d signals, want 2", n)
	}
	if took := h.sentAt[1].Sub(landed); took < 190*time.Millisecond {
		t.Fatalf("the follow-up went %v after the landing, within the gather time", took)
	}
	h.mu.Lock()
	h.done[2] = true
	h.done[3] = true // the next pull began after 3 was stored
	h.mu.Unlock()
	if err := g.do("rfp/I/R", 3, h); err != nil {
		t.Fatal(err)
	}
	if n := h.sent.Load(); n != 2 {
		t.Fatalf("%d signals: the pull answered 3, no signal should go", n)
	}
}
