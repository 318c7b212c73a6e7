package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/store/storetest"
)

// Processed deliveries must not slow the claim down. The drain locks what it
// claims and marks it processed; if the mark were made inside the apply's
// savepoint, each row's xmax would be a MultiXact, which PostgreSQL never
// treats as surely dead in an index scan: every claim would then step over
// every delivery processed since the last VACUUM (1 ms a claim after a few
// thousand, measured at 100/s). Here the pending scan must shrink to a few
// pages once the processed rows are dead to every snapshot.
func TestProcessedDeliveriesLeaveTheClaimCheap(t *testing.T) {
	st, id := openStore(t)
	ctx := context.Background()
	const n = 400
	ids := make([]int64, 0, n)
	// Rows of a real registration's size: a few to a heap page.
	pad := make([]byte, 750)
	_, _ = rand.Read(pad)
	body := []byte(`{"pad":"` + hex.EncodeToString(pad) + `"}`)
	for i := 0; i < n; i++ {
		d := &store.Delivery{IntegrationID: id, EventType: "InviteeOrGuestAccepted", Status: store.DeliveryReceived,
			Body: body, WorkflowID: "ingest/" + id}
		d.MessageStub.String, d.MessageStub.Valid = fmt.Sprintf("stub-%d", i), true
		if _, err := st.InsertDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	apply := func(ctx context.Context, tx *store.Tx, ds []*store.Delivery) ([]any, error) {
		out := make([]any, len(ds))
		for i := range ds {
			out[i] = map[string]int{"applied": 1}
		}
		return out, nil
	}
	never := func(error) bool { return false }
	for i := 0; i < n; i += 20 {
		out, err := st.ApplyBatch(ctx, ids[i:i+20], "ingest/"+id, "run", apply, never)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Applied) != 20 {
			t.Fatalf("applied %d of 20", len(out.Applied))
		}
	}
	// The old versions of the processed rows: none may carry a MultiXact.
	if _, err := st.DB().ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pageinspect`); err != nil {
		t.Fatal(err)
	}
	var multi, updated int
	if err := st.DB().QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE (t_infomask & 4096) <> 0), count(*)
		FROM generate_series(0, pg_relation_size('deliveries') / 8192 - 1) AS b,
			heap_page_items(get_raw_page('deliveries', b::int))
		WHERE t_xmax <> '0'`).Scan(&multi, &updated); err != nil {
		t.Fatal(err)
	}
	if updated == 0 {
		t.Fatal("found no updated delivery rows: the check looks at nothing")
	}
	if multi > 0 {
		t.Fatalf("%d of %d updated delivery rows have a MultiXact xmax: the claim's index scans cannot skip them", multi, updated)
	}
	// And the claim query reads a handful of pages for an empty queue.
	var pages int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		if left, err := st.PendingDeliveryIDs(ctx, id, 100); err != nil || len(left) != 0 {
			t.Fatalf("pending after the drain: %v %v", left, err)
		}
		pages = pendingScanPages(t, st, id)
		if pages <= 30 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if pages > 30 {
		t.Fatalf("the claim query still reads %d pages for an empty queue after %d processed deliveries", pages, n)
	}
}

// pendingScanPages is the shared buffers PendingDeliveryIDs' query touches.
func pendingScanPages(t *testing.T, st *store.Store, id string) int64 {
	t.Helper()
	var raw []byte
	if err := st.DB().QueryRowContext(context.Background(), `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
		SELECT id FROM deliveries WHERE integration_id = $1 AND status = 'received' AND NOT large ORDER BY id LIMIT 100`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var plan []struct {
		Plan struct {
			Hit  int64 `json:"Shared Hit Blocks"`
			Read int64 `json:"Shared Read Blocks"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &plan); err != nil || len(plan) == 0 {
		t.Fatalf("explain: %v %s", err, raw)
	}
	return plan[0].Plan.Hit + plan[0].Plan.Read
}

// Warm leaves the pool with its connections open, so that a burst after
// start-up does not wait for PostgreSQL to start a backend per request.
func TestWarmOpensThePool(t *testing.T) {
	st := storetest.Open(t)
	if err := st.Warm(context.Background(), 6); err != nil {
		t.Fatal(err)
	}
	if s := st.DB().Stats(); s.Idle < 6 {
		t.Fatalf("%d idle connections after warming 6 (%+v)", s.Idle, s)
	}
}
