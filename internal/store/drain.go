package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Small deliveries are drained per integration: a drainer holds the
// integration's lease, listens for new deliveries, claims what waits with
// FOR UPDATE SKIP LOCKED and applies it in one transaction per batch. The
// gateway reads the lease after its insert has committed: a live lease means
// the drainer will see the delivery (it claims after taking the lease, and
// takes the lease after it listens); an expired one means nobody drains and
// the gateway starts the ingest workflow. A drainer that stops expires its
// lease and then claims once more, so nothing falls between the two.

// AcquireLease makes holder the integration's drainer until ttl from now.
// The ingest workflow id makes sure only one drainer runs per integration;
// the lease only tells the gateway that one does.
func (s *Store) AcquireLease(ctx context.Context, integrationID, holder string, ttl time.Duration) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO ingest_leases (integration_id, holder, expires_at) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (integration_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at`,
		integrationID, holder, ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("acquire ingest lease of %s: %w", integrationID, err)
	}
	return nil
}

// RenewLease extends holder's lease by ttl from now, and reports false when
// the lease is no longer holder's (another drainer took it over).
func (s *Store) RenewLease(ctx context.Context, integrationID, holder string, ttl time.Duration) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE ingest_leases SET expires_at = now() + $3 * interval '1 millisecond'
		WHERE integration_id = $1 AND holder = $2`, integrationID, holder, ttl.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("renew ingest lease of %s: %w", integrationID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("renew ingest lease of %s: %w", integrationID, err)
	}
	return n == 1, nil
}

// ReleaseLease ends holder's lease. The caller must claim once more after it.
func (s *Store) ReleaseLease(ctx context.Context, integrationID, holder string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ingest_leases SET expires_at = now() - interval '1 millisecond'
		WHERE integration_id = $1 AND holder = $2`, integrationID, holder)
	if err != nil {
		return fmt.Errorf("release ingest lease of %s: %w", integrationID, err)
	}
	return nil
}

// DrainerLive reports whether a drainer holds the integration's lease. Call
// it after the delivery's insert has committed.
func (s *Store) DrainerLive(ctx context.Context, integrationID string) (bool, error) {
	var live bool
	err := s.db.GetContext(ctx, &live, `SELECT COALESCE((SELECT expires_at > now() FROM ingest_leases WHERE integration_id = $1), false)`,
		integrationID)
	if err != nil {
		return false, fmt.Errorf("read ingest lease of %s: %w", integrationID, err)
	}
	return live, nil
}

// PendingDeliveryIDs lists the oldest small deliveries of an integration
// waiting to be applied.
func (s *Store) PendingDeliveryIDs(ctx context.Context, integrationID string, limit int) ([]int64, error) {
	var ids []int64
	err := s.db.SelectContext(ctx, &ids, `SELECT id FROM deliveries
		WHERE integration_id = $1 AND status = 'received' AND NOT large ORDER BY id LIMIT $2`, integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list pending deliveries: %w", err)
	}
	return ids, nil
}

// DeliveryBodies loads the bodies of deliveries by id.
func (s *Store) DeliveryBodies(ctx context.Context, ids []int64) (map[int64][]byte, error) {
	rows, err := s.db.QueryxContext(ctx, `SELECT id, body FROM deliveries WHERE id = ANY($1)`, pq.Int64Array(ids))
	if err != nil {
		return nil, fmt.Errorf("load delivery bodies: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]byte, len(ids))
	for rows.Next() {
		var id int64
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return nil, fmt.Errorf("load delivery bodies: %w", err)
		}
		out[id] = body
	}
	return out, rows.Err()
}

// DeliveryApplier applies deliveries of one integration in tx, in order,
// and returns the result to record with each (by position). An error is the
// whole call's: ApplyBatch then calls it again with one delivery at a time
// to find the one at fault.
type DeliveryApplier func(ctx context.Context, tx *Tx, ds []*Delivery) (results []any, err error)

// FailedDelivery is a delivery of a batch that could not be applied.
type FailedDelivery struct {
	ID     int64
	Reason string
	// Delivery is the failed delivery itself (not serialised).
	Delivery *Delivery `json:"-"`
}

// BatchOutcome is what ApplyBatch did.
type BatchOutcome struct {
	Applied []*Delivery
	Results []any // by position in Applied
	Failed  []FailedDelivery
	// Isolated: the claim as a whole failed with a permanent error and its
	// deliveries were applied one by one.
	Isolated bool
}

// ApplyBatch claims the deliveries among ids that still wait (skipping any
// another transaction holds) and applies them in one transaction: all
// together first, under a savepoint, and marked processed in one statement.
// When that fails (for example with an error permanent reports as the
// data's: bad data that the store or the rules cannot take), the claim is rolled back to the
// savepoint and applied one delivery at a time, each under its own
// savepoint: the one at fault is marked failed with its reason and the
// others are applied. Any other error met by a delivery on its own rolls
// the whole claim back and is returned, for the caller to retry.
func (s *Store) ApplyBatch(ctx context.Context, ids []int64, workflowID, runID string, apply DeliveryApplier,
	permanent func(error) bool) (*BatchOutcome, error) {
	out := &BatchOutcome{}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var claimed []Delivery
		if err := tx.SelectContext(ctx, &claimed, `SELECT `+deliveryFullColumns+` FROM deliveries
			WHERE id = ANY($1) AND status = 'received' AND NOT large ORDER BY id FOR UPDATE SKIP LOCKED`, pq.Int64Array(ids)); err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		// One integration's counter, locked once, outside the savepoints (a
		// lock taken inside one would go with its rollback): every delivery
		// of the batch appends to the change log after it.
		btx := &Tx{tx: tx}
		if err := btx.lockChangeLog(ctx, claimed[0].IntegrationID); err != nil {
			return err
		}
		btx.changeLogLocked = claimed[0].IntegrationID
		all := make([]*Delivery, len(claimed))
		for i := range claimed {
			all[i] = &claimed[i]
		}
		// The deliveries are marked processed outside the savepoints, by the
		// transaction that locked them: a row locked by a transaction and
		// updated by its subtransaction gets a MultiXact as its xmax, and
		// PostgreSQL never lets an index scan skip such a dead row, so the
		// claim query would step over every delivery ever processed until
		// the next VACUUM.
		var results []any
		err := applyUnder(ctx, tx, "claim", func() (err error) {
			results, err = apply(ctx, btx, all)
			return err
		})
		if err == nil {
			if err := markProcessedMany(ctx, tx, all, results, workflowID, runID); err != nil {
				return err
			}
			out.Applied, out.Results = all, results
			return nil
		}
		// Whatever failed the claim as a whole (bad data, or something only
		// the combination provokes) is looked for one delivery at a time; a
		// lone delivery's passing error, or a cancelled context, is returned.
		if ctx.Err() != nil || (len(all) == 1 && !permanent(err)) {
			return err
		}
		out.Isolated = true
		var applied []*Delivery
		var appliedResults []any
		for _, d := range all {
			err := applyUnder(ctx, tx, "delivery", func() error {
				results, err := apply(ctx, btx, []*Delivery{d})
				if err == nil {
					applied = append(applied, d)
					appliedResults = append(appliedResults, results...)
				}
				return err
			})
			if err == nil {
				continue
			}
			if !permanent(err) {
				return err
			}
			reason := CleanText(err.Error(), 1024)
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', error = $2, processed_at = now(),
					workflow_id = CASE WHEN $3 = '' THEN workflow_id ELSE $3 END, run_id = CASE WHEN $4 = '' THEN run_id ELSE $4 END
				WHERE id = $1`, d.ID, reason, workflowID, runID); err != nil {
				return fmt.Errorf("mark delivery %d failed: %w", d.ID, err)
			}
			out.Failed = append(out.Failed, FailedDelivery{ID: d.ID, Reason: reason, Delivery: d})
		}
		if len(applied) > 0 {
			if err := markProcessedMany(ctx, tx, applied, appliedResults, workflowID, runID); err != nil {
				return err
			}
		}
		out.Applied, out.Results = applied, appliedResults
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyUnder runs fn under a savepoint: released when fn succeeds, rolled
// back to when it fails (fn's error is returned).
func applyUnder(ctx context.Context, tx *sqlx.Tx, name string, fn func() error) (err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT `+name); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err = fn(); err == nil {
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT `+name); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT `+name); rerr != nil {
		return fmt.Errorf("roll back %s: %w (after %w)", name, rerr, err)
	}
	return err
}

// markProcessedMany marks deliveries processed with their results (by
// position) in one statement.
func markProcessedMany(ctx context.Context, tx *sqlx.Tx, ds []*Delivery, results []any, workflowID, runID string) error {
	if len(results) != len(ds) {
		return fmt.Errorf("mark deliveries processed: %d results for %d deliveries", len(results), len(ds))
	}
	ids := make([]int64, len(ds))
	docs := make([]string, len(ds))
	for i, d := range ds {
		b, err := json.Marshal(results[i])
		if err != nil {
			return fmt.Errorf("encode result of delivery %d: %w", d.ID, err)
		}
		ids[i], docs[i] = d.ID, string(b)
	}
	_, err := tx.ExecContext(ctx, `UPDATE deliveries d SET status = 'processed', error = '', processed_at = now(), result = r.result::jsonb,
			apply_count = d.apply_count + 1,
			workflow_id = CASE WHEN $3 = '' THEN d.workflow_id ELSE $3 END,
			run_id = CASE WHEN $4 = '' THEN d.run_id ELSE $4 END
		FROM unnest($1::bigint[], $2::text[]) AS r(id, result)
		WHERE d.id = r.id`, pq.Int64Array(ids), pq.StringArray(docs), workflowID, runID)
	if err != nil {
		return fmt.Errorf("mark %d deliveries processed: %w", len(ds), err)
	}
	return nil
}

// IsDataError reports whether err is PostgreSQL refusing a value itself (a
// NUL character, a date out of range, a constraint), which no retry can
// change, as opposed to a lost connection or a deadlock.
func IsDataError(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	switch pqErr.Code.Class() {
	case "22", // data exception: untranslatable character, datetime out of range, invalid JSON text
		"23", // integrity constraint violation
		"54": // program limit exceeded: a value too large
		return true
	}
	return false
}

// IntegrationsNeedingDrain lists integrations with small deliveries waiting
// since before olderThan and no live drainer: their ingest workflow must be
// (re)started.
func (s *Store) IntegrationsNeedingDrain(ctx context.Context, olderThan time.Time) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, `SELECT DISTINCT d.integration_id FROM deliveries d
		LEFT JOIN ingest_leases l ON l.integration_id = d.integration_id
		WHERE d.status = 'received' AND NOT d.large AND d.received_at < $1 AND (l.expires_at IS NULL OR l.expires_at < now())`,
		olderThan)
	if err != nil {
		return nil, fmt.Errorf("list integrations needing a drain: %w", err)
	}
	return ids, nil
}

// StaleLargeDeliveries lists large deliveries waiting since before
// olderThan, oldest first: their workflow may be gone (terminated, timed out,
// namespace reset) and must be started again. One whose workflow was never
// started (Temporal did not answer the gateway) is stale from
// undispatchedBefore on.
func (s *Store) StaleLargeDeliveries(ctx context.Context, olderThan, undispatchedBefore time.Time, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliverySummaryColumns+` FROM deliveries
		WHERE status = 'received' AND large AND (received_at < $1 OR (dispatched_at IS NULL AND received_at < $3))
		ORDER BY id LIMIT $2`, olderThan, limit, undispatchedBefore)
	if err != nil {
		return nil, fmt.Errorf("list stale large deliveries: %w", err)
	}
	return out, nil
}
