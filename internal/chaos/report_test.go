package chaos

import (
	"strings"
	"testing"
)

// A report fails a scenario for a loss, a double effect, something never
// acknowledged, figures that do not add up, or a fault that hit nothing.
func TestReportFailures(t *testing.T) {
	proof := []string{"a drain was running"}
	for _, c := range []struct {
		name string
		r    Report
		want string // "" = passes
	}{
		{"clean", Report{Sent: 10, Acked: 10, Applied: 10, Proof: proof}, ""},
		{"lost", Report{Sent: 10, Acked: 10, Applied: 9, Lost: 1, Proof: proof}, "1 lost"},
		{"twice", Report{Sent: 10, Acked: 10, Applied: 10, Twice: 2, Proof: proof}, "2 applied twice"},
		{"never acknowledged", Report{Sent: 10, Acked: 9, Applied: 9, Proof: proof}, "1 of 10 sent were never acknowledged"},
		{"uncounted", Report{Sent: 10, Acked: 10, Applied: 8, Proof: proof}, "do not add up"},
		{"no proof", Report{Sent: 10, Acked: 10, Applied: 10}, "no proof"},
	} {
		got := strings.Join(c.r.Failures(), "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: failures %q, want %q", c.name, got, c.want)
		}
	}
}
