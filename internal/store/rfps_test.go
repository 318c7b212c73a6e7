package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/pns"
	"github.com/cventsync/cventsync/internal/store"
)

// The maintenance sweep's view of PNS notifications: only those still
// received and older than the cutoff are not handed; marking handed moves
// received ones only; a pull's answer (processed) is what PNSProcessed sees.
func TestPNSNotHandedMarkAndProcessed(t *testing.T) {
	ctx := context.Background()
	st, id := openStore(t)
	add := func(n int, status string) *store.PNSNotification {
		t.Helper()
		row := &store.PNSNotification{IntegrationID: id, IdemKey: fmt.Sprintf("k%d", n), EventType: "RFP_SEND", RFPID: "R1",
			SupplierID: "S1", Body: []byte(`{}`), Status: status}
		if _, err := st.InsertPNSNotification(ctx, row); err != nil {
			t.Fatal(err)
		}
		return row
	}
	notHanded := func(cutoff time.Time) []int64 {
		t.Helper()
		rows, err := st.PNSNotHanded(ctx, cutoff, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range rows {
			if r.IntegrationID == id {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}
	a, b, ignored := add(1, store.PNSReceived), add(2, store.PNSReceived), add(3, store.PNSIgnored)
	if got := notHanded(time.Now().Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("stored just now, yet older than an hour: %v", got)
	}
	if got := notHanded(time.Now().Add(time.Second)); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("not handed: %v, want [%d %d] (not the ignored %d)", got, a.ID, b.ID, ignored.ID)
	}
	if err := st.MarkPNSHanded(ctx, a.ID, ignored.ID); err != nil {
		t.Fatal(err)
	}
	if got := notHanded(time.Now().Add(time.Second)); !slices.Equal(got, []int64{b.ID}) {
		t.Fatalf("after marking %d handed: %v", a.ID, got)
	}
	counts, _ := st.CountPNSNotifications(ctx, id)
	if counts[store.PNSHanded] != 1 || counts[store.PNSIgnored] != 1 {
		t.Fatalf("marking moved the wrong ones: %v", counts)
	}
	if ok, err := st.PNSProcessed(ctx, a.ID); err != nil || ok {
		t.Fatalf("handed is not processed: %v %v", ok, err)
	}
	// A pull that began after both were stored answers them.
	if _, err := st.ApplyRFPPull(ctx, id, pns.State{RFPID: "R1", Status: "ACTIVE"}, b.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.PNSProcessed(ctx, a.ID, b.ID); err != nil || !ok {
		t.Fatalf("after the pull: processed %v %v", ok, err)
	}
	if got := notHanded(time.Now().Add(time.Second)); len(got) != 0 {
		t.Fatalf("processed ones are not waiting to be handed: %v", got)
	}
}
