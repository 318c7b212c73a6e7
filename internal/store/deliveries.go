package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Delivery statuses.
const (
	DeliveryReceived  = "received"  // stored, processing not finished
	DeliveryProcessed = "processed" // applied to the directory
	DeliveryFailed    = "failed"    // processing gave up; replayable
	DeliveryIgnored   = "ignored"   // an event type cventsync does not act on
	DeliveryRejected  = "rejected"  // not a readable Cvent envelope; kept for operators
)

// Delivery is one POST received from Cvent.
type Delivery struct {
	ID            int64          `db:"id"`
	IntegrationID string         `db:"integration_id"`
	EventType     string         `db:"event_type"`
	MessageStub   sql.NullString `db:"message_stub"`
	MessageTime   sql.NullTime   `db:"message_time"`
	ItemCount     int            `db:"item_count"`
	Body          []byte         `db:"body"`
	ReceivedAt    time.Time      `db:"received_at"`
	Status        string         `db:"status"`
	Error         string         `db:"error"`
	WorkflowID    string         `db:"workflow_id"`
	DispatchedAt  sql.NullTime   `db:"dispatched_at"`
	ProcessedAt   sql.NullTime   `db:"processed_at"`
	Result        []byte         `db:"result"` // JSON, nil until processed
}

const deliverySummaryColumns = `id, integration_id, event_type, message_stub, message_time, item_count, ''::bytea AS body,
	received_at, status, error, workflow_id, dispatched_at, processed_at, result`

// InsertDelivery stores a delivery. When the integration already holds a
// delivery with the same message stub it stores nothing and returns the
// existing one with duplicate = true.
func (s *Store) InsertDelivery(ctx context.Context, d *Delivery) (duplicate bool, err error) {
	err = s.db.QueryRowxContext(ctx, `
		INSERT INTO deliveries (integration_id, event_type, message_stub, message_time, item_count, body, status, error, workflow_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (integration_id, message_stub) WHERE message_stub IS NOT NULL DO NOTHING
		RETURNING id, received_at`,
		d.IntegrationID, d.EventType, d.MessageStub, d.MessageTime, d.ItemCount, d.Body, d.Status, d.Error, d.WorkflowID,
	).Scan(&d.ID, &d.ReceivedAt)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("insert delivery: %w", err)
	}
	existing := &Delivery{}
	err = s.db.GetContext(ctx, existing, `SELECT `+deliverySummaryColumns+` FROM deliveries
		WHERE integration_id = $1 AND message_stub = $2`, d.IntegrationID, d.MessageStub)
	if err != nil {
		return true, fmt.Errorf("load duplicate delivery: %w", err)
	}
	*d = *existing
	return true, nil
}

// GetDelivery loads a delivery with its body.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*Delivery, error) {
	var d Delivery
	err := s.db.GetContext(ctx, &d, `SELECT id, integration_id, event_type, message_stub, message_time, item_count, body,
		received_at, status, error, workflow_id, dispatched_at, processed_at, result FROM deliveries WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get delivery %d: %w", id, err)
	}
	return &d, nil
}

// DeliveryFilter narrows ListDeliveries.
type DeliveryFilter struct {
	Status   string
	BeforeID int64 // page backwards from this id (exclusive); 0 = newest
	Limit    int
}

// ListDeliveries lists an integration's deliveries, newest first, without bodies.
func (s *Store) ListDeliveries(ctx context.Context, integrationID string, f DeliveryFilter) ([]Delivery, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []Delivery
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliverySummaryColumns+` FROM deliveries
		WHERE integration_id = $1 AND ($2 = '' OR status = $2) AND ($3 = 0 OR id < $3)
		ORDER BY id DESC LIMIT $4`, integrationID, f.Status, f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// MarkDispatched records that Temporal accepted the delivery's workflow.
func (s *Store) MarkDispatched(ctx context.Context, id int64, workflowID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET dispatched_at = now(), workflow_id = $2 WHERE id = $1`, id, workflowID)
	if err != nil {
		return fmt.Errorf("mark delivery %d dispatched: %w", id, err)
	}
	return nil
}

// Undispatched returns deliveries that were stored but never handed to
// Temporal (it was unreachable), oldest first, received before cutoff so that
// a request still on its way to Temporal is left alone.
func (s *Store) Undispatched(ctx context.Context, cutoff time.Time, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliverySummaryColumns+` FROM deliveries
		WHERE status = 'received' AND dispatched_at IS NULL AND received_at < $1
		ORDER BY id LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, fmt.Errorf("list undispatched deliveries: %w", err)
	}
	return out, nil
}

// markProcessed finishes a delivery inside the transaction that applied it,
// so the directory change and the delivery status commit together.
func markProcessed(ctx context.Context, tx *sqlx.Tx, id int64, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = 'processed', error = '', processed_at = now(), result = $2
		WHERE id = $1`, id, b)
	if err != nil {
		return fmt.Errorf("mark delivery %d processed: %w", id, err)
	}
	return nil
}

// MarkFailed records why a delivery could not be processed.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', error = $2, processed_at = now() WHERE id = $1`, id, reason)
	if err != nil {
		return fmt.Errorf("mark delivery %d failed: %w", id, err)
	}
	return nil
}

// MarkForReplay puts a delivery back in the outbox before a replay.
func (s *Store) MarkForReplay(ctx context.Context, id int64, workflowID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'received', error = '', workflow_id = $2, dispatched_at = NULL
		WHERE id = $1 AND status IN ('received', 'processed', 'failed')`, id, workflowID)
	if err != nil {
		return fmt.Errorf("mark delivery %d for replay: %w", id, err)
	}
	return nil
}

// MarkDispatchedMany records that one workflow took several deliveries.
func (s *Store) MarkDispatchedMany(ctx context.Context, ids []int64, workflowID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET dispatched_at = now(), workflow_id = $2 WHERE id = ANY($1)`,
		pq.Int64Array(ids), workflowID)
	if err != nil {
		return fmt.Errorf("mark deliveries dispatched: %w", err)
	}
	return nil
}
