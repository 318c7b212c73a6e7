package activities

import (
	"testing"

	"github.com/cventsync/cventsync/internal/store"
)

// A window of changes goes out as messages of batchSize changes, in seq
// order, the last one short; every change in exactly one message.
func TestMessagesSplitAWindowInOrder(t *testing.T) {
	window := func(n int) []store.Change {
		out := make([]store.Change, n)
		for i := range out {
			out[i].Seq = int64(i + 11)
		}
		return out
	}
	cases := []struct {
		name      string
		changes   int
		batchSize int
		want      [][2]int64 // first and last seq of each message
	}{
		{"one change a message", 3, 1, [][2]int64{{11, 11}, {12, 12}, {13, 13}}},
		{"batches with a short last one", 7, 3, [][2]int64{{11, 13}, {14, 16}, {17, 17}}},
		{"fewer than a batch", 2, 500, [][2]int64{{11, 12}}},
		{"batch size 0 counts as 1", 2, 0, [][2]int64{{11, 11}, {12, 12}}},
		{"nothing", 0, 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := messages(window(c.changes), c.batchSize)
			if len(got) != len(c.want) {
				t.Fatalf("%d messages, want %d", len(got), len(c.want))
			}
			for i, m := range got {
				if first, last := m[0].Seq, m[len(m)-1].Seq; first != c.want[i][0] || last != c.want[i][1] || int64(len(m)) != last-first+1 {
					t.Errorf("message %d holds seqs %d..%d (%d changes), want %d..%d", i, first, last, len(m), c.want[i][0], c.want[i][1])
				}
			}
		})
	}
}
