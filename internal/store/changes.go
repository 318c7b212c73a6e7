package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The change log: every write to the directory appends its entries in the
// same statement (or at least the same transaction) as the write, numbered
// per integration from the change_seqs counter. A write that changes nothing
// appends nothing. Destinations (webhooks) and the pull feed follow it by seq.

// changesChannel is the LISTEN/NOTIFY channel on which a committed change
// log append wakes the destinations and long-polls of its integration.
const changesChannel = "cventsync_changes"

// Change types.
const (
	ChangeAttendeeCreated      = "attendee.created"
	ChangeAttendeeUpdated      = "attendee.updated"
	ChangeAccessGranted        = "access.granted"
	ChangeAccessRevoked        = "access.revoked"
	ChangeGroupsChanged        = "groups.changed"
	ChangeAttendeeRemoved      = "attendee.removed"
	ChangeAgendaChanged        = "agenda.changed"
	ChangeSessionCreated       = "session.created"
	ChangeSessionUpdated       = "session.updated"
	ChangeSessionDeleted       = "session.deleted"
	ChangeSpeakerChanged       = "speaker.changed"
	ChangeParticipationWritten = "participation.written"
)

// ChangeTypes lists every change type, for validating destination filters.
var ChangeTypes = []string{ChangeAttendeeCreated, ChangeAttendeeUpdated, ChangeAccessGranted, ChangeAccessRevoked,
	ChangeGroupsChanged, ChangeAttendeeRemoved, ChangeAgendaChanged, ChangeSessionCreated, ChangeSessionUpdated,
	ChangeSessionDeleted, ChangeSpeakerChanged, ChangeParticipationWritten}

// ErrCursorExpired is returned when the entries after a cursor were pruned.
var ErrCursorExpired = errors.New("cursor expired")

// Change is one change log entry.
type Change struct {
	IntegrationID string          `db:"integration_id" json:"integrationId"`
	Seq           int64           `db:"seq" json:"seq"`
	Type          string          `db:"type" json:"type"`
	Key           string          `db:"key" json:"key"`
	At            time.Time       `db:"at" json:"at"`
	Changed       json.RawMessage `db:"changed" json:"changed"`
	Record        json.RawMessage `db:"record" json:"record"`
}

// withChangeLog completes a statement whose CTEs end with one named ch,
// with columns (integration_id, type, key, changed, record, ord): it takes
// the seqs from the integration's counter (whose row lock then serializes
// writers until commit), appends the entries in ord order and notifies. The
// statement answers one row: appended, then the extra columns.
//
// In a transaction that stages its changes (a chunk of a large delivery,
// see BeginChunk) the same statement appends the entries to staged_changes
// instead, unnumbered and without touching the counter; the chunk's commit
// numbers them all at once (flushStagedChanges).
func withChangeLog(ctes, extra string) string {
	return ctes + `,
	ch_mode AS (SELECT current_setting('` + stageChangesSetting + `', true) IS NOT DISTINCT FROM 'on' AS staged),
	ch_stage AS (
		INSERT INTO staged_changes (stmt, rn, integration_id, type, key, changed, record)
		SELECT (SELECT nextval('staged_changes_stmt')), row_number() OVER (PARTITION BY ch.integration_id ORDER BY ch.ord),
			ch.integration_id, ch.type, ch.key, ch.changed, ch.record
		FROM ch WHERE (SELECT staged FROM ch_mode)
		RETURNING 1),
	` + numberChanges(`WHERE NOT (SELECT staged FROM ch_mode)`) + `
	SELECT (SELECT count(*) FROM ch_ins) + (SELECT count(*) FROM ch_stage) AS appended,
		(SELECT count(pg_notify('` + changesChannel + `', integration_id)) FROM ch_seq) AS notified` + extra
}

// numberChanges is the CTEs ch_n, ch_seq and ch_ins that number the
// entries of ch (those passing where) from their integrations' counters and
// append them to the change log.
func numberChanges(where string) string {
	return `ch_n AS (SELECT integration_id, count(*) AS c FROM ch ` + where + ` GROUP BY integration_id),
	ch_seq AS (
		INSERT INTO change_seqs AS s (integration_id, last_seq) SELECT integration_id, c FROM ch_n
		ON CONFLICT (integration_id) DO UPDATE SET last_seq = s.last_seq + EXCLUDED.last_seq
		RETURNING s.integration_id, s.last_seq),
	ch_ins AS (
		INSERT INTO changes (integration_id, seq, type, key, changed, record)
		SELECT ch.integration_id, ch_seq.last_seq - ch_n.c + row_number() OVER (PARTITION BY ch.integration_id ORDER BY ch.ord),
			ch.type, ch.key, ch.changed, ch.record
		FROM ch JOIN ch_n USING (integration_id) JOIN ch_seq USING (integration_id)
		RETURNING 1)`
}

// stageChangesSetting is the transaction-local setting that makes
// withChangeLog's statements stage their entries.
const stageChangesSetting = "cventsync.stage_changes"

// flushStagedChangesSQL numbers the transaction's staged entries in the
// order they were staged, appends them to the change log and notifies.
var flushStagedChangesSQL = `WITH ch AS (
		DELETE FROM staged_changes WHERE xid = pg_current_xact_id()
		RETURNING integration_id, type, key, changed, record, ARRAY[stmt, rn] AS ord),
	` + numberChanges("") + `
	SELECT (SELECT count(*) FROM ch_ins) AS appended,
		(SELECT count(pg_notify('` + changesChannel + `', integration_id)) FROM ch_seq) AS notified`

// flushStagedChanges appends the entries a staging transaction staged.
// It takes the integrations' change counters: call it last, just before
// the commit.
func flushStagedChanges(ctx context.Context, tx *sqlx.Tx) error {
	_, err := tx.ExecContext(ctx, flushStagedChangesSQL)
	return wrap("append staged changes", err)
}

// changedFields is the SQL for {"field": {"old", "new"}} between two
// records (jsonb expressions); bookkeeping fields do not count as changes.
func changedFields(o, n string) string {
	return `(SELECT COALESCE(jsonb_object_agg(k, jsonb_build_object('old', (` + o + `)->k, 'new', (` + n + `)->k)), '{}'::jsonb)
		FROM jsonb_object_keys(` + n + `) AS k
		WHERE k NOT IN ('sourceTime', 'updatedAt', 'createdAt') AND (` + o + `)->k IS DISTINCT FROM (` + n + `)->k)`
}

// oldFirst, put in the WHERE of a write, makes PostgreSQL read the CTE
// "old" (the rows before the write, locked FOR UPDATE) before the write's
// first row: a CTE is read lazily, and FOR UPDATE skips rows the same
// statement has already modified, which would make an update look like an
// insert.
const oldFirst = `(SELECT count(*) FROM old) >= 0`

// lockChangeLog takes the integration's change counter before any
// directory row. Every writer of the directory does so first (the chunks
// of a large delivery aside, see chunks.go), so writers of one integration
// queue on this one row instead of deadlocking on each other's rows (a
// batch of small deliveries and a contact update lock the same attendees
// in different orders). Re-taking it in the same transaction costs one
// round trip and writes nothing. The mode, NO KEY UPDATE, is the one
// numbering entries takes too: it excludes other writers but not the KEY
// SHARE that chunks in flight hold.
func lockChangeLog(ctx context.Context, q sqlx.ExecerContext, integrationID string) error {
	return lockChangeLogIn(ctx, q, integrationID, "NO KEY UPDATE")
}

// lockChangeLogExclusive is lockChangeLog that also waits for the chunks
// in flight to commit, and keeps new ones from beginning until it ends.
func lockChangeLogExclusive(ctx context.Context, q sqlx.ExecerContext, integrationID string) error {
	return lockChangeLogIn(ctx, q, integrationID, "UPDATE")
}

func lockChangeLogIn(ctx context.Context, q sqlx.ExecerContext, integrationID, mode string) error {
	_, err := q.ExecContext(ctx, `WITH ins AS (INSERT INTO change_seqs (integration_id) VALUES ($1) ON CONFLICT DO NOTHING)
		SELECT 1 FROM change_seqs WHERE integration_id = $1 FOR `+mode, integrationID)
	return wrap("lock change log", err)
}

// lockChangeLog is lockChangeLog for the integration of a Tx write. A
// transaction that stages its changes takes the counter only to flush them.
func (t *Tx) lockChangeLog(ctx context.Context, integrationID string) error {
	if integrationID == "" || integrationID == t.changeLogLocked || t.staged {
		return nil
	}
	return lockChangeLog(ctx, t.tx, integrationID)
}

// lockChangeLogsOf locks the change counter of every integration that
// rows belong to, once each, in the order met.
func lockChangeLogsOf[T any](ctx context.Context, t *Tx, rows []T, integrationOf func(*T) string) error {
	locked := map[string]bool{}
	for i := range rows {
		if id := integrationOf(&rows[i]); !locked[id] {
			if err := t.lockChangeLog(ctx, id); err != nil {
				return err
			}
			locked[id] = true
		}
	}
	return nil
}

// tuple renders "(p.a, p.b, ...)" for a row comparison.
func tuple(prefix string, cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = prefix + c
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// ChangeHead is where an integration's change log stands.
type ChangeHead struct {
	LastSeq       int64 `db:"last_seq"`
	PrunedThrough int64 `db:"pruned_through"`
}

// GetChangeHead reads the last committed seq and the pruning mark.
func (s *Store) GetChangeHead(ctx context.Context, integrationID string) (ChangeHead, error) {
	var h ChangeHead
	err := s.db.GetContext(ctx, &h, `SELECT last_seq, pruned_through FROM change_seqs WHERE integration_id = $1`, integrationID)
	if errors.Is(err, sql.ErrNoRows) {
		return ChangeHead{}, nil
	}
	if err != nil {
		return h, fmt.Errorf("read change head: %w", err)
	}
	return h, nil
}

// ReadChanges lists up to limit entries after seq after, of the given types
// (all when empty), in seq order. ErrCursorExpired when entries after it
// were pruned.
func (s *Store) ReadChanges(ctx context.Context, integrationID string, after int64, limit int, types []string) ([]Change, error) {
	_, out, err := s.ReadChangesAndHead(ctx, integrationID, after, limit, types)
	return out, err
}

// ReadChangesAndHead is ReadChanges that also answers the head it read
// first: every entry up to the head's LastSeq was visible to the read, so
// a reader that got fewer than limit entries may move its cursor to the
// head past entries it does not want.
func (s *Store) ReadChangesAndHead(ctx context.Context, integrationID string, after int64, limit int, types []string) (ChangeHead, []Change, error) {
	h, err := s.GetChangeHead(ctx, integrationID)
	if err != nil {
		return h, nil, err
	}
	if after < h.PrunedThrough {
		return h, nil, ErrCursorExpired
	}
	out := []Change{}
	err = s.db.SelectContext(ctx, &out, `SELECT integration_id, seq, type, key, at, changed, record FROM changes
		WHERE integration_id = $1 AND seq > $2 AND (COALESCE(cardinality($4::text[]), 0) = 0 OR type = ANY($4))
		ORDER BY seq LIMIT $3`, integrationID, after, limit, pq.StringArray(types))
	if err != nil {
		return h, nil, fmt.Errorf("read changes: %w", err)
	}
	return h, out, nil
}

// NotifyChanges wakes the integration's destinations and long-polls.
func (s *Store) NotifyChanges(ctx context.Context, integrationID string) error {
	_, err := s.db.ExecContext(ctx, `SELECT pg_notify('`+changesChannel+`', $1)`, integrationID)
	return wrap("notify changes", err)
}

// PruneChanges deletes entries older than before, at most batch per
// statement so that no statement holds many locks or runs long, and records
// per integration how far it pruned (cursors below expire). It returns how
// many entries it deleted.
func (s *Store) PruneChanges(ctx context.Context, before time.Time, batch int) (int64, error) {
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, `SELECT integration_id FROM change_seqs ORDER BY integration_id`); err != nil {
		return 0, fmt.Errorf("prune changes: %w", err)
	}
	var total int64
	for _, id := range ids {
		// Prune by seq up to the newest old entry, so the mark is exact even
		// where commit order and timestamps disagree by a little.
		var through sql.NullInt64
		if err := s.db.GetContext(ctx, &through, `SELECT max(seq) FROM changes WHERE integration_id = $1 AND at < $2`,
			id, before); err != nil {
			return total, fmt.Errorf("prune changes of %s: %w", id, err)
		}
		if !through.Valid {
			continue
		}
		for {
			var n int64
			err := s.db.GetContext(ctx, &n, `WITH d AS (
					DELETE FROM changes WHERE integration_id = $1 AND seq IN (
						SELECT seq FROM changes WHERE integration_id = $1 AND seq <= $2 ORDER BY seq LIMIT $3)
					RETURNING seq),
				m AS (UPDATE change_seqs SET pruned_through = GREATEST(pruned_through, (SELECT max(seq) FROM d))
					WHERE integration_id = $1 AND EXISTS (SELECT 1 FROM d))
				SELECT count(*) FROM d`, id, through.Int64, batch)
			if err != nil {
				return total, fmt.Errorf("prune changes of %s: %w", id, err)
			}
			total += n
			if n < int64(batch) {
				break
			}
		}
	}
	return total, nil
}
