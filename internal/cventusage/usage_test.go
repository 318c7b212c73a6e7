package cventusage

import (
	"database/sql"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/store"
)

func TestOf(t *testing.T) {
	day := time.Date(2026, 3, 2, 17, 14, 0, 0, time.UTC)
	tier := func(name string, quota int64) (sql.NullString, sql.NullInt64) {
		return sql.NullString{String: name, Valid: true}, sql.NullInt64{Int64: quota, Valid: quota > 0}
	}
	free, freeQuota := tier("Free", 1000)
	std, stdQuota := tier("Standard", 15000)
	unlimited, none := tier("Enterprise", 0)
	for _, tc := range []struct {
		name    string
		in      store.CventUsage
		summary string
		warn    bool
		percent float64
	}{
		{"no call yet", store.CventUsage{Tier: std, Quota: stdQuota}, "0 of 15,000 today (0%)", false, 0},
		{"a few calls", store.CventUsage{Calls: 12, Tier: std, Quota: stdQuota}, "12 of 15,000 today (<1%)", false, 0.1},
		{"some", store.CventUsage{Calls: 1234, Tier: std, Quota: stdQuota}, "1,234 of 15,000 today (8%)", false, 8.2},
		{"exactly 80% is not above", store.CventUsage{Calls: 800, Tier: free, Quota: freeQuota}, "800 of 1,000 today (80%)", false, 80},
		{"one above 80%", store.CventUsage{Calls: 801, Tier: free, Quota: freeQuota}, "801 of 1,000 today (80%)", true, 80.1},
		{"spent", store.CventUsage{Calls: 1000, Tier: free, Quota: freeQuota}, "1,000 of 1,000 today (100%)", true, 100},
		{"over, counting what Cvent may not", store.CventUsage{Calls: 1042, Tier: free, Quota: freeQuota}, "1,042 of 1,000 today (104%)", true, 104.2},
		{"unlimited tier", store.CventUsage{Calls: 2_500_000, Tier: unlimited, Quota: none}, "2,500,000 today (unlimited tier)", false, 0},
		{"tier not read", store.CventUsage{Calls: 7}, "7 today (tier not read yet)", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Account = "acct"
			u := Of(day, tc.in)
			if u.Summary != tc.summary || u.Warn != tc.warn || u.Percent != tc.percent {
				t.Errorf("Of = %q warn %v percent %v, want %q warn %v percent %v", u.Summary, u.Warn, u.Percent, tc.summary, tc.warn, tc.percent)
			}
			if u.Day != "2026-03-02" || !u.ResetsAt.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)) || u.Account != "acct" {
				t.Errorf("day %s, resets at %v, account %q", u.Day, u.ResetsAt, u.Account)
			}
		})
	}
}

// Cvent's day is UTC: a call at 23:30 in New York on March 1st is on March 2nd.
func TestTodayIsUTC(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	got := Today(time.Date(2026, 3, 1, 23, 30, 0, 0, ny))
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Today = %v, want %v", got, want)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 15000: "15,000", 500000: "500,000", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
