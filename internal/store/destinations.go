package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/secret"
)

// Destination statuses.
const (
	DestinationActive   = "active"   // delivering, or waiting for changes
	DestinationFailing  = "failing"  // the last attempt failed; retrying
	DestinationDisabled = "disabled" // not delivering until enabled again; status_reason says why
)

// Destination is a platform endpoint that receives the change log.
type Destination struct {
	ID             string         `db:"id"`
	IntegrationID  string         `db:"integration_id"`
	URL            string         `db:"url"`
	Types          pq.StringArray `db:"types"`
	BatchSize      int            `db:"batch_size"`
	Enabled        bool           `db:"enabled"`
	Status         string         `db:"status"`
	StatusReason   string         `db:"status_reason"`
	Secret         string         `db:"secret"`     // sealed, see SealSecret
	OldSecret      string         `db:"old_secret"` // sealed; valid until OldSecretUntil
	OldSecretUntil sql.NullTime   `db:"old_secret_until"`
	Cursor         int64          `db:"cursor"`
	InflightLast   int64          `db:"inflight_last"`
	FailingSince   sql.NullTime   `db:"failing_since"`
	LastSuccessAt  sql.NullTime   `db:"last_success_at"`
	CreatedAt      time.Time      `db:"created_at"`
	UpdatedAt      time.Time      `db:"updated_at"`
}

const destinationColumns = `id, integration_id, url, types, batch_size, enabled, status, status_reason, secret, old_secret,
	old_secret_until, cursor, inflight_last, failing_since, last_success_at, created_at, updated_at`

// SealSecret seals a signing secret for storage when a key is configured;
// without one the secret is stored as it is (a whsec_ string, which sealed
// base64 never looks like).
func SealSecret(box *secret.Box, s string) string {
	if box == nil {
		return s
	}
	return box.Seal(s)
}

// OpenSecret undoes SealSecret.
func OpenSecret(box *secret.Box, stored string) (string, error) {
	if stored == "" || strings.HasPrefix(stored, "whsec_") {
		return stored, nil
	}
	if box == nil {
		return "", errors.New("destination secret is sealed and no CVENTSYNC_SECRET_KEY is configured")
	}
	return box.Open(stored)
}

// CreateDestination inserts a destination whose cursor is the integration's
// last change: it receives what changes from now on (replay reaches back).
func (s *Store) CreateDestination(ctx context.Context, d *Destination) error {
	if d.Types == nil {
		d.Types = pq.StringArray{}
	}
	err := s.db.GetContext(ctx, d, `INSERT INTO destinations (id, integration_id, url, types, batch_size, enabled, secret, cursor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE((SELECT last_seq FROM change_seqs WHERE integration_id = $2), 0))
		RETURNING `+destinationColumns, d.ID, d.IntegrationID, d.URL, d.Types, d.BatchSize, d.Enabled, d.Secret)
	if err != nil {
		return fmt.Errorf("insert destination: %w", err)
	}
	return nil
}

// GetDestination loads one destination; ErrNotFound when absent.
func (s *Store) GetDestination(ctx context.Context, id string) (*Destination, error) {
	var d Destination
	err := s.db.GetContext(ctx, &d, `SELECT `+destinationColumns+` FROM destinations WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get destination %s: %w", id, err)
	}
	return &d, nil
}

// ListDestinations lists an integration's destinations, oldest first.
func (s *Store) ListDestinations(ctx context.Context, integrationID string) ([]Destination, error) {
	out := []Destination{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+destinationColumns+` FROM destinations
		WHERE integration_id = $1 ORDER BY created_at, id`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("list destinations: %w", err)
	}
	return out, nil
}

// DestinationPatch holds the fields an operator may change; nil leaves one as it is.
type DestinationPatch struct {
	URL       *string
	Types     []string // nil: unchanged
	BatchSize *int
	Enabled   *bool
}

// UpdateDestination applies a patch. Enabling clears a failure status so
// the destination starts afresh.
func (s *Store) UpdateDestination(ctx context.Context, id string, p DestinationPatch) (*Destination, error) {
	var types any
	if p.Types != nil {
		types = pq.StringArray(p.Types)
	}
	var d Destination
	err := s.db.GetContext(ctx, &d, `UPDATE destinations SET
			url = COALESCE($2, url), types = COALESCE($3::text[], types), batch_size = COALESCE($4, batch_size),
			enabled = COALESCE($5, enabled),
			status = CASE WHEN $5 IS NULL THEN status WHEN $5 THEN '`+DestinationActive+`' ELSE '`+DestinationDisabled+`' END,
			status_reason = CASE WHEN $5 IS NULL THEN status_reason WHEN $5 THEN '' ELSE 'disabled by an operator' END,
			failing_since = CASE WHEN $5 IS NULL THEN failing_since ELSE NULL END,
			updated_at = now()
		WHERE id = $1 RETURNING `+destinationColumns, id, p.URL, types, p.BatchSize, p.Enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update destination %s: %w", id, err)
	}
	return &d, nil
}

// DeleteDestination removes a destination and its attempts.
func (s *Store) DeleteDestination(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM destinations WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete destination %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RotateDestinationSecret makes sealed the signing secret and keeps the
// current one valid (signed with too) until oldUntil.
func (s *Store) RotateDestinationSecret(ctx context.Context, id, sealed string, oldUntil time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE destinations SET old_secret = secret, old_secret_until = $3, secret = $2,
		updated_at = now() WHERE id = $1`, id, sealed, oldUntil)
	if err != nil {
		return fmt.Errorf("rotate destination secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ReplayDestination moves a destination's cursor to after (back or forward)
// and enables it.
func (s *Store) ReplayDestination(ctx context.Context, id string, after int64) (*Destination, error) {
	var d Destination
	err := s.db.GetContext(ctx, &d, `UPDATE destinations SET cursor = $2, inflight_last = 0, enabled = true,
			status = '`+DestinationActive+`', status_reason = '', failing_since = NULL, updated_at = now()
		WHERE id = $1 RETURNING `+destinationColumns, id, after)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("replay destination %s: %w", id, err)
	}
	return &d, nil
}

// SetDestinationInflight records the last seq of the message about to be
// sent from cursor, so a retry resends the same message. False when the
// cursor moved meanwhile (a replay).
func (s *Store) SetDestinationInflight(ctx context.Context, id string, cursor, last int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE destinations SET inflight_last = $3 WHERE id = $1 AND cursor = $2`, id, cursor, last)
	if err != nil {
		return false, fmt.Errorf("set destination in flight: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AdvanceDestination moves the cursor from from to to after a 2xx (or past
// changes the destination does not want) and clears any failure. False when
// the cursor moved meanwhile (a replay).
func (s *Store) AdvanceDestination(ctx context.Context, id string, from, to int64, delivered bool) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE destinations SET cursor = $3, inflight_last = 0,
			status = CASE WHEN $4 THEN '`+DestinationActive+`' ELSE status END,
			status_reason = CASE WHEN $4 THEN '' ELSE status_reason END,
			failing_since = CASE WHEN $4 THEN NULL ELSE failing_since END,
			last_success_at = CASE WHEN $4 THEN now() ELSE last_success_at END
		WHERE id = $1 AND cursor = $2`, id, from, to, delivered)
	if err != nil {
		return false, fmt.Errorf("advance destination: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecordDelivery records an attempt that a destination acknowledged with a
// 2xx and moves the cursor from from to to, in one statement: one commit
// per message on the hot path instead of two. False when the cursor moved
// meanwhile (a replay); the attempt is recorded anyway.
//
// The commit does not wait for the WAL to reach the disk
// (synchronous_commit off for this transaction only): a PostgreSQL crash
// may forget the last fraction of a second of cursor moves, and those
// messages go out again under the same webhook-ids, which delivery at least
// once allows. Waiting for the flush was most of a message's cost.
func (s *Store) RecordDelivery(ctx context.Context, a *Attempt, from, to int64) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
		att AS (
			INSERT INTO destination_attempts (destination_id, webhook_id, first_seq, last_seq, changes, status, error,
				latency_ms, response) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)),
		adv AS (
			UPDATE destinations SET cursor = $11, inflight_last = 0, status = '`+DestinationActive+`', status_reason = '',
				failing_since = NULL, last_success_at = now()
			WHERE id = $1 AND cursor = $10 RETURNING 1)
		SELECT count(*) FROM adv, async`,
		a.DestinationID, a.WebhookID, a.FirstSeq, a.LastSeq, a.Changes, a.Status, CleanText(a.Error, 1024), a.LatencyMS,
		CleanText(a.Response, 1024), from, to)
	if err != nil {
		return false, fmt.Errorf("record delivery: %w", err)
	}
	return n == 1, nil
}

// MarkDestinationFailing records a failed attempt's reason and returns since
// when the destination has been failing.
func (s *Store) MarkDestinationFailing(ctx context.Context, id, reason string) (time.Time, error) {
	var since time.Time
	err := s.db.GetContext(ctx, &since, `UPDATE destinations SET status = '`+DestinationFailing+`', status_reason = $2,
			failing_since = COALESCE(failing_since, now()), updated_at = now()
		WHERE id = $1 RETURNING failing_since`, id, CleanText(reason, 1024))
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, ErrNotFound
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("mark destination failing: %w", err)
	}
	return since, nil
}

// DisableDestination stops deliveries to a destination, saying why.
func (s *Store) DisableDestination(ctx context.Context, id, reason string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE destinations SET enabled = false, status = '`+DestinationDisabled+`',
		status_reason = $2, updated_at = now() WHERE id = $1`, id, CleanText(reason, 1024))
	return wrap("disable destination", err)
}

// Attempt is one POST to a destination.
type Attempt struct {
	ID            int64     `db:"id"`
	DestinationID string    `db:"destination_id"`
	WebhookID     string    `db:"webhook_id"`
	FirstSeq      int64     `db:"first_seq"`
	LastSeq       int64     `db:"last_seq"`
	Changes       int       `db:"changes"`
	Status        int       `db:"status"`
	Error         string    `db:"error"`
	LatencyMS     int       `db:"latency_ms"`
	Response      string    `db:"response"`
	At            time.Time `db:"at"`
}

// RecordAttempt stores an attempt.
func (s *Store) RecordAttempt(ctx context.Context, a *Attempt) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO destination_attempts (destination_id, webhook_id, first_seq, last_seq,
		changes, status, error, latency_ms, response) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.DestinationID, a.WebhookID, a.FirstSeq, a.LastSeq, a.Changes, a.Status, CleanText(a.Error, 1024), a.LatencyMS,
		CleanText(a.Response, 1024))
	return wrap("record attempt", err)
}

// ListAttempts lists a destination's attempts, newest first, before id
// before (0: from the newest).
func (s *Store) ListAttempts(ctx context.Context, destinationID string, before int64, limit int) ([]Attempt, error) {
	out := []Attempt{}
	err := s.db.SelectContext(ctx, &out, `SELECT id, destination_id, webhook_id, first_seq, last_seq, changes, status,
		error, latency_ms, response, at FROM destination_attempts
		WHERE destination_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, destinationID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	return out, nil
}

// DestinationLag is how far a destination is behind the change log.
type DestinationLag struct {
	Changes int64   `db:"changes"`
	Seconds float64 `db:"seconds"`
}

// GetDestinationLag counts the wanted changes after the cursor and the age
// of the oldest of them.
func (s *Store) GetDestinationLag(ctx context.Context, d *Destination) (DestinationLag, error) {
	var lag DestinationLag
	err := s.db.GetContext(ctx, &lag, `SELECT count(*) AS changes,
			COALESCE(EXTRACT(EPOCH FROM now() - min(at)), 0)::float8 AS seconds
		FROM changes WHERE integration_id = $1 AND seq > $2 AND (COALESCE(cardinality($3::text[]), 0) = 0 OR type = ANY($3))`,
		d.IntegrationID, d.Cursor, d.Types)
	if err != nil {
		return lag, fmt.Errorf("destination lag: %w", err)
	}
	return lag, nil
}

// EnabledDestination names an enabled destination and its integration.
type EnabledDestination struct {
	ID            string `db:"id"`
	IntegrationID string `db:"integration_id"`
}

// EnabledDestinations lists every enabled destination, for the maintenance
// sweep to make sure each has its workflow.
func (s *Store) EnabledDestinations(ctx context.Context) ([]EnabledDestination, error) {
	out := []EnabledDestination{}
	if err := s.db.SelectContext(ctx, &out, `SELECT id, integration_id FROM destinations WHERE enabled ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list enabled destinations: %w", err)
	}
	return out, nil
}
