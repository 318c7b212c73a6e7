package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// A large delivery is applied in chunks, each in its own transaction with
// the progress it makes. Chunks run side by side (the next one works while
// the one before commits) and commit one after another:
//
//   - A chunk stages its change log entries (withChangeLog) instead of
//     numbering them, and holds its integration's change counter in KEY
//     SHARE mode, which does not keep other writers from the counter. Its
//     commit numbers its entries in the order staged, holding the counter
//     for that statement and the commit only.
//   - Each chunk holds an advisory lock named by its delivery and first
//     item. Its commit waits for the lock of the chunk before it (a lock
//     wait PostgreSQL sees, so a cycle through row locks is a deadlock it
//     detects and breaks, never a hang) and then requires the progress to
//     stand where the chunk begins: progress stays a prefix of the items.
//   - Other writers take the counter first and then rows; a chunk takes rows
//     and then the counter. Where they meet on the same attendee, PostgreSQL
//     detects the deadlock and aborts one, which is retried.
//   - Erasing a person takes the counter exclusively (lockChangeLogExclusive),
//     so it waits for chunks in flight: a chunk that checked the tombstones
//     before the erasure began cannot write the person back after it.

// ChunkProgress is where a chunked apply stands.
type ChunkProgress struct {
	AppliedItems int
	Result       json.RawMessage
	Done         bool // processed, failed or otherwise no longer waiting
}

// LargeDeliveryProgress reads a large delivery's progress.
func (s *Store) LargeDeliveryProgress(ctx context.Context, id int64) (*ChunkProgress, error) {
	var row struct {
		Applied int    `db:"applied_items"`
		Status  string `db:"status"`
		Result  []byte `db:"result"`
	}
	if err := s.db.GetContext(ctx, &row, `SELECT applied_items, status, result FROM deliveries WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("read progress of delivery %d: %w", id, err)
	}
	return &ChunkProgress{AppliedItems: row.Applied, Result: row.Result, Done: row.Status != DeliveryReceived}, nil
}

// ErrChunkOutOfTurn is a chunk's commit finding the items before it not
// applied: the chunk before it failed. Retrying resumes from the progress.
var ErrChunkOutOfTurn = errors.New("the items before this chunk were not applied")

// Chunk is the transaction applying items [From, To) of a large delivery.
type Chunk struct {
	tx         *sqlx.Tx
	deliveryID int64
	From, To   int
	after      int // From of the chunk that commits before this one; -1 for none
}

// BeginChunk begins the transaction of items [from, to) of large delivery
// id of the integration. after is the first item of the chunk that must
// commit before it, begun earlier by the same caller, or -1 when none is in
// flight.
func (s *Store) BeginChunk(ctx context.Context, id int64, integrationID string, from, to, after int) (*Chunk, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO change_seqs (integration_id) VALUES ($1) ON CONFLICT DO NOTHING`,
		integrationID); err != nil {
		return nil, fmt.Errorf("begin chunk: %w", err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin chunk: %w", err)
	}
	_, err = tx.ExecContext(ctx, `SELECT set_config('`+stageChangesSetting+`', 'on', true), pg_advisory_xact_lock($2, $3),
		(SELECT 1 FROM change_seqs WHERE integration_id = $1 FOR KEY SHARE)`, integrationID, chunkLockKey(id), from)
	if err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("begin chunk: %w", err)
	}
	return &Chunk{tx: tx, deliveryID: id, From: from, To: to, after: after}, nil
}

// chunkLockKey is the first key of a delivery's chunk locks (two-key
// advisory locks, the second being the chunk's first item).
func chunkLockKey(id int64) int32 { return int32(id & 0x7fffffff) }

// Tx is the transaction the chunk's items are written in.
func (c *Chunk) Tx() *Tx { return &Tx{tx: c.tx, staged: true} }

// Rollback abandons the chunk.
func (c *Chunk) Rollback() { _ = c.tx.Rollback() }

// Commit waits for the chunk before it, records the progress with the
// result merge makes of the running one, appends the staged changes and
// commits; on the last chunk it marks the delivery processed. It answers
// false, having rolled back, when the chunk was applied already (another
// attempt got there first), and ErrChunkOutOfTurn when the items before it
// were not.
func (c *Chunk) Commit(ctx context.Context, last bool, merge func(running json.RawMessage) (any, error), workflowID, runID string) (applied bool, err error) {
	defer func() {
		if !applied {
			c.Rollback()
		}
	}()
	if c.after >= 0 {
		if _, err := c.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared($1, $2)`, chunkLockKey(c.deliveryID), c.after); err != nil {
			return false, fmt.Errorf("wait for the chunk before: %w", err)
		}
	}
	var row struct {
		Applied int    `db:"applied_items"`
		Status  string `db:"status"`
		Result  []byte `db:"result"`
	}
	if err := c.tx.GetContext(ctx, &row, `SELECT applied_items, status, result FROM deliveries WHERE id = $1 FOR UPDATE`,
		c.deliveryID); err != nil {
		return false, fmt.Errorf("lock delivery %d: %w", c.deliveryID, err)
	}
	switch {
	case row.Status != DeliveryReceived || row.Applied > c.From:
		return false, nil
	case row.Applied < c.From:
		return false, fmt.Errorf("delivery %d, items %d to %d: %w (applied up to %d)", c.deliveryID, c.From, c.To,
			ErrChunkOutOfTurn, row.Applied)
	}
	var running json.RawMessage
	if c.From > 0 {
		running = row.Result
	}
	result, err := merge(running)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(result)
	if err != nil {
		return false, fmt.Errorf("encode result: %w", err)
	}
	if _, err := c.tx.ExecContext(ctx, `UPDATE deliveries SET applied_items = $2, result = $3 WHERE id = $1`,
		c.deliveryID, c.To, string(b)); err != nil {
		return false, fmt.Errorf("record progress of delivery %d: %w", c.deliveryID, err)
	}
	if last {
		if err := markProcessed(ctx, c.tx, c.deliveryID, result, workflowID, runID); err != nil {
			return false, err
		}
	}
	if err := flushStagedChanges(ctx, c.tx); err != nil {
		return false, err
	}
	if err := c.tx.Commit(); err != nil {
		return false, fmt.Errorf("commit chunk: %w", err)
	}
	return true, nil
}
