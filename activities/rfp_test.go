package activities

import (
	"math"
	"testing"
)

// A pull runs inline (holding its workflow's task) only when nothing can
// make it wait: no pull of the account queued as an activity, and the
// limiter holding every call it makes.
func TestInlineHeadroom(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queued int32
		tokens float64
		calls  int
		want   bool
	}{
		{"unpaced, nothing queued", 0, math.Inf(1), 2, true},
		{"tokens for every call", 0, 2, 2, true},
		{"tokens for one call of two", 0, 1.5, 2, false},
		{"limiter in debt", 0, -3, 1, false},
		{"pulls queued as activities", 1, math.Inf(1), 2, false},
	} {
		if got := inlineHeadroom(tc.queued, tc.tokens, tc.calls); got != tc.want {
			t.Errorf("%s: inlineHeadroom = %v, want %v", tc.name, got, tc.want)
		}
	}
}
