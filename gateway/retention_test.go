package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/store"
)

// Bodies of applied (processed, ignored) and dismissed deliveries are
// removed after the retention time, inline and chunked, a few rows per
// statement; failed ones stay until dismissed; recent ones stay; a
// delivery without its body is no longer replayable.
func TestRetentionPurgesAppliedBodies(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	ctx := context.Background()
	db := s.store.DB()
	old := time.Now().Add(-72 * time.Hour)
	insert := func(status string, at time.Time, chunks int) int64 {
		t.Helper()
		var id int64
		if err := db.GetContext(ctx, &id, `INSERT INTO deliveries (integration_id, body, status, received_at, processed_at, body_chunks)
			VALUES ($1, '{"message":[{"email":"kept@example.com"}]}', $2, $3, $3, $4) RETURNING id`, in.ID, status, at, chunks); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < chunks; i++ {
			if _, err := db.ExecContext(ctx, `INSERT INTO delivery_chunks (delivery_id, seq, data) VALUES ($1, $2, 'chunk')`, id, i); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	processed := insert(store.DeliveryProcessed, old, 0)
	ignored := insert(store.DeliveryIgnored, old, 0)
	chunked := insert(store.DeliveryProcessed, old, 3)
	failed := insert(store.DeliveryFailed, old, 0)
	recent := insert(store.DeliveryProcessed, time.Now(), 0)

	r := &activities.Retention{Store: s.store, BodyRetention: 24 * time.Hour, Batch: 1}
	res, err := r.PurgeBodies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Purged < 3 {
		t.Errorf("purged %d bodies, want at least 3", res.Purged)
	}
	purged := func(id int64) bool {
		var out struct {
			Body   []byte     `db:"body"`
			At     *time.Time `db:"body_purged_at"`
			Chunks int        `db:"chunks"`
		}
		if err := db.GetContext(ctx, &out, `SELECT body, body_purged_at,
			(SELECT count(*) FROM delivery_chunks WHERE delivery_id = d.id) AS chunks FROM deliveries d WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if (len(out.Body) == 0) != (out.At != nil) {
			t.Errorf("delivery %d: body %q but purged at %v", id, out.Body, out.At)
		}
		if out.At != nil && out.Chunks != 0 {
			t.Errorf("delivery %d: purged but %d chunks left", id, out.Chunks)
		}
		return out.At != nil
	}
	for id, want := range map[int64]bool{processed: true, ignored: true, chunked: true, failed: false, recent: false} {
		if got := purged(id); got != want {
			t.Errorf("delivery %d purged: %v, want %v", id, got, want)
		}
	}
	// A purged delivery cannot be replayed: there is nothing to apply.
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(processed)+"/replay", "", http.StatusConflict, nil)
	// A processed delivery cannot be dismissed; a failed one can, and then expires.
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(recent)+"/dismiss", "", http.StatusConflict, nil)
	var dismissed struct{ Status string }
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(failed)+"/dismiss", "", http.StatusOK, &dismissed)
	if dismissed.Status != store.DeliveryDismissed {
		t.Fatalf("dismissed delivery is %q", dismissed.Status)
	}
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(failed)+"/replay", "", http.StatusConflict, nil)
	if _, err := r.PurgeBodies(ctx); err != nil {
		t.Fatal(err)
	}
	if !purged(failed) {
		t.Error("a dismissed delivery's body outlived the retention time")
	}
	if purged(recent) {
		t.Error("a recent body was purged")
	}
}
