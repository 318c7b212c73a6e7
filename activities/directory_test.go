package activities

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/cventpush"
)

// A large delivery is cut into a small first chunk and then full ones; the
// last chunk with items is the one marked last (no empty transaction after
// it), and a resumed attempt begins after the items applied before.
func TestDecodeChunksSizesAndLast(t *testing.T) {
	body := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(`{"inviteeStub":"%08d-0000-0000-0000-000000000000","inviteeStatus":"Accepted"}`, i)
		}
		return `{"eventType":"AttendeeManualSynced","message":[` + strings.Join(items, ",") + `]}`
	}
	type cut struct {
		From, N int
		Last    bool
	}
	for _, c := range []struct {
		items, skip int
		want        []cut
	}{
		{2600, 0, []cut{{0, 100, false}, {100, 1000, false}, {1100, 1000, false}, {2100, 500, true}}},
		{1100, 0, []cut{{0, 100, false}, {100, 1000, true}}},
		{50, 0, []cut{{0, 50, true}}},
		{2600, 1100, []cut{{1100, 100, false}, {1200, 1000, false}, {2200, 400, true}}},
		{1100, 1100, []cut{{1100, 0, true}}},
	} {
		out := make(chan decodedChunk, 10)
		env := &cventpush.Envelope{EventType: "AttendeeManualSynced"}
		if err := decodeChunks(context.Background(), strings.NewReader(body(c.items)), env, c.skip, out); err != nil {
			t.Fatal(err)
		}
		close(out)
		var got []cut
		for ch := range out {
			if ch.err != nil {
				t.Fatal(ch.err)
			}
			got = append(got, cut{ch.from, ch.n, ch.last})
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d items, %d applied before: chunks %v, want %v", c.items, c.skip, got, c.want)
		}
	}
}
