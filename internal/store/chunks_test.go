package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/store"
)

// largeDelivery stores a large delivery of n items waiting to be applied.
func largeDelivery(t *testing.T, st *store.Store, integrationID string, n int) int64 {
	t.Helper()
	d := &store.Delivery{IntegrationID: integrationID, EventType: "AttendeeManualSynced", MessageStub: sql.NullString{String: uuid.NewString(), Valid: true},
		ItemCount: n, Status: store.DeliveryReceived, Large: true, Body: []byte{}}
	if _, err := st.InsertDelivery(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func person(integrationID, id, email string) directory.Attendee {
	return directory.Attendee{IntegrationID: integrationID, InviteeID: id, Email: email, CventStatus: "Accepted",
		Access: true, SourceTime: time.Now().Add(-time.Minute)}
}

// counted is a chunk result: how many chunks the running result has seen.
type counted struct{ Chunks int }

func countChunk(running json.RawMessage) (any, error) {
	var r counted
	if len(running) > 0 {
		if err := json.Unmarshal(running, &r); err != nil {
			return nil, err
		}
	}
	r.Chunks++
	return r, nil
}

func write(t *testing.T, c *store.Chunk, as ...directory.Attendee) {
	t.Helper()
	if _, err := c.Tx().UpsertAttendees(context.Background(), 0, as); err != nil {
		t.Fatal(err)
	}
}

// awaitLockWait waits until a backend of the test database waits for a
// lock while running a statement that contains query in its first 1,024
// bytes (what pg_stat_activity keeps).
func awaitLockWait(t *testing.T, st *store.Store, query string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := st.DB().Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`, query); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing waits for a lock in a statement with %q", query)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func changeKeys(t *testing.T, st *store.Store, integrationID string) []string {
	t.Helper()
	var rows []struct {
		Seq int64  `db:"seq"`
		Key string `db:"key"`
	}
	if err := st.DB().Select(&rows, `SELECT seq, key FROM changes WHERE integration_id = $1 ORDER BY seq`, integrationID); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		if r.Seq != int64(i+1) {
			t.Fatalf("change log seqs %v: not 1, 2, 3…", rows)
		}
		keys[i] = r.Key
	}
	return keys
}

// begin begins the chunk of items [from, to) of delivery id.
func begin(t *testing.T, st *store.Store, id int64, integrationID string, from, to, after int) *store.Chunk {
	t.Helper()
	c, err := st.BeginChunk(context.Background(), id, integrationID, from, to, after)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type commitResult struct {
	applied bool
	err     error
}

// secondWaitingForFirst begins a two-item delivery's two chunks, writes
// attendee b in the second and commits it (the last) in the background,
// and returns once that commit waits for the first chunk, with the first
// chunk and the second's result to come.
func secondWaitingForFirst(t *testing.T, st *store.Store, integrationID string) (int64, *store.Chunk, <-chan commitResult) {
	t.Helper()
	id := largeDelivery(t, st, integrationID, 2)
	first := begin(t, st, id, integrationID, 0, 1, -1)
	second := begin(t, st, id, integrationID, 1, 2, 0)
	write(t, second, person(integrationID, "b", "b@example.com"))
	committed := make(chan commitResult, 1)
	go func() {
		applied, err := second.Commit(context.Background(), true, countChunk, "wf", "run")
		committed <- commitResult{applied, err}
	}()
	awaitLockWait(t, st, "pg_advisory_xact_lock_shared")
	return id, first, committed
}

// The second chunk finishes its work first; its commit waits for the
// first, so the progress and the change log follow the items' order.
func TestChunksCommitInOrder(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	id, first, committed := secondWaitingForFirst(t, st, integ)
	write(t, first, person(integ, "a", "a@example.com"))
	if applied, err := first.Commit(ctx, false, countChunk, "wf", "run"); err != nil || !applied {
		t.Fatalf("first chunk: applied %v, %v", applied, err)
	}
	if r := <-committed; r.err != nil || !r.applied {
		t.Fatalf("second chunk: applied %v, %v", r.applied, r.err)
	}
	if got, want := changeKeys(t, st, integ), []string{"attendee:a", "attendee:b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("change log %v, want %v", got, want)
	}
	p, err := st.LargeDeliveryProgress(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var r counted
	_ = json.Unmarshal(p.Result, &r)
	if p.AppliedItems != 2 || !p.Done || r.Chunks != 2 {
		t.Errorf("progress %d items, done %v, result %s: want 2, done, 2 chunks", p.AppliedItems, p.Done, p.Result)
	}
	var staged int
	if err := st.DB().Get(&staged, `SELECT count(*) FROM staged_changes`); err != nil || staged != 0 {
		t.Errorf("%d staged changes left (%v)", staged, err)
	}
}

// A chunk whose predecessor rolled back commits nothing: the progress
// must stay a prefix of the items.
func TestChunkAfterAFailedOneIsOutOfTurn(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	id, first, committed := secondWaitingForFirst(t, st, integ)
	first.Rollback()
	if r := <-committed; !errors.Is(r.err, store.ErrChunkOutOfTurn) {
		t.Fatalf("second chunk after a failed first: %v, want ErrChunkOutOfTurn", r.err)
	}
	if keys := changeKeys(t, st, integ); len(keys) != 0 {
		t.Errorf("change log %v, want nothing", keys)
	}
	if p, _ := st.LargeDeliveryProgress(ctx, id); p.AppliedItems != 0 {
		t.Errorf("progress %d, want 0", p.AppliedItems)
	}
}

// A chunk that another attempt applied meanwhile is rolled back.
func TestChunkAppliedByAnotherAttemptIsSkipped(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	id := largeDelivery(t, st, integ, 2)
	for i, email := range []string{"first@example.com", "again@example.com"} {
		c := begin(t, st, id, integ, 0, 1, -1)
		write(t, c, person(integ, "a", email))
		applied, err := c.Commit(ctx, false, countChunk, "", "")
		if err != nil || applied != (i == 0) {
			t.Fatalf("attempt %d: applied %v, %v", i+1, applied, err)
		}
	}
	if got := changeKeys(t, st, integ); len(got) != 1 {
		t.Errorf("change log %v, want the first attempt's entry only", got)
	}
	var email string
	if err := st.DB().Get(&email, `SELECT email FROM attendees WHERE integration_id = $1 AND invitee_id = 'a'`, integ); err != nil || email != "first@example.com" {
		t.Errorf("attendee's e-mail %q (%v), want the first attempt's", email, err)
	}
}

// A chunk locks an attendee and then the change counter; a small write
// takes the counter and then the attendee. PostgreSQL sees the cycle and
// aborts one of the two: nobody hangs, and the change log stays whole.
func TestChunkAndWriterDeadlockIsBroken(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	id := largeDelivery(t, st, integ, 1)
	c := begin(t, st, id, integ, 0, 1, -1)
	write(t, c, person(integ, "x", "chunk@example.com"))
	writer := make(chan error, 1)
	go func() {
		writer <- st.Apply(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.UpsertAttendees(ctx, 0, []directory.Attendee{person(integ, "x", "writer@example.com")})
			return err
		})
	}()
	awaitLockWait(t, st, "WITH u AS")
	chunkErr := make(chan error, 1)
	go func() {
		_, err := c.Commit(ctx, true, countChunk, "", "")
		chunkErr <- err
	}()
	var errs []error
	for range 2 {
		select {
		case err := <-writer:
			errs = append(errs, err)
		case err := <-chunkErr:
			errs = append(errs, err)
		case <-time.After(30 * time.Second):
			t.Fatal("the chunk and the writer still wait for each other after 30 s")
		}
	}
	failed := 0
	for _, err := range errs {
		var pqErr *pq.Error
		switch {
		case err == nil:
		case errors.As(err, &pqErr) && pqErr.Code == "40P01":
			failed++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if failed != 1 {
		t.Fatalf("errors %v: want exactly one deadlock", errs)
	}
	if keys := changeKeys(t, st, integ); len(keys) != 1 || keys[0] != "attendee:x" {
		t.Errorf("change log %v, want one entry for x", keys)
	}
}

// Erasing a person waits for the chunks in flight: a chunk that checked
// the tombstones before the erasure cannot write the person back after it.
func TestErasureWaitsForTheChunksInFlight(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	id := largeDelivery(t, st, integ, 1)
	c := begin(t, st, id, integ, 0, 1, -1)
	erased := make(chan error, 1)
	go func() {
		_, err := st.ErasePerson(ctx, store.Person{IntegrationID: integ, InviteeID: "x", Email: "x@example.com"}, keepBodies)
		erased <- err
	}()
	awaitLockWait(t, st, "change_seqs")
	gone, err := c.Tx().ErasedInvitees(ctx, integ, []string{"x"})
	if err != nil || gone["x"] {
		t.Fatalf("tombstones before the erasure: %v, %v", gone, err)
	}
	write(t, c, person(integ, "x", "x@example.com"))
	if applied, err := c.Commit(ctx, true, countChunk, "", ""); err != nil || !applied {
		t.Fatalf("chunk: applied %v, %v", applied, err)
	}
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.DB().Get(&n, `SELECT count(*) FROM attendees WHERE integration_id = $1 AND invitee_id = 'x'`, integ); err != nil || n != 0 {
		t.Errorf("%d attendees x after the erasure (%v), want none", n, err)
	}
	keys := changeKeys(t, st, integ)
	if got := strings.Join(keys, ","); got != "attendee:x,attendee:x" {
		t.Errorf("change log %s: want x created, then removed", got)
	}
}

func keepBodies(...string) func([]byte) ([]byte, bool) {
	return func(b []byte) ([]byte, bool) { return b, false }
}
