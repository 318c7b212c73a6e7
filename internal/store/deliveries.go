package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/reqid"
)

// Delivery statuses.
const (
	DeliveryReceived  = "received"  // stored, processing not finished
	DeliveryProcessed = "processed" // applied to the directory
	DeliveryFailed    = "failed"    // processing gave up; replayable
	DeliveryIgnored   = "ignored"   // an event type cventsync does not act on
	DeliveryRejected  = "rejected"  // not a readable Cvent envelope; kept for operators
)

// FlagMessageTimeClamped marks a delivery whose messageTime was implausible
// (before 2000 or beyond the allowed clock skew) and was replaced by the time
// it was received, so that it cannot lock an attendee against later changes.
const FlagMessageTimeClamped = "messageTimeClamped"

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
	RunID         string         `db:"run_id"`
	DispatchedAt  sql.NullTime   `db:"dispatched_at"`
	ProcessedAt   sql.NullTime   `db:"processed_at"`
	Result        []byte         `db:"result"` // JSON, nil until processed
	// InviteeIDs are the attendees the delivery names (lower case), learned
	// when it was received, so deliveries can be found by person.
	InviteeIDs pq.StringArray `db:"invitee_ids"`
	// Large deliveries (manual syncs) run in a workflow of their own, applied
	// in chunks; the others are drained in batches per integration.
	Large bool `db:"large"`
	// ApplyCount counts the transactions that applied the delivery: 1 after
	// processing, one more per replay.
	ApplyCount int `db:"apply_count"`
	// AppliedItems is the progress of a chunked apply.
	AppliedItems int            `db:"applied_items"`
	Flags        pq.StringArray `db:"flags"`
	// RequestID is the X-Request-Id of the request that stored it, so the
	// worker's log line for the delivery can be found from the gateway's.
	RequestID string `db:"request_id"`
	// BodySize and BodyChunks describe a body stored in chunks (OpenBody);
	// Body is empty then.
	BodySize   int64 `db:"body_size"`
	BodyChunks int   `db:"body_chunks"`
}

const deliveryColumns = `id, integration_id, event_type, message_stub, message_time, item_count,
	received_at, status, error, workflow_id, run_id, dispatched_at, processed_at, result, invitee_ids, large,
	apply_count, applied_items, flags, request_id, body_size, body_chunks`

const deliverySummaryColumns = deliveryColumns + `, ''::bytea AS body`

const deliveryFullColumns = deliveryColumns + `, body`

// deliveriesChannel is the LISTEN/NOTIFY channel on which a stored delivery
// wakes its integration's drainer; the payload is the integration id.
const deliveriesChannel = "cventsync_deliveries"

// InsertDelivery stores a delivery. When the integration already holds a
// delivery with the same message stub it stores nothing and returns the
// existing one with duplicate = true. A small delivery waiting to be applied
// wakes its integration's drainer once the insert has committed.
func (s *Store) InsertDelivery(ctx context.Context, d *Delivery) (duplicate bool, err error) {
	d.Error = CleanText(d.Error, 1024)
	if d.RequestID == "" {
		d.RequestID = reqid.From(ctx) // the webhook request that stores it
	}
	if d.InviteeIDs == nil {
		d.InviteeIDs = pq.StringArray{}
	}
	if d.Flags == nil {
		d.Flags = pq.StringArray{}
	}
	err = s.db.QueryRowxContext(ctx, `
		INSERT INTO deliveries (integration_id, event_type, message_stub, message_time, item_count, body, status, error,
			workflow_id, invitee_ids, large, flags, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (integration_id, message_stub) WHERE message_stub IS NOT NULL DO NOTHING
		RETURNING id, received_at`,
		d.IntegrationID, d.EventType, d.MessageStub, d.MessageTime, d.ItemCount, d.Body, d.Status, d.Error, d.WorkflowID,
		d.InviteeIDs, d.Large, d.Flags, d.RequestID,
	).Scan(&d.ID, &d.ReceivedAt)
	if err == nil {
		if d.Status == DeliveryReceived && !d.Large {
			s.waker.wake(d.IntegrationID)
		}
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
	err := s.db.GetContext(ctx, &d, `SELECT `+deliveryFullColumns+` FROM deliveries WHERE id = $1`, id)
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
	Status    string
	InviteeID string
	BeforeID  int64 // page backwards from this id (exclusive); 0 = newest
	Limit     int

	// InviteeIDs keeps deliveries naming any of them (e.g. the invitees of
	// one e-mail address); empty keeps all.
	InviteeIDs []string
	EventType  string
	// Since keeps deliveries received at or after it; zero keeps all.
	Since time.Time
}

// ListDeliveries lists an integration's deliveries, newest first, without bodies.
func (s *Store) ListDeliveries(ctx context.Context, integrationID string, f DeliveryFilter) ([]Delivery, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []Delivery
	err := s.db.SelectContext(ctx, &out, `SELECT `+deliverySummaryColumns+` FROM deliveries
		WHERE integration_id = $1 AND ($2 = '' OR status = $2) AND ($3 = 0 OR id < $3)
		  AND ($5 = '' OR invitee_ids @> ARRAY[lower($5)])
		  AND (cardinality($6::text[]) = 0 OR invitee_ids && $6::text[])
		  AND ($7 = '' OR event_type = $7)
		  AND ($8::timestamptz IS NULL OR received_at >= $8)
		ORDER BY id DESC LIMIT $4`, integrationID, f.Status, f.BeforeID, f.Limit, f.InviteeID,
		pq.StringArray(lower(f.InviteeIDs)), f.EventType, sql.NullTime{Time: f.Since, Valid: !f.Since.IsZero()})
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// MarkDispatched records that Temporal accepted a large delivery's workflow.
func (s *Store) MarkDispatched(ctx context.Context, id int64, workflowID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET dispatched_at = now(), workflow_id = $2 WHERE id = $1`, id, workflowID)
	if err != nil {
		return fmt.Errorf("mark delivery %d dispatched: %w", id, err)
	}
	return nil
}

// markProcessed finishes a delivery inside the transaction that applied it,
// so the directory change and the delivery status commit together.
func markProcessed(ctx context.Context, tx *sqlx.Tx, id int64, result any, workflowID, runID string) error {
	b, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = 'processed', error = '', processed_at = now(), result = $2,
			apply_count = apply_count + 1,
			workflow_id = CASE WHEN $3 = '' THEN workflow_id ELSE $3 END,
			run_id = CASE WHEN $4 = '' THEN run_id ELSE $4 END
		WHERE id = $1`, id, string(b), workflowID, runID)
	if err != nil {
		return fmt.Errorf("mark delivery %d processed: %w", id, err)
	}
	return nil
}

// MarkFailed records why a delivery could not be processed.
func (s *Store) MarkFailed(ctx context.Context, id int64, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', error = $2, processed_at = now()
		WHERE id = $1 AND status = 'received'`, id, CleanText(reason, 1024))
	if err != nil {
		return fmt.Errorf("mark delivery %d failed: %w", id, err)
	}
	return nil
}

// MarkFailedMany records why several deliveries could not be processed;
// only those still waiting are changed.
func (s *Store) MarkFailedMany(ctx context.Context, ids []int64, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', error = $2, processed_at = now()
		WHERE id = ANY($1) AND status = 'received'`, pq.Int64Array(ids), CleanText(reason, 1024))
	if err != nil {
		return fmt.Errorf("mark deliveries failed: %w", err)
	}
	return nil
}

// MarkForReplay puts a delivery back in the queue before a replay; a small
// one wakes its integration's drainer.
func (s *Store) MarkForReplay(ctx context.Context, id int64) (*Delivery, error) {
	var d Delivery
	err := s.db.GetContext(ctx, &d, `
		UPDATE deliveries SET status = 'received', error = '', dispatched_at = NULL, applied_items = 0
		WHERE id = $1 AND status IN ('received', 'processed', 'failed') AND body_purged_at IS NULL
		RETURNING `+deliverySummaryColumns, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("mark delivery %d for replay: %w", id, err)
	}
	if !d.Large {
		s.waker.wake(d.IntegrationID)
	}
	return &d, nil
}

// CleanText makes s storable and readable as an error text: NUL bytes (which
// PostgreSQL text refuses) and invalid UTF-8 are replaced, and it is cut to
// max bytes.
func CleanText(s string, max int) string {
	if strings.ContainsRune(s, 0) {
		s = strings.ReplaceAll(s, "\x00", `\u0000`)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
