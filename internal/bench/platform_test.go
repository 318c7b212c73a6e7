package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/receiver"
)

func TestPlatformStreamPlan(t *testing.T) {
	plan := streamPlan(20, 10*time.Second, 4, 2*time.Second)
	regs, follows := 0, 0
	registeredAt := map[int]time.Duration{}
	for i, ev := range plan {
		if i > 0 && ev.At < plan[i-1].At {
			t.Fatalf("event %d at %v before event %d at %v", i, ev.At, i-1, plan[i-1].At)
		}
		if ev.At >= 10*time.Second {
			t.Errorf("event %+v outside the stream", ev)
		}
		if !ev.FollowUp {
			regs++
			registeredAt[ev.Index] = ev.At
			continue
		}
		follows++
		at, ok := registeredAt[ev.Index]
		switch {
		case !ok:
			t.Errorf("cancellation of %d before its registration", ev.Index)
		case ev.At-at != 2*time.Second:
			t.Errorf("cancellation of %d %v after its registration", ev.Index, ev.At-at)
		case ev.Index%4 != 0 || !wantsAccess(mixStatus(ev.Index)):
			t.Errorf("cancellation of %d (status %s)", ev.Index, mixStatus(ev.Index))
		}
	}
	if regs != 200 {
		t.Errorf("%d registrations, want 200", regs)
	}
	// Registrations 0, 4, …, 156 (at 7.8 s; 160 would be cancelled at 10 s),
	// the Accepted among them.
	want := 0
	for i := 0; i < 160; i += 4 {
		if wantsAccess(mixStatus(i)) {
			want++
		}
	}
	if follows != want || want == 0 {
		t.Errorf("%d cancellations, want %d", follows, want)
	}
	if got := streamPlan(20, 10*time.Second, 0, 0); len(got) != 200 {
		t.Errorf("without follow-ups: %d events, want 200", len(got))
	}
	if got := streamPlan(0, time.Second, 0, 0); got != nil {
		t.Errorf("rate 0: %v", got)
	}
}

func TestPlatformOrderCheck(t *testing.T) {
	tests := []struct {
		seqs          []int64
		order, repeat int
	}{
		{nil, 0, 0},
		{[]int64{3}, 0, 0},
		{[]int64{3, 7, 9}, 0, 0},
		{[]int64{3, 9, 7}, 1, 0},
		{[]int64{3, 7, 7}, 0, 1},
		{[]int64{3, 7, 3}, 0, 1},       // seen before: a duplicate, not reordering
		{[]int64{9, 3, 5, 9}, 2, 1},    // 3 and 5 after 9; 9 again
		{[]int64{5, 4, 3, 2, 1}, 4, 0}, // every one after a higher seq
	}
	for _, tt := range tests {
		o, d := orderCheck(tt.seqs)
		if o != tt.order || d != tt.repeat {
			t.Errorf("orderCheck(%v) = %d out of order, %d duplicates; want %d, %d", tt.seqs, o, d, tt.order, tt.repeat)
		}
	}
}

func TestPlatformCompare(t *testing.T) {
	now := time.Now()
	log := []feedEntry{{Seq: 1, Key: "attendee:a"}, {Seq: 2, Key: "attendee:b"}, {Seq: 3, Key: "attendee:a"}, {Seq: 4, Key: "attendee:c"}}
	got := map[int64]time.Time{1: now, 2: now, 3: now}
	seqs := map[string][]int64{"attendee:a": {3, 1}, "attendee:b": {2, 2}}
	c := comparePlatform(log, got, seqs)
	want := platformCheck{Logged: 4, Missing: 1, OutOfOrder: 1, DupNewID: 1}
	if c != want {
		t.Errorf("comparePlatform = %+v, want %+v", c, want)
	}
}

func TestPlatformArrivalLatencies(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sent := map[string]time.Time{"ABC": t0, "def": t0.Add(time.Second)}
	first := map[string]time.Time{"attendee:abc": t0.Add(40 * time.Millisecond)}
	lat, missing := arrivalLatencies(sent, first, t0.Add(11*time.Second))
	if missing != 1 || len(lat) != 2 {
		t.Fatalf("latencies %v, %d missing; want 2 and 1", lat, missing)
	}
	if Percentile(lat, 0) != 40*time.Millisecond || Percentile(lat, 100) != 10*time.Second {
		t.Errorf("latencies %v, want 40ms and the 10 s waited", lat)
	}
}

func TestCheckPlatformOptions(t *testing.T) {
	if err := CheckPlatformOptions(DefaultPlatformOptions()); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, tt := range []struct {
		flag string
		edit func(*PlatformOptions)
	}{
		{"--platform-seconds", func(o *PlatformOptions) { o.LiveDuration = 0 }},
		{"--platform-rate", func(o *PlatformOptions) { o.HighRate = -1 }},
		{"--platform-sync-size", func(o *PlatformOptions) { o.SyncSize = 0 }},
		{"--platform-outage", func(o *PlatformOptions) { o.Outage = time.Millisecond }},
	} {
		o := DefaultPlatformOptions()
		tt.edit(&o)
		if err := CheckPlatformOptions(o); err == nil || !strings.Contains(err.Error(), tt.flag) {
			t.Errorf("%s: error %v", tt.flag, err)
		}
	}
}

func TestPlatformArrivalsCountAttendees(t *testing.T) {
	a := newArrivals()
	at := time.Now()
	for _, x := range []receiver.Arrival{
		{Change: receiver.Change{Seq: 1, Key: "attendee:a"}, Arrived: at},
		{Change: receiver.Change{Seq: 2, Key: "agenda:a"}, Arrived: at},
		{Change: receiver.Change{Seq: 3, Key: "attendee:a"}, Arrived: at.Add(time.Second)},
		{Change: receiver.Change{Seq: 4, Key: "attendee:b"}, Arrived: at},
	} {
		a.add(x)
	}
	changes, attendees, maxSeq := a.count()
	if changes != 4 || attendees != 2 || maxSeq != 4 {
		t.Errorf("count = %d changes, %d attendees, max seq %d; want 4, 2, 4", changes, attendees, maxSeq)
	}
	if got := a.firstArrivals()["attendee:a"]; !got.Equal(at) {
		t.Errorf("first arrival of attendee:a %v, want %v", got, at)
	}
}
