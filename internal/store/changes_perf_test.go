package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/directory"
)

// A 10,000-attendee manual sync stays set-based: ten 1,000-row statements,
// each appending its entries in the same statement. Re-applied, it writes
// and appends nothing. Reading the 10,000 entries back is one query per
// 1,000.
func TestChangeLogTenThousandAttendees(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 rows")
	}
	st, id := openStore(t)
	ctx := context.Background()
	at := time.Now()
	var all []directory.Attendee
	for i := 0; i < 10000; i++ {
		all = append(all, directory.Attendee{IntegrationID: id, InviteeID: fmt.Sprintf("inv-%05d", i),
			Email: fmt.Sprintf("a%d@example.com", i), FirstName: "A", CventStatus: "Accepted", Access: true,
			AccessGroups: []string{"attendees"}, Profile: map[string]string{"city": "Austin"}, SourceTime: at})
	}
	apply := func() time.Duration {
		started := time.Now()
		for i := 0; i < len(all); i += 1000 {
			upsert(t, st, all[i:i+1000]...)
		}
		return time.Since(started)
	}
	first := apply()
	again := apply()
	started := time.Now()
	n, after := 0, int64(0)
	for {
		ch, err := st.ReadChanges(ctx, id, after, 1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ch) == 0 {
			break
		}
		n, after = n+len(ch), ch[len(ch)-1].Seq
	}
	read := time.Since(started)
	t.Logf("10,000 attendees: first apply %v, re-apply %v, feed read %v", first, again, read)
	if n != 10000 || after != 10000 {
		t.Fatalf("read %d changes up to %d", n, after)
	}
}
