package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Tx is the transaction a delivery is applied in. The directory changes and
// the delivery's "processed" mark commit together, so a retried activity
// either sees the delivery done or redoes all of it.
type Tx struct {
	tx *sqlx.Tx
	// changeLogLocked names the integration whose change counter this
	// transaction locked outside any savepoint (ApplyBatch): later writers in
	// it need not lock it again.
	changeLogLocked string
	// staged: this transaction's changes are staged and numbered when it
	// commits (a chunk, see BeginChunk); it does not lock change counters.
	staged bool
}

// ApplyDelivery runs apply in one transaction and marks the delivery processed
// with apply's result in the same transaction.
func (s *Store) ApplyDelivery(ctx context.Context, deliveryID int64, apply func(ctx context.Context, tx *Tx) (any, error)) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		result, err := apply(ctx, &Tx{tx: tx})
		if err != nil {
			return err
		}
		return markProcessed(ctx, tx, deliveryID, result, "", "")
	})
}

// Apply runs fn in one transaction without a delivery (REST polling, re-sync).
func (s *Store) Apply(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return fn(ctx, &Tx{tx: tx}) })
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
