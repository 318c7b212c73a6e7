package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/participation"
)

// Participation write-back statuses.
const (
	ParticipationPending = "pending" // accumulating, or due and waiting for write-back
	ParticipationSending = "sending" // claimed by a write-back whose outcome is not recorded yet
	ParticipationWritten = "written" // Cvent confirmed the check-in
	ParticipationFailed  = "failed"  // Cvent refused it for good
)

// Participation is one attendee's participation state.
type Participation struct {
	IntegrationID  string         `db:"integration_id"`
	InviteeID      string         `db:"invitee_id"`
	FirstLoginAt   sql.NullTime   `db:"first_login_at"`
	LastSeenAt     sql.NullTime   `db:"last_seen_at"`
	WatchedSeconds int            `db:"watched_seconds"`
	DueAt          sql.NullTime   `db:"due_at"`
	Status         string         `db:"status"`
	BatchID        string         `db:"batch_id"`
	Attempts       int            `db:"attempts"`
	WrittenAt      sql.NullTime   `db:"written_at"`
	LastError      string         `db:"last_error"`
	UpdatedAt      time.Time      `db:"updated_at"`
	SessionID      sql.NullString `db:"session_id"` // set for session participation rows only
}

const participationColumns = `integration_id, invitee_id, first_login_at, last_seen_at, watched_seconds, due_at,
	status, batch_id, attempts, written_at, last_error, updated_at`

// ResolveAttendees maps invitee ids and emails (lower-cased) to invitee ids
// of the integration's attendees.
func (s *Store) ResolveAttendees(ctx context.Context, integrationID string, inviteeIDs, emails []string) (byID, byEmail map[string]string, err error) {
	rows, err := s.db.QueryxContext(ctx, `SELECT invitee_id, lower(email) FROM attendees
		WHERE integration_id = $1 AND (invitee_id = ANY($2) OR lower(email) = ANY($3))`,
		integrationID, pq.StringArray(inviteeIDs), pq.StringArray(emails))
	if err != nil {
		return nil, nil, fmt.Errorf("resolve attendees: %w", err)
	}
	defer rows.Close()
	byID, byEmail = map[string]string{}, map[string]string{}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, nil, fmt.Errorf("resolve attendees: %w", err)
		}
		byID[id] = id
		if email != "" {
			byEmail[email] = id
		}
	}
	return byID, byEmail, rows.Err()
}

// ActivityOutcome says what recording a batch of activity changed.
type ActivityOutcome struct {
	// DueNow counts attendees whose check-in is due and not yet written.
	DueNow int
	// NextDue is the earliest future due time among those recorded, if any.
	NextDue time.Time
}

// RecordActivity folds platform events into each attendee's participation
// state under a row lock, applying cfg's criterion, in one transaction.
func (s *Store) RecordActivity(ctx context.Context, integrationID string, cfg *participation.Config, events []participation.Event, now time.Time) (ActivityOutcome, error) {
	var out ActivityOutcome
	ids := map[string]bool{}
	sessionWatch := map[[2]string]int{}
	for _, e := range events {
		ids[e.InviteeID] = true
		if e.Type == participation.Watch && e.SessionID != "" {
			sessionWatch[[2]string{e.InviteeID, e.SessionID}] += e.Seconds
		}
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var current []Participation
		if err := tx.SelectContext(ctx, &current, `SELECT `+participationColumns+` FROM participation
			WHERE integration_id = $1 AND invitee_id = ANY($2) FOR UPDATE`, integrationID, pq.StringArray(list)); err != nil {
			return fmt.Errorf("lock participation: %w", err)
		}
		state := map[string]participation.State{}
		written := map[string]bool{}
		for _, p := range current {
			state[p.InviteeID] = participation.State{FirstLoginAt: p.FirstLoginAt.Time, LastSeenAt: p.LastSeenAt.Time,
				WatchedSeconds: p.WatchedSeconds, DueAt: p.DueAt.Time}
			written[p.InviteeID] = p.Status != ParticipationPending
		}
		for _, e := range events {
			state[e.InviteeID] = cfg.Apply(state[e.InviteeID], e)
		}
		n := len(state)
		inv, first, last, due := make([]string, 0, n), make([]sql.NullTime, 0, n), make([]sql.NullTime, 0, n), make([]sql.NullTime, 0, n)
		watched := make([]int64, 0, n)
		for id, st := range state {
			inv = append(inv, id)
			first = append(first, nullTime(st.FirstLoginAt))
			last = append(last, nullTime(st.LastSeenAt))
			due = append(due, nullTime(st.DueAt))
			watched = append(watched, int64(st.WatchedSeconds))
			if written[id] || st.DueAt.IsZero() {
				continue
			}
			if !st.DueAt.After(now) {
				out.DueNow++
			} else if out.NextDue.IsZero() || st.DueAt.Before(out.NextDue) {
				out.NextDue = st.DueAt
			}
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO participation (integration_id, invitee_id, first_login_at, last_seen_at, watched_seconds, due_at, updated_at)
			SELECT $1, u.invitee, u.first, u.last, u.watched, u.due, now()
			FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::timestamptz[])
				AS u(invitee, first, last, watched, due)
			ON CONFLICT (integration_id, invitee_id) DO UPDATE SET
				first_login_at = EXCLUDED.first_login_at, last_seen_at = EXCLUDED.last_seen_at,
				watched_seconds = EXCLUDED.watched_seconds,
				-- once written or in flight, the due time is history
				due_at = CASE WHEN participation.status = 'pending' THEN EXCLUDED.due_at ELSE participation.due_at END,
				updated_at = now()`,
			integrationID, pq.StringArray(inv), pq.GenericArray{A: first}, pq.GenericArray{A: last},
			pq.Int64Array(watched), pq.GenericArray{A: due})
		if err != nil {
			return fmt.Errorf("record participation: %w", err)
		}
		for key, secs := range sessionWatch {
			var due bool
			err := tx.QueryRowxContext(ctx, `
				INSERT INTO session_participation AS sp (integration_id, invitee_id, session_id, watched_seconds, due_at)
				VALUES ($1, $2, $3, $4, CASE WHEN $6 > 0 AND $4 >= $6 THEN $5::timestamptz END)
				ON CONFLICT (integration_id, invitee_id, session_id) DO UPDATE SET
					watched_seconds = sp.watched_seconds + $4,
					due_at = CASE WHEN sp.due_at IS NOT NULL THEN sp.due_at
						WHEN $6 > 0 AND sp.watched_seconds + $4 >= $6 THEN $5::timestamptz END,
					updated_at = now()
				RETURNING sp.due_at IS NOT NULL AND sp.status = 'pending'`,
				integrationID, key[0], key[1], secs, now, cfg.SessionMinutes*60).Scan(&due)
			if err != nil {
				return fmt.Errorf("record session participation: %w", err)
			}
			if due {
				out.DueNow++
			}
		}
		return nil
	})
	return out, err
}

// ClaimDue marks up to limit due, pending attendees as being sent in batch
// batchID and returns them. Claiming before calling Cvent is what lets a
// retried write-back know which attendees may already have reached Cvent.
func (s *Store) ClaimDue(ctx context.Context, integrationID, batchID string, now time.Time, limit int) ([]Participation, error) {
	var out []Participation
	err := s.db.SelectContext(ctx, &out, `
		UPDATE participation SET status = 'sending', batch_id = $2, attempts = attempts + 1, updated_at = now()
		WHERE (integration_id, invitee_id) IN (
			SELECT integration_id, invitee_id FROM participation
			WHERE integration_id = $1 AND status = 'pending' AND due_at <= $3
			ORDER BY due_at, invitee_id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+participationColumns, integrationID, batchID, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due participation: %w", err)
	}
	return out, nil
}

// InFlight returns attendees claimed by a write-back whose outcome was never
// recorded (the worker died mid-call).
func (s *Store) InFlight(ctx context.Context, integrationID string, limit int) ([]Participation, error) {
	var out []Participation
	err := s.db.SelectContext(ctx, &out, `SELECT `+participationColumns+` FROM participation
		WHERE integration_id = $1 AND status = 'sending' ORDER BY invitee_id LIMIT $2`, integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list in-flight participation: %w", err)
	}
	return out, nil
}

// WriteOutcome is Cvent's answer for one attendee.
type WriteOutcome struct {
	InviteeID string
	// Status is ParticipationWritten, ParticipationFailed, or
	// ParticipationPending to send again later.
	Status string
	Error  string
}

// RecordWriteOutcomes stores Cvent's per-attendee answers.
func (s *Store) RecordWriteOutcomes(ctx context.Context, integrationID string, outcomes []WriteOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	ids, statuses, errs := make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], errs[i] = o.InviteeID, o.Status, o.Error
	}
	// A check-in that becomes written is news for the platform: it is logged
	// as participation.written in the same statement, once (an attendee
	// already written is not logged again).
	q := withChangeLog(`
		WITH u AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS u(invitee, status, err)),
		old AS (SELECT p.invitee_id, p.status FROM participation p JOIN u ON p.integration_id = $1 AND p.invitee_id = u.invitee
			FOR UPDATE OF p),
		up AS (UPDATE participation p SET status = u.status, last_error = u.err, updated_at = now(),
			written_at = CASE WHEN u.status = 'written' THEN now() ELSE p.written_at END,
			batch_id = CASE WHEN u.status = 'pending' THEN '' ELSE p.batch_id END
		FROM u
		WHERE p.integration_id = $1 AND p.invitee_id = u.invitee AND `+oldFirst+`
		RETURNING p.*),
		ch AS (SELECT up.integration_id, '`+ChangeParticipationWritten+`' AS type, 'participation:' || up.invitee_id AS key,
			'{}'::jsonb AS changed,
			jsonb_build_object('inviteeId', up.invitee_id, 'status', up.status, 'writtenAt', up.written_at,
				'firstLoginAt', up.first_login_at, 'watchedSeconds', up.watched_seconds) AS record,
			up.invitee_id AS ord
			FROM up JOIN old ON old.invitee_id = up.invitee_id
			WHERE up.status = 'written' AND old.status <> 'written')`, "")
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockChangeLog(ctx, tx, integrationID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, q, integrationID, pq.StringArray(ids), pq.StringArray(statuses), pq.StringArray(errs))
		return err
	})
	if err != nil {
		return fmt.Errorf("record write-back outcomes: %w", err)
	}
	return nil
}

// ParticipationSummary tells a write-back what is left to do.
type ParticipationSummary struct {
	DueNow    int
	OldestDue time.Time // of those due now
	NextDue   time.Time // earliest future due time
}

// SummarizeParticipation counts pending attendees due by now and finds the
// next future due time.
func (s *Store) SummarizeParticipation(ctx context.Context, integrationID string, now time.Time) (ParticipationSummary, error) {
	var out struct {
		DueNow    int          `db:"due_now"`
		OldestDue sql.NullTime `db:"oldest_due"`
		NextDue   sql.NullTime `db:"next_due"`
	}
	err := s.db.GetContext(ctx, &out, `SELECT count(*) FILTER (WHERE due_at <= $2) AS due_now,
		min(due_at) FILTER (WHERE due_at <= $2) AS oldest_due,
		min(due_at) FILTER (WHERE due_at > $2) AS next_due
		FROM participation WHERE integration_id = $1 AND status = 'pending' AND due_at IS NOT NULL`, integrationID, now)
	if err != nil {
		return ParticipationSummary{}, fmt.Errorf("summarize participation: %w", err)
	}
	return ParticipationSummary{DueNow: out.DueNow, OldestDue: out.OldestDue.Time, NextDue: out.NextDue.Time}, nil
}

// GetParticipation loads the participation of the given attendees.
func (s *Store) GetParticipation(ctx context.Context, integrationID string, inviteeIDs []string) (map[string]Participation, error) {
	var rows []Participation
	err := s.db.SelectContext(ctx, &rows, `SELECT `+participationColumns+` FROM participation
		WHERE integration_id = $1 AND invitee_id = ANY($2)`, integrationID, pq.StringArray(lower(inviteeIDs)))
	if err != nil {
		return nil, fmt.Errorf("get participation: %w", err)
	}
	out := make(map[string]Participation, len(rows))
	for _, r := range rows {
		out[r.InviteeID] = r
	}
	return out, nil
}

func lower(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.ToLower(id)
	}
	return out
}

// IntegrationsWithDueParticipation lists integrations with check-ins due by
// now that are not written yet.
func (s *Store) IntegrationsWithDueParticipation(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, `SELECT DISTINCT integration_id FROM participation
		WHERE status IN ('pending', 'sending') AND due_at <= $1`, now)
	if err != nil {
		return nil, fmt.Errorf("integrations with due participation: %w", err)
	}
	return ids, nil
}

// SessionCheckIn is one attendee due for check-in to one session.
type SessionCheckIn struct {
	InviteeID string       `db:"invitee_id"`
	SessionID string       `db:"session_id"`
	DueAt     sql.NullTime `db:"due_at"`
}

// ClaimDueSessions claims up to limit due session check-ins of one session
// (the one with the oldest due attendee), as ClaimDue does for the event.
// Claims left by a crashed run are included: a session check-in repeated
// after a crash sets the same state again in Cvent.
func (s *Store) ClaimDueSessions(ctx context.Context, integrationID, batchID string, now time.Time, limit int) ([]SessionCheckIn, error) {
	var out []SessionCheckIn
	err := s.db.SelectContext(ctx, &out, `
		WITH first AS (
			SELECT session_id FROM session_participation
			WHERE integration_id = $1 AND status IN ('pending', 'sending') AND due_at <= $3
			ORDER BY due_at LIMIT 1)
		UPDATE session_participation sp SET status = 'sending', batch_id = $2, updated_at = now()
		WHERE (sp.integration_id, sp.invitee_id, sp.session_id) IN (
			SELECT integration_id, invitee_id, session_id FROM session_participation
			WHERE integration_id = $1 AND session_id = (SELECT session_id FROM first)
			  AND status IN ('pending', 'sending') AND due_at <= $3
			ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING sp.invitee_id, sp.session_id, sp.due_at`, integrationID, batchID, now, limit)
	if err != nil {
		return nil, fmt.Errorf("claim due session check-ins: %w", err)
	}
	return out, nil
}

// RecordSessionOutcomes stores Cvent's answers for session check-ins.
func (s *Store) RecordSessionOutcomes(ctx context.Context, integrationID, sessionID string, outcomes []WriteOutcome) error {
	ids, statuses, errs := make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], errs[i] = o.InviteeID, o.Status, o.Error
	}
	_, err := s.db.ExecContext(ctx, `
		UPDATE session_participation p SET status = u.status, last_error = u.err, updated_at = now(),
			written_at = CASE WHEN u.status = 'written' THEN now() ELSE p.written_at END
		FROM unnest($3::text[], $4::text[], $5::text[]) AS u(invitee, status, err)
		WHERE p.integration_id = $1 AND p.session_id = $2 AND p.invitee_id = u.invitee`,
		integrationID, sessionID, pq.StringArray(ids), pq.StringArray(statuses), pq.StringArray(errs))
	if err != nil {
		return fmt.Errorf("record session check-ins: %w", err)
	}
	return nil
}
