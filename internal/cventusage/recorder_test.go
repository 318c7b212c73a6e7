package cventusage

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/store"
)

// fakeStore sums what is added, and fails while down.
type fakeStore struct {
	mu         sync.Mutex
	down       bool
	statements int
	calls      map[string]int64 // "account day" → calls
	tiers      map[string]store.CventTier
}

func (f *fakeStore) AddCventCalls(_ context.Context, counts []store.CventCalls) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("database down")
	}
	f.statements++
	for _, c := range counts {
		f.calls[c.Account+" "+c.Day.Format(time.DateOnly)] += c.Calls
	}
	return nil
}

func (f *fakeStore) SaveCventTier(_ context.Context, account string, t store.CventTier) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tiers[account] = t
	return nil
}

func (f *fakeStore) get(k string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[k]
}

func newFake() *fakeStore {
	return &fakeStore{calls: map[string]int64{}, tiers: map[string]store.CventTier{}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Calls are summed per account and UTC day and added in one statement per
// flush; the day changes at 00:00 UTC.
func TestRecorderSumsPerAccountAndDay(t *testing.T) {
	f := newFake()
	now := time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC)
	r := NewRecorder(f, Options{Logger: quiet(), Now: func() time.Time { return now }})
	for range 3 {
		r.CountCall("a")
	}
	r.CountCall("b")
	now = now.Add(2 * time.Second) // 00:00:01 UTC on March 3rd
	r.CountCall("a")
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"a 2026-03-02": 3, "b 2026-03-02": 1, "a 2026-03-03": 1}
	for k, n := range want {
		if got := f.get(k); got != n {
			t.Errorf("%s: %d calls, want %d", k, got, n)
		}
	}
	if f.statements != 1 || len(f.calls) != len(want) {
		t.Errorf("%d statements, rows %v; want one statement and %v", f.statements, f.calls, want)
	}
	if err := r.Flush(context.Background()); err != nil || f.statements != 1 {
		t.Errorf("a flush with nothing counted ran a statement (%d) or failed: %v", f.statements, err)
	}
}

// While the database is down counts wait in memory; none is lost or
// counted twice when it is back.
func TestRecorderKeepsCountsWhileTheDatabaseIsDown(t *testing.T) {
	f := newFake()
	r := NewRecorder(f, Options{Logger: quiet()})
	day := Today(time.Now()).Format(time.DateOnly)
	r.CountCall("a")
	f.down = true
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("flush with the database down: no error")
	}
	r.CountCall("a")
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("second flush with the database down: no error")
	}
	f.down = false
	r.CountCall("a")
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.get("a " + day); got != 3 {
		t.Errorf("%d calls stored, want 3", got)
	}
}

// The flush loop adds counts on its own, and Close adds the last ones.
func TestRecorderFlushesInTheBackgroundAndOnClose(t *testing.T) {
	f := newFake()
	r := NewRecorder(f, Options{Logger: quiet(), FlushEvery: 10 * time.Millisecond})
	r.Start()
	day := Today(time.Now()).Format(time.DateOnly)
	r.CountCall("a")
	deadline := time.Now().Add(5 * time.Second)
	for f.get("a "+day) != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := f.get("a " + day); got != 1 {
		t.Fatalf("after a flush interval: %d calls stored, want 1", got)
	}
	r.CountCall("a")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.get("a " + day); got != 2 {
		t.Errorf("after Close: %d calls stored, want 2", got)
	}
	if err := NewRecorder(f, Options{Logger: quiet()}).Close(); err != nil {
		t.Errorf("Close of a recorder never started: %v", err)
	}
}

func TestRecorderSavesTier(t *testing.T) {
	f := newFake()
	r := NewRecorder(f, Options{Logger: quiet()})
	if err := r.SaveTier(context.Background(), "a", cvent.UsageTier{Name: "Free", Quota: 1000, RateLimit: 2, BurstLimit: 1}); err != nil {
		t.Fatal(err)
	}
	if got := f.tiers["a"]; got != (store.CventTier{Name: "Free", Quota: 1000, RateLimit: 2, BurstLimit: 1}) {
		t.Errorf("tier saved %+v", got)
	}
}
