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

// sessionRecord is the SQL for a session row's change log record.
func sessionRecord(x string) string {
	return `jsonb_build_object('sessionId', ` + x + `.session_id, 'name', ` + x + `.name, 'code', ` + x + `.code,
		'description', ` + x + `.description, 'startsAt', ` + x + `.starts_at, 'endsAt', ` + x + `.ends_at,
		'timezone', ` + x + `.timezone, 'deleted', ` + x + `.deleted, 'speakerIds', to_jsonb(` + x + `.speaker_ids),
		'sourceTime', ` + x + `.source_time, 'updatedAt', ` + x + `.updated_at)`
}

// sessionChanges turns a CTE "cur" of written session rows with the old
// record as old_record (NULL when inserted) into the ch CTE. A tombstone
// for a session never seen is no change to anyone.
func sessionChanges() string {
	changed := changedFields("o", "n")
	return `diff AS (SELECT cur.integration_id, cur.session_id, cur.old_record AS o, ` + sessionRecord("cur") + ` AS n FROM cur),
	ch AS (SELECT integration_id,
			CASE WHEN (n->>'deleted')::boolean THEN '` + ChangeSessionDeleted + `'
				WHEN o IS NULL OR (o->>'deleted')::boolean THEN '` + ChangeSessionCreated + `'
				ELSE '` + ChangeSessionUpdated + `' END AS type,
			'session:' || session_id AS key,
			CASE WHEN o IS NULL THEN '{}'::jsonb ELSE ` + changed + ` END AS changed, n AS record, session_id AS ord
		FROM diff
		WHERE CASE WHEN o IS NULL THEN NOT (n->>'deleted')::boolean ELSE ` + changed + ` <> '{}'::jsonb END)`
}

// UpsertSessions writes sessions; like attendees, older data never wins,
// identical data is not rewritten, and each change is logged.
// Deleted sessions are written as tombstones so a late "updated" cannot revive them.
// It returns how many sessions were not stale.
func (t *Tx) UpsertSessions(ctx context.Context, sessions []directory.Session) (int, error) {
	// A tombstone keeps the last live data; only its deleted flag is news.
	distinct := `(EXCLUDED.deleted IS DISTINCT FROM sessions.deleted OR (NOT EXCLUDED.deleted AND
		(sessions.name, sessions.code, sessions.description, sessions.starts_at, sessions.ends_at, sessions.timezone)
		IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.code, EXCLUDED.description, EXCLUDED.starts_at, EXCLUDED.ends_at, EXCLUDED.timezone)))`
	q := withChangeLog(`
		WITH old AS (SELECT s.source_time, `+sessionRecord("s")+` AS old_record FROM sessions s
			WHERE s.integration_id = $1 AND s.session_id = $2 FOR UPDATE),
		up AS (
			INSERT INTO sessions (integration_id, session_id, name, code, description, starts_at, ends_at, timezone, deleted, source_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (integration_id, session_id) DO UPDATE SET
				name = CASE WHEN EXCLUDED.deleted THEN sessions.name ELSE EXCLUDED.name END,
				code = CASE WHEN EXCLUDED.deleted THEN sessions.code ELSE EXCLUDED.code END,
				description = CASE WHEN EXCLUDED.deleted THEN sessions.description ELSE EXCLUDED.description END,
				starts_at = CASE WHEN EXCLUDED.deleted THEN sessions.starts_at ELSE EXCLUDED.starts_at END,
				ends_at = CASE WHEN EXCLUDED.deleted THEN sessions.ends_at ELSE EXCLUDED.ends_at END,
				timezone = CASE WHEN EXCLUDED.deleted THEN sessions.timezone ELSE EXCLUDED.timezone END,
				deleted = EXCLUDED.deleted, source_time = EXCLUDED.source_time,
				updated_at = CASE WHEN `+distinct+` THEN now() ELSE sessions.updated_at END
			WHERE sessions.source_time <= EXCLUDED.source_time
				AND (sessions.source_time < EXCLUDED.source_time OR `+distinct+`)
				AND `+oldFirst+`
			RETURNING sessions.*),
		cur AS (SELECT up.*, (SELECT old_record FROM old) AS old_record FROM up),
		`+sessionChanges(), `, (SELECT count(*) FROM old WHERE old.source_time > $10) AS stale`)
	written := 0
	for _, s := range sessions {
		if err := t.lockChangeLog(ctx, s.IntegrationID); err != nil {
			return written, err
		}
		var res struct {
			Appended int64 `db:"appended"`
			Notified int64 `db:"notified"`
			Stale    int   `db:"stale"`
		}
		err := t.tx.GetContext(ctx, &res, q, s.IntegrationID, s.SessionID, s.Name, s.Code, s.Description,
			nullTime(s.StartsAt), nullTime(s.EndsAt), s.Timezone, s.Deleted, s.SourceTime)
		if err != nil {
			return written, fmt.Errorf("upsert session %s: %w", s.SessionID, err)
		}
		written += 1 - res.Stale
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
