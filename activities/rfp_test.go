package activities

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/cventsync/cventsync/internal/pns"
)

// The suppliers a pull asks about: those named first, each once whatever
// its case.
func TestUnion(t *testing.T) {
	for _, tc := range []struct {
		first, more, want []string
	}{
		{[]string{"S2"}, []string{"S1", "s2", "S3"}, []string{"S2", "S1", "S3"}},
		{nil, []string{"S1"}, []string{"S1"}},
		{[]string{"S1"}, nil, []string{"S1"}},
		{nil, nil, []string{}},
	} {
		if got := union(tc.first, tc.more); !slices.Equal(got, tc.want) {
			t.Errorf("union(%v, %v) = %v, want %v", tc.first, tc.more, got, tc.want)
		}
	}
}

// An inline pull goes ahead only when the account's pace has room for all
// its calls now: two for the REST API, one per supplier for the legacy API.
func TestInlinePullNeedsRoomForItsCalls(t *testing.T) {
	lim := rate.NewLimiter(rate.Every(time.Hour), 3) // three tokens, none refilled during the test
	p := &paced{limiter: lim}
	if !p.roomFor(pns.FlavourREST, []string{"S1"}) {
		t.Fatal("a full limiter has room for a REST pull")
	}
	if p.roomFor(pns.FlavourLegacy, []string{"S1", "S2", "S3", "S4"}) {
		t.Fatal("three tokens are no room for four legacy calls")
	}
	lim.AllowN(time.Now(), 2)
	if p.roomFor(pns.FlavourREST, nil) {
		t.Fatal("one token left is no room for a REST pull's two calls")
	}
	if !(&paced{}).roomFor(pns.FlavourREST, nil) {
		t.Fatal("an unpaced puller always has room")
	}
}
