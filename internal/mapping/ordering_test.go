package mapping

import (
	"testing"
	"time"
)

func TestSourceTime(t *testing.T) {
	received := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	skew := 24 * time.Hour
	for _, tc := range []struct {
		name        string
		message     time.Time
		want        time.Time
		wantClamped bool
	}{
		{"none: received", time.Time{}, received, false},
		{"earlier: trusted", received.Add(-time.Hour), received.Add(-time.Hour), false},
		{"a little ahead: trusted", received.Add(time.Hour), received.Add(time.Hour), false},
		{"year 9999: clamped", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), received, true},
		{"beyond the skew: clamped", received.Add(skew + time.Second), received, true},
		{"year 0000: clamped", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), received, true},
		{"the epoch: clamped", time.Unix(0, 0), received, true},
	} {
		got, clamped := SourceTime(tc.message, received, skew)
		if !got.Equal(tc.want) || clamped != tc.wantClamped {
			t.Errorf("%s: got %v clamped=%v, want %v clamped=%v", tc.name, got, clamped, tc.want, tc.wantClamped)
		}
	}
}
