package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/cventsync/cventsync/internal/store"
)

// Retention removes personal data that has been kept long enough.
type Retention struct {
	Store *store.Store
	// BodyRetention is how long the bodies of applied, ignored and dismissed
	// deliveries are kept (0: 30 days). Failed ones are kept until replayed
	// or dismissed.
	BodyRetention time.Duration
	// Batch and Budget bound one statement and one run (0: 500 rows, 2 minutes).
	Batch  int
	Budget time.Duration
}

// PurgeBodiesResult is what PurgeBodies removed.
type PurgeBodiesResult struct {
	Purged int64
	// More is true when the time budget ran out first; the next run goes on.
	More bool
}

// PurgeBodies removes expired delivery bodies in short statements of Batch
// rows each (every one its own transaction, rows in use skipped), until none
// is left or the time budget is spent, heartbeating between statements.
func (r *Retention) PurgeBodies(ctx context.Context) (*PurgeBodiesResult, error) {
	retention := orDefault(r.BodyRetention, 30*24*time.Hour)
	batch := r.Batch
	if batch <= 0 {
		batch = 500
	}
	deadline := time.Now().Add(orDefault(r.Budget, 2*time.Minute))
	before := time.Now().Add(-retention)
	out := &PurgeBodiesResult{}
	for {
		n, err := r.Store.PurgeBodies(ctx, before, batch)
		if err != nil {
			return out, err
		}
		out.Purged += n
		if n < int64(batch) {
			return out, nil
		}
		if time.Now().After(deadline) {
			out.More = true
			return out, nil
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, out.Purged)
		}
	}
}
