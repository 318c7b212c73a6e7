package bench

import (
	"testing"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

func TestMixStatus(t *testing.T) {
	tests := []struct {
		name       string
		from, n    int
		wantCounts map[string]int
	}{
		{"first hundred", 0, 100, map[string]int{directory.StatusAccepted: 80, directory.StatusCancelled: 8,
			directory.StatusWaitlisted: 5, directory.StatusPendingApproval: 4, directory.StatusDeclined: 3}},
		{"any aligned hundred", 1200, 100, map[string]int{directory.StatusAccepted: 80, directory.StatusCancelled: 8,
			directory.StatusWaitlisted: 5, directory.StatusPendingApproval: 4, directory.StatusDeclined: 3}},
		{"a thousand", 0, 1000, map[string]int{directory.StatusAccepted: 800, directory.StatusCancelled: 80,
			directory.StatusWaitlisted: 50, directory.StatusPendingApproval: 40, directory.StatusDeclined: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]int{}
			run, longest := 0, 0
			for i := tt.from; i < tt.from+tt.n; i++ {
				s := mixStatus(i)
				got[s]++
				if s == directory.StatusAccepted {
					run = 0
					continue
				}
				run++
				longest = max(longest, run)
			}
			for s, w := range tt.wantCounts {
				if got[s] != w {
					t.Errorf("%s: %d, want %d", s, got[s], w)
				}
			}
			if longest > 2 {
				t.Errorf("%d non-Accepted registrations in a row: the statuses should be spread", longest)
			}
		})
	}
}

func TestDeliveryFor(t *testing.T) {
	tests := []struct {
		status     string
		eventType  string
		withStatus bool
		access     bool
	}{
		{directory.StatusAccepted, cventpush.InviteeOrGuestAccepted, false, true},
		{directory.StatusCancelled, cventpush.InviteeOrGuestCancelled, false, false},
		{directory.StatusWaitlisted, cventpush.AttendeeManualSynced, true, false},
		{directory.StatusPendingApproval, cventpush.AttendeeManualSynced, true, false},
		{directory.StatusDeclined, cventpush.AttendeeManualSynced, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			et, ws := deliveryFor(tt.status)
			if et != tt.eventType || ws != tt.withStatus {
				t.Errorf("got %s %v, want %s %v", et, ws, tt.eventType, tt.withStatus)
			}
			if wantsAccess(tt.status) != tt.access {
				t.Errorf("access %v, want %v", wantsAccess(tt.status), tt.access)
			}
		})
	}
}

func TestHighestHolding(t *testing.T) {
	tests := []struct {
		name   string
		p99    map[int]float64
		want   int
		wantOK bool
	}{
		{"all hold", map[int]float64{50: 200, 100: 300, 200: 500, 300: 900}, 300, true},
		{"breaks at 200", map[int]float64{50: 200, 100: 300, 200: 1500, 300: 4000}, 100, true},
		{"a lucky rate after a miss does not count", map[int]float64{50: 200, 100: 1200, 200: 800}, 50, true},
		{"exactly the limit holds", map[int]float64{50: 1000}, 50, true},
		{"none holds", map[int]float64{50: 1001, 100: 3000}, 0, false},
		{"no rates", map[int]float64{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := highestHolding(tt.p99, 1000)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %d %v, want %d %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
