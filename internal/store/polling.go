package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Watermark returns the lastModified time polling has read up to (zero: never polled).
func (s *Store) Watermark(ctx context.Context, integrationID string) (time.Time, error) {
	var w sql.NullTime
	err := s.db.GetContext(ctx, &w, `SELECT watermark FROM poll_state WHERE integration_id = $1`, integrationID)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read watermark: %w", err)
	}
	return w.Time, nil
}

// RecordPoll stores the outcome of a poll; the watermark only moves forward.
func (s *Store) RecordPoll(ctx context.Context, integrationID string, watermark time.Time, fetched int, pollErr string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO poll_state (integration_id, watermark, last_run_at, last_error, fetched_total)
		VALUES ($1, $2, now(), $3, $4)
		ON CONFLICT (integration_id) DO UPDATE SET
			watermark = GREATEST(poll_state.watermark, EXCLUDED.watermark), last_run_at = now(),
			last_error = EXCLUDED.last_error, fetched_total = poll_state.fetched_total + EXCLUDED.fetched_total`,
		integrationID, nullTime(watermark), CleanText(pollErr, 1024), fetched)
	if err != nil {
		return fmt.Errorf("record poll: %w", err)
	}
	return nil
}

// Resync is a full re-sync's progress.
type Resync struct {
	ID            int64        `db:"id" json:"id"`
	IntegrationID string       `db:"integration_id" json:"integrationId"`
	Status        string       `db:"status" json:"status"`
	Total         int          `db:"total" json:"total"`
	Done          int          `db:"done" json:"done"`
	Written       int          `db:"written" json:"written"`
	Error         string       `db:"error" json:"error,omitempty"`
	WorkflowID    string       `db:"workflow_id" json:"workflowId"`
	StartedAt     time.Time    `db:"started_at" json:"startedAt"`
	FinishedAt    sql.NullTime `db:"finished_at" json:"-"`
}

// CreateResync records a new re-sync.
func (s *Store) CreateResync(ctx context.Context, integrationID string) (*Resync, error) {
	var r Resync
	err := s.db.GetContext(ctx, &r, `INSERT INTO resyncs (integration_id) VALUES ($1) RETURNING *`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("create resync: %w", err)
	}
	return &r, nil
}

// SetResyncWorkflow records the workflow running a re-sync.
func (s *Store) SetResyncWorkflow(ctx context.Context, id int64, workflowID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE resyncs SET workflow_id = $2 WHERE id = $1`, id, workflowID)
	return wrap("set resync workflow", err)
}

// ResyncProgress records a re-sync's totals so far (absolute, so a retried
// page cannot count twice).
func (s *Store) ResyncProgress(ctx context.Context, id int64, total, done, written int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE resyncs SET total = $2, done = $3, written = $4 WHERE id = $1`, id, total, done, written)
	return wrap("resync progress", err)
}

// FinishResync ends a re-sync.
func (s *Store) FinishResync(ctx context.Context, id int64, status, errText string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE resyncs SET status = $2, error = $3, finished_at = now() WHERE id = $1`, id, status, errText)
	return wrap("finish resync", err)
}

// GetResync loads a re-sync.
func (s *Store) GetResync(ctx context.Context, id int64) (*Resync, error) {
	var r Resync
	err := s.db.GetContext(ctx, &r, `SELECT * FROM resyncs WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get resync: %w", err)
	}
	return &r, nil
}
