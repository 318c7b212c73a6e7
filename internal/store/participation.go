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
	// LeaseUntil is when the owning attempt's Cvent call can no longer act
	// (rows in 'sending' only; read by the claim and take-over queries).
	LeaseUntil sql.NullTime `db:"lease_until"`
}

const participationColumns = `integration_id, invitee_id, first_login_at, last_seen_at, watched_seconds, due_at,
	status, batch_id, attempts, written_at, last_error, updated_at, lease_until`

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

// A claim's fence: batch_id names the write-back attempt that owns an
// attendee in 'sending', lease_until is when that attempt's Cvent call can no
// longer act. Every outcome is recorded only by the claim's owner, so a call
// whose attempt was replaced cannot overwrite what its successor settled.

// ClaimDue marks up to limit due, pending attendees as being sent by owner
// (an attempt's fence token) until leaseUntil and returns them. Claiming
// before calling Cvent is what lets a later attempt know which attendees may
// already have reached Cvent.
func (s *Store) ClaimDue(ctx context.Context, integrationID, owner string, now, leaseUntil time.Time, limit int) ([]Participation, error) {
	var out []Participation
	err := s.db.SelectContext(ctx, &out, `
		UPDATE participation SET status = 'sending', batch_id = $2, lease_until = $5, attempts = attempts + 1, updated_at = now()
		WHERE (integration_id, invitee_id) IN (
			SELECT integration_id, invitee_id FROM participation
			WHERE integration_id = $1 AND status = 'pending' AND due_at <= $3
			ORDER BY due_at, invitee_id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING `+participationColumns, integrationID, owner, now, limit, leaseUntil)
	if err != nil {
		return nil, fmt.Errorf("claim due participation: %w", err)
	}
	return out, nil
}

// TakeOverInFlight moves up to limit attendees left in 'sending' by other
// attempts (a worker died mid-call, a call's answer was lost) to owner and
// returns them with the old leases: from now on only owner records their
// outcome, and it must not ask Cvent about them before their lease_until.
func (s *Store) TakeOverInFlight(ctx context.Context, integrationID, owner string, limit int) ([]Participation, error) {
	var out []Participation
	err := s.db.SelectContext(ctx, &out, `
		UPDATE participation SET batch_id = $2, updated_at = now()
		WHERE (integration_id, invitee_id) IN (
			SELECT integration_id, invitee_id FROM participation
			WHERE integration_id = $1 AND status = 'sending' AND batch_id <> $2
			ORDER BY invitee_id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+participationColumns, integrationID, owner, limit)
	if err != nil {
		return nil, fmt.Errorf("take over in-flight participation: %w", err)
	}
	return out, nil
}

// EndLease records that owner's call for these attendees is over without a
// known outcome (no answer, a 5xx): they stay 'sending' for the next attempt
// to settle from Cvent's state, and it need not wait for the lease.
func (s *Store) EndLease(ctx context.Context, integrationID, owner string, inviteeIDs []string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE participation SET lease_until = least(lease_until, $4), updated_at = now()
		WHERE integration_id = $1 AND batch_id = $2 AND status = 'sending' AND invitee_id = ANY($3)`,
		integrationID, owner, pq.StringArray(inviteeIDs), at)
	if err != nil {
		return fmt.Errorf("end participation lease: %w", err)
	}
	return nil
}

// WriteOutcome is Cvent's answer for one attendee.
type WriteOutcome struct {
	InviteeID string
	// Status is ParticipationWritten, ParticipationFailed, or
	// ParticipationPending to send again later.
	Status string
	Error  string
}

// RecordWriteOutcomes stores Cvent's per-attendee answers for attendees
// owner has claimed. An attendee another attempt has taken over is left as
// it is; recorded counts the attendees changed.
func (s *Store) RecordWriteOutcomes(ctx context.Context, integrationID, owner string, outcomes []WriteOutcome) (recorded int, err error) {
	if len(outcomes) == 0 {
		return 0, nil
	}
	ids, statuses, errs := make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], errs[i] = o.InviteeID, o.Status, CleanText(o.Error, 1024)
	}
	// A check-in that becomes written is news for the platform: it is logged
	// as participation.written in the same statement, once (an attendee
	// already written is not logged again).
	q := withChangeLog(`
		WITH u AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS u(invitee, status, err)),
		old AS (SELECT p.invitee_id, p.status FROM participation p JOIN u ON p.integration_id = $1 AND p.invitee_id = u.invitee
			WHERE p.status = 'sending' AND p.batch_id = $5
			FOR UPDATE OF p),
		up AS (UPDATE participation p SET status = u.status, last_error = u.err, updated_at = now(),
			written_at = CASE WHEN u.status = 'written' THEN now() ELSE p.written_at END,
			batch_id = CASE WHEN u.status = 'pending' THEN '' ELSE p.batch_id END,
			lease_until = NULL
		FROM u, old
		WHERE p.integration_id = $1 AND p.invitee_id = u.invitee AND old.invitee_id = p.invitee_id AND `+oldFirst+`
		RETURNING p.*),
		ch AS (SELECT up.integration_id, '`+ChangeParticipationWritten+`' AS type, 'participation:' || up.invitee_id AS key,
			'{}'::jsonb AS changed,
			jsonb_build_object('inviteeId', up.invitee_id, 'status', up.status, 'writtenAt', up.written_at,
				'firstLoginAt', up.first_login_at, 'watchedSeconds', up.watched_seconds) AS record,
			up.invitee_id AS ord
			FROM up JOIN old ON old.invitee_id = up.invitee_id
			WHERE up.status = 'written' AND old.status <> 'written')`, `, (SELECT count(*) FROM up) AS recorded`)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockChangeLog(ctx, tx, integrationID); err != nil {
			return err
		}
		var res struct {
			Appended int64 `db:"appended"`
			Notified int64 `db:"notified"`
			Recorded int   `db:"recorded"`
		}
		err := tx.GetContext(ctx, &res, q, integrationID, pq.StringArray(ids), pq.StringArray(statuses), pq.StringArray(errs), owner)
		recorded = res.Recorded
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record write-back outcomes: %w", err)
	}
	return recorded, nil
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
	err := s.db.SelectContext(ctx, &ids, `SELECT integration_id FROM participation
		WHERE status IN ('pending', 'sending') AND due_at <= $1
		UNION SELECT integration_id FROM session_participation
		WHERE status IN ('pending', 'sending') AND due_at <= $1`, now)
	if err != nil {
		return nil, fmt.Errorf("integrations with due participation: %w", err)
	}
	return ids, nil
}

// SessionCheckIn is one attendee due for check-in to one session.
type SessionCheckIn struct {
	InviteeID  string       `db:"invitee_id"`
	SessionID  string       `db:"session_id"`
	DueAt      sql.NullTime `db:"due_at"`
	LeaseUntil sql.NullTime `db:"lease_until"`
}

// ClaimDueSessions claims up to limit due, pending session check-ins of one
// session (the one with the oldest due attendee) for owner until
// leaseUntil, as ClaimDue does for the event. Check-ins left in 'sending' by
// a crashed or replaced attempt are not claimed again blindly: see
// TakeOverSessionsInFlight.
func (s *Store) ClaimDueSessions(ctx context.Context, integrationID, owner string, now, leaseUntil time.Time, limit int) ([]SessionCheckIn, error) {
	var out []SessionCheckIn
	err := s.db.SelectContext(ctx, &out, `
		WITH first AS (
			SELECT session_id FROM session_participation
			WHERE integration_id = $1 AND status = 'pending' AND due_at <= $3
			ORDER BY due_at LIMIT 1)
		UPDATE session_participation sp SET status = 'sending', batch_id = $2, lease_until = $5,
			attempts = attempts + 1, updated_at = now()
		WHERE (sp.integration_id, sp.invitee_id, sp.session_id) IN (
			SELECT integration_id, invitee_id, session_id FROM session_participation
			WHERE integration_id = $1 AND session_id = (SELECT session_id FROM first)
			  AND status = 'pending' AND due_at <= $3
			ORDER BY due_at, invitee_id LIMIT $4 FOR UPDATE SKIP LOCKED)
		RETURNING sp.invitee_id, sp.session_id, sp.due_at, sp.lease_until`, integrationID, owner, now, limit, leaseUntil)
	if err != nil {
		return nil, fmt.Errorf("claim due session check-ins: %w", err)
	}
	return out, nil
}

// TakeOverSessionsInFlight moves up to limit session check-ins of one
// session left in 'sending' by other attempts to owner, as
// TakeOverInFlight does for the event.
func (s *Store) TakeOverSessionsInFlight(ctx context.Context, integrationID, owner string, limit int) ([]SessionCheckIn, error) {
	var out []SessionCheckIn
	err := s.db.SelectContext(ctx, &out, `
		WITH first AS (
			SELECT session_id FROM session_participation
			WHERE integration_id = $1 AND status = 'sending' AND batch_id <> $2
			ORDER BY session_id LIMIT 1)
		UPDATE session_participation sp SET batch_id = $2, updated_at = now()
		WHERE (sp.integration_id, sp.invitee_id, sp.session_id) IN (
			SELECT integration_id, invitee_id, session_id FROM session_participation
			WHERE integration_id = $1 AND session_id = (SELECT session_id FROM first)
			  AND status = 'sending' AND batch_id <> $2
			ORDER BY invitee_id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING sp.invitee_id, sp.session_id, sp.due_at, sp.lease_until`, integrationID, owner, limit)
	if err != nil {
		return nil, fmt.Errorf("take over in-flight session check-ins: %w", err)
	}
	return out, nil
}

// EndSessionLease is EndLease for session check-ins.
func (s *Store) EndSessionLease(ctx context.Context, integrationID, sessionID, owner string, inviteeIDs []string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE session_participation SET lease_until = least(lease_until, $5), updated_at = now()
		WHERE integration_id = $1 AND session_id = $2 AND batch_id = $3 AND status = 'sending' AND invitee_id = ANY($4)`,
		integrationID, sessionID, owner, pq.StringArray(inviteeIDs), at)
	if err != nil {
		return fmt.Errorf("end session check-in lease: %w", err)
	}
	return nil
}

// RecordSessionOutcomes stores Cvent's answers for session check-ins owner
// has claimed; one another attempt took over is left as it is.
func (s *Store) RecordSessionOutcomes(ctx context.Context, integrationID, sessionID, owner string, outcomes []WriteOutcome) (recorded int, err error) {
	ids, statuses, errs := make([]string, len(outcomes)), make([]string, len(outcomes)), make([]string, len(outcomes))
	for i, o := range outcomes {
		ids[i], statuses[i], errs[i] = o.InviteeID, o.Status, CleanText(o.Error, 1024)
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE session_participation p SET status = u.status, last_error = u.err, updated_at = now(),
			written_at = CASE WHEN u.status = 'written' THEN now() ELSE p.written_at END,
			batch_id = CASE WHEN u.status = 'pending' THEN '' ELSE p.batch_id END,
			lease_until = NULL
		FROM unnest($3::text[], $4::text[], $5::text[]) AS u(invitee, status, err)
		WHERE p.integration_id = $1 AND p.session_id = $2 AND p.invitee_id = u.invitee
		  AND p.status = 'sending' AND p.batch_id = $6`,
		integrationID, sessionID, pq.StringArray(ids), pq.StringArray(statuses), pq.StringArray(errs), owner)
	if err != nil {
		return 0, fmt.Errorf("record session check-ins: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SessionParticipationCounts counts an integration's session check-ins by
// write-back status.
func (s *Store) SessionParticipationCounts(ctx context.Context, integrationID string) (map[string]int, error) {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT status, count(*) AS n FROM session_participation
		WHERE integration_id = $1 AND due_at IS NOT NULL GROUP BY status`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("count session participation: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
