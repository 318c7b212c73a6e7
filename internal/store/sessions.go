package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"

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

// sessionChanges turns a CTE "cur" of written session rows, with the old
// record as old_record (NULL when inserted) and ord, the order of its
// entries in the log, into the ch CTE. A tombstone for a session never seen
// is no change to anyone.
func sessionChanges() string {
	changed := changedFields("o", "n")
	// MATERIALIZED for the reason given at attendeeDiffCTE.
	return `diff AS MATERIALIZED (SELECT cur.integration_id, cur.session_id, cur.ord, cur.old_record AS o, ` + sessionRecord("cur") + ` AS n FROM cur),
	delta AS MATERIALIZED (SELECT diff.*, CASE WHEN o IS NULL THEN '{}'::jsonb ELSE ` + changed + ` END AS changed FROM diff),
	ch AS (SELECT integration_id,
			CASE WHEN (n->>'deleted')::boolean THEN '` + ChangeSessionDeleted + `'
				WHEN o IS NULL OR (o->>'deleted')::boolean THEN '` + ChangeSessionCreated + `'
				ELSE '` + ChangeSessionUpdated + `' END AS type,
			'session:' || session_id AS key, changed, n AS record, ord
		FROM delta
		WHERE CASE WHEN o IS NULL THEN NOT (n->>'deleted')::boolean ELSE changed <> '{}'::jsonb END)`
}

// UpsertSessions writes sessions, with the speakers each lists, in one
// statement: a manual sync brings thousands. Like attendees, older data
// never wins and identical data is not rewritten, so applying the same
// sessions again changes nothing; each change is logged once, its record
// with the speakers. A session without SpeakerIDs (nil) keeps the stored
// speakers. Deleted sessions are written as tombstones that keep their last
// data, so a late "updated" cannot revive them. A session repeated in the
// batch counts once, its newest item (the last of equals) winning. It
// returns how many sessions were not stale.
func (t *Tx) UpsertSessions(ctx context.Context, sessions []directory.Session) (int, error) {
	if len(sessions) == 0 {
		return 0, nil
	}
	batch, older := latestOf(sessions, func(s *directory.Session) (string, string, time.Time) {
		return s.IntegrationID, s.SessionID, s.SourceTime
	})
	n := len(batch)
	integ, id, name, code, desc := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	starts, ends, tz, speakers, source := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deleted := make([]bool, n)
	if err := lockChangeLogsOf(ctx, t, batch, func(x *directory.Session) string { return x.IntegrationID }); err != nil {
		return 0, err
	}
	for i, s := range batch {
		integ[i], id[i], name[i], code[i], desc[i] = s.IntegrationID, s.SessionID, s.Name, s.Code, s.Description
		starts[i], ends[i], tz[i] = timeText(s.StartsAt), timeText(s.EndsAt), s.Timezone
		if s.SpeakerIDs != nil {
			speakers[i] = jsonOr(s.SpeakerIDs, "[]")
		}
		deleted[i], source[i] = s.Deleted, s.SourceTime.UTC().Format(time.RFC3339Nano)
	}
	// A tombstone keeps the last live data; only its deleted flag is news.
	distinct := `(EXCLUDED.deleted IS DISTINCT FROM sessions.deleted OR (NOT EXCLUDED.deleted AND
		(sessions.name, sessions.code, sessions.description, sessions.starts_at, sessions.ends_at, sessions.timezone, sessions.speaker_ids)
		IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.code, EXCLUDED.description, EXCLUDED.starts_at, EXCLUDED.ends_at, EXCLUDED.timezone, EXCLUDED.speaker_ids)))`
	keep := func(col string) string {
		return col + ` = CASE WHEN EXCLUDED.deleted THEN sessions.` + col + ` ELSE EXCLUDED.` + col + ` END`
	}
	// Speakers not given are the stored ones (read from old, locked).
	q := withChangeLog(`
		WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::bool[], $11::text[]) WITH ORDINALITY
				AS u(integ, id, name, code, description, starts, ends, timezone, speakers, deleted, source, ord)),
		old AS (
			SELECT s.integration_id, s.session_id, s.source_time, s.speaker_ids, `+sessionRecord("s")+` AS old_record FROM sessions s
			JOIN u ON s.integration_id = u.integ AND s.session_id = u.id FOR UPDATE OF s),
		up AS (
			INSERT INTO sessions AS sessions (integration_id, session_id, name, code, description, starts_at, ends_at, timezone,
				speaker_ids, deleted, source_time)
			SELECT u.integ, u.id, u.name, u.code, u.description, NULLIF(u.starts, '')::timestamptz, NULLIF(u.ends, '')::timestamptz,
				u.timezone, CASE WHEN u.speakers = '' THEN COALESCE(old.speaker_ids, '{}')
					ELSE ARRAY(SELECT jsonb_array_elements_text(u.speakers::jsonb)) END,
				u.deleted, u.source::timestamptz
			FROM u LEFT JOIN old ON old.integration_id = u.integ AND old.session_id = u.id
			ON CONFLICT (integration_id, session_id) DO UPDATE SET
				`+keep("name")+`, `+keep("code")+`, `+keep("description")+`,
				`+keep("starts_at")+`, `+keep("ends_at")+`, `+keep("timezone")+`, `+keep("speaker_ids")+`,
				deleted = EXCLUDED.deleted, source_time = EXCLUDED.source_time,
				updated_at = CASE WHEN `+distinct+` THEN now() ELSE sessions.updated_at END
			WHERE sessions.source_time <= EXCLUDED.source_time
				AND (sessions.source_time < EXCLUDED.source_time OR `+distinct+`)
				AND `+oldFirst+`
			RETURNING sessions.*),
		cur AS (SELECT up.*, old.old_record, u.ord FROM up
			JOIN u ON u.integ = up.integration_id AND u.id = up.session_id
			LEFT JOIN old ON old.integration_id = up.integration_id AND old.session_id = up.session_id),
		`+sessionChanges(), `,
		(SELECT count(*) FROM u JOIN old ON old.integration_id = u.integ AND old.session_id = u.id
			WHERE old.source_time > u.source::timestamptz) AS stale`)
	var res struct {
		Appended int64 `db:"appended"`
		Notified int64 `db:"notified"`
		Stale    int   `db:"stale"`
	}
	err := t.tx.GetContext(ctx, &res, q, pq.StringArray(integ), pq.StringArray(id), pq.StringArray(name), pq.StringArray(code),
		pq.StringArray(desc), pq.StringArray(starts), pq.StringArray(ends), pq.StringArray(tz), pq.StringArray(speakers),
		pq.BoolArray(deleted), pq.StringArray(source))
	if err != nil {
		return 0, fmt.Errorf("upsert %d sessions: %w", n, err)
	}
	return len(sessions) - older - res.Stale, nil
}

// latestOf keeps one item per record (integration and id), the newest
// (the last of equals), in the order of first appearance: one statement
// cannot write a row twice. It also counts the items dropped for a newer one.
func latestOf[T any](items []T, key func(*T) (integrationID, id string, at time.Time)) (batch []T, older int) {
	type ref struct{ integ, id string }
	index := make(map[ref]int, len(items))
	batch = make([]T, 0, len(items))
	for i := range items {
		integ, id, at := key(&items[i])
		k := ref{integ, id}
		j, seen := index[k]
		if !seen {
			index[k] = len(batch)
			batch = append(batch, items[i])
			continue
		}
		_, _, kept := key(&batch[j])
		if at.Before(kept) {
			older++
			continue
		}
		if kept.Before(at) {
			older++
		}
		batch[j] = items[i]
	}
	return batch, older
}

// timeText is t for an unnest of text, "" (NULL) for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
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
