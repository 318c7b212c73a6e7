package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cventsync/cventsync/internal/directory"
)

type sessionRow struct {
	IntegrationID string       `db:"integration_id"`
	SessionID     string       `db:"session_id"`
	Name          string       `db:"name"`
	Code          string       `db:"code"`
	Description   string       `db:"description"`
	StartsAt      sql.NullTime `db:"starts_at"`
	EndsAt        sql.NullTime `db:"ends_at"`
	Timezone      string       `db:"timezone"`
	Deleted       bool         `db:"deleted"`
	SourceTime    time.Time    `db:"source_time"`
	UpdatedAt     time.Time    `db:"updated_at"`
}

// UpsertSessions writes sessions; like attendees, older data never wins.
// Deleted sessions are written as tombstones so a late "updated" cannot revive them.
func (t *Tx) UpsertSessions(ctx context.Context, sessions []directory.Session) (int, error) {
	written := 0
	for _, s := range sessions {
		res, err := t.tx.ExecContext(ctx, `
			INSERT INTO sessions (integration_id, session_id, name, code, description, starts_at, ends_at, timezone, deleted, source_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (integration_id, session_id) DO UPDATE SET
				name = CASE WHEN EXCLUDED.deleted THEN sessions.name ELSE EXCLUDED.name END,
				code = CASE WHEN EXCLUDED.deleted THEN sessions.code ELSE EXCLUDED.code END,
				description = CASE WHEN EXCLUDED.deleted THEN sessions.description ELSE EXCLUDED.description END,
				starts_at = CASE WHEN EXCLUDED.deleted THEN sessions.starts_at ELSE EXCLUDED.starts_at END,
				ends_at = CASE WHEN EXCLUDED.deleted THEN sessions.ends_at ELSE EXCLUDED.ends_at END,
				timezone = CASE WHEN EXCLUDED.deleted THEN sessions.timezone ELSE EXCLUDED.timezone END,
				deleted = EXCLUDED.deleted, source_time = EXCLUDED.source_time, updated_at = now()
			WHERE sessions.source_time <= EXCLUDED.source_time`,
			s.IntegrationID, s.SessionID, s.Name, s.Code, s.Description, nullTime(s.StartsAt), nullTime(s.EndsAt),
			s.Timezone, s.Deleted, s.SourceTime)
		if err != nil {
			return written, fmt.Errorf("upsert session %s: %w", s.SessionID, err)
		}
		n, _ := res.RowsAffected()
		written += int(n)
	}
	return written, nil
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

// ListSessions lists an integration's sessions that are not deleted, by start time.
func (s *Store) ListSessions(ctx context.Context, integrationID string, includeDeleted bool) ([]directory.Session, error) {
	var rows []sessionRow
	err := s.db.SelectContext(ctx, &rows, `SELECT integration_id, session_id, name, code, description, starts_at, ends_at,
		timezone, deleted, source_time, updated_at FROM sessions
		WHERE integration_id = $1 AND ($2 OR NOT deleted) ORDER BY starts_at NULLS LAST, session_id`, integrationID, includeDeleted)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out := make([]directory.Session, len(rows))
	for i, r := range rows {
		out[i] = directory.Session{IntegrationID: r.IntegrationID, SessionID: r.SessionID, Name: r.Name, Code: r.Code,
			Description: r.Description, StartsAt: r.StartsAt.Time, EndsAt: r.EndsAt.Time, Timezone: r.Timezone,
			Deleted: r.Deleted, SourceTime: r.SourceTime, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}
