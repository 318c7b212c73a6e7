package store

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/directory"
)

// UpsertSpeakers writes speakers; older data never wins, and a deleted
// speaker stays a tombstone until something newer arrives.
func (t *Tx) UpsertSpeakers(ctx context.Context, speakers []directory.Speaker) (int, error) {
	written := 0
	for _, s := range speakers {
		ids := s.SessionIDs
		if ids == nil {
			ids = []string{}
		}
		res, err := t.tx.ExecContext(ctx, `
			INSERT INTO speakers (integration_id, speaker_id, first_name, last_name, display_name, title, company,
				biography, session_ids, deleted, source_time)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (integration_id, speaker_id) DO UPDATE SET
				first_name = CASE WHEN EXCLUDED.deleted THEN speakers.first_name ELSE EXCLUDED.first_name END,
				last_name = CASE WHEN EXCLUDED.deleted THEN speakers.last_name ELSE EXCLUDED.last_name END,
				display_name = CASE WHEN EXCLUDED.deleted THEN speakers.display_name ELSE EXCLUDED.display_name END,
				title = CASE WHEN EXCLUDED.deleted THEN speakers.title ELSE EXCLUDED.title END,
				company = CASE WHEN EXCLUDED.deleted THEN speakers.company ELSE EXCLUDED.company END,
				biography = CASE WHEN EXCLUDED.deleted THEN speakers.biography ELSE EXCLUDED.biography END,
				session_ids = CASE WHEN EXCLUDED.deleted THEN speakers.session_ids ELSE EXCLUDED.session_ids END,
				deleted = EXCLUDED.deleted, source_time = EXCLUDED.source_time, updated_at = now()
			WHERE speakers.source_time <= EXCLUDED.source_time`,
			s.IntegrationID, s.SpeakerID, s.FirstName, s.LastName, s.DisplayName, s.Title, s.Company, s.Biography,
			pq.StringArray(ids), s.Deleted, s.SourceTime)
		if err != nil {
			return written, fmt.Errorf("upsert speaker %s: %w", s.SpeakerID, err)
		}
		n, _ := res.RowsAffected()
		written += int(n)
	}
	return written, nil
}

// SetSessionSpeakers records the speakers a session item listed, only if
// that item's state is the one stored (its upsert was not stale).
func (t *Tx) SetSessionSpeakers(ctx context.Context, integrationID, sessionID string, speakerIDs []string, sourceTime time.Time) error {
	if speakerIDs == nil {
		speakerIDs = []string{}
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE sessions SET speaker_ids = $3
		WHERE integration_id = $1 AND session_id = $2 AND source_time = $4 AND NOT deleted`,
		integrationID, sessionID, pq.StringArray(speakerIDs), sourceTime)
	return wrap("set session speakers", err)
}

// UpsertAgenda writes agenda entries, newest wins per attendee and session.
func (t *Tx) UpsertAgenda(ctx context.Context, entries []directory.AgendaEntry) (int, error) {
	if len(entries) == 0 {
		return 0, nil
	}
	// One statement for the whole batch: a manual sync carries an agenda
	// entry for most of its thousands of attendees. The newest entry per
	// key wins inside the batch, as one statement cannot write a row twice.
	latest := map[[3]string]directory.AgendaEntry{}
	for _, e := range entries {
		k := [3]string{e.IntegrationID, e.InviteeID, e.SessionID}
		if old, ok := latest[k]; !ok || !e.SourceTime.Before(old.SourceTime) {
			latest[k] = e
		}
	}
	n := len(latest)
	integ, inv, ses, src := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	reg := make([]bool, 0, n)
	for _, e := range latest {
		integ, inv, ses = append(integ, e.IntegrationID), append(inv, e.InviteeID), append(ses, e.SessionID)
		reg, src = append(reg, e.Registered), append(src, e.SourceTime.UTC().Format(time.RFC3339Nano))
	}
	res, err := t.tx.ExecContext(ctx, `
		INSERT INTO agenda (integration_id, invitee_id, session_id, registered, source_time)
		SELECT u.integ, u.inv, u.ses, u.reg, u.src::timestamptz
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[]) AS u(integ, inv, ses, reg, src)
		ON CONFLICT (integration_id, invitee_id, session_id) DO UPDATE SET
			registered = EXCLUDED.registered, source_time = EXCLUDED.source_time, updated_at = now()
		WHERE agenda.source_time <= EXCLUDED.source_time`,
		pq.StringArray(integ), pq.StringArray(inv), pq.StringArray(ses), pq.BoolArray(reg), pq.StringArray(src))
	if err != nil {
		return 0, fmt.Errorf("upsert %d agenda entries: %w", n, err)
	}
	written, _ := res.RowsAffected()
	return int(written), nil
}

// ReplaceAgendas makes each attendee's listed sessions their whole agenda
// as of sourceTime (a manual sync lists every session): listed sessions are
// registered, every other stored one becomes a tombstone, unless newer. Two
// statements for all attendees.
func (t *Tx) ReplaceAgendas(ctx context.Context, integrationID string, agendas map[string][]string, sourceTime time.Time) error {
	if len(agendas) == 0 {
		return nil
	}
	invitees := make([]string, 0, len(agendas))
	var pairInv, pairSes []string
	var entries []directory.AgendaEntry
	for inv, sessions := range agendas {
		invitees = append(invitees, inv)
		for _, sid := range sessions {
			pairInv, pairSes = append(pairInv, inv), append(pairSes, sid)
			entries = append(entries, directory.AgendaEntry{IntegrationID: integrationID, InviteeID: inv, SessionID: sid,
				Registered: true, SourceTime: sourceTime})
		}
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE agenda a SET registered = false, source_time = $3, updated_at = now()
		WHERE a.integration_id = $1 AND a.invitee_id = ANY($2) AND a.registered AND a.source_time <= $3
		AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS n(inv, ses)
			WHERE n.inv = a.invitee_id AND n.ses = a.session_id)`,
		integrationID, pq.StringArray(invitees), sourceTime, pq.StringArray(pairInv), pq.StringArray(pairSes))
	if err != nil {
		return wrap("clear agendas", err)
	}
	_, err = t.UpsertAgenda(ctx, entries)
	return err
}

// RegisteredSessions returns the ids of the sessions an attendee is registered for.
func (s *Store) RegisteredSessions(ctx context.Context, integrationID, inviteeID string) (map[string]bool, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, `SELECT session_id FROM agenda
		WHERE integration_id = $1 AND invitee_id = $2 AND registered`, integrationID, inviteeID)
	if err != nil {
		return nil, fmt.Errorf("registered sessions: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// SessionSpeakerIDs returns, per session, the speaker ids its last item listed.
func (s *Store) SessionSpeakerIDs(ctx context.Context, integrationID string) (map[string][]string, error) {
	rows, err := s.db.QueryxContext(ctx, `SELECT session_id, speaker_ids FROM sessions
		WHERE integration_id = $1 AND cardinality(speaker_ids) > 0`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("session speakers: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id string
		var ids pq.StringArray
		if err := rows.Scan(&id, &ids); err != nil {
			return nil, fmt.Errorf("session speakers: %w", err)
		}
		out[id] = ids
	}
	return out, rows.Err()
}

type speakerRow struct {
	IntegrationID string         `db:"integration_id"`
	SpeakerID     string         `db:"speaker_id"`
	FirstName     string         `db:"first_name"`
	LastName      string         `db:"last_name"`
	DisplayName   string         `db:"display_name"`
	Title         string         `db:"title"`
	Company       string         `db:"company"`
	Biography     string         `db:"biography"`
	SessionIDs    pq.StringArray `db:"session_ids"`
	Deleted       bool           `db:"deleted"`
	SourceTime    time.Time      `db:"source_time"`
	UpdatedAt     time.Time      `db:"updated_at"`
}

// ListSpeakers lists an integration's speakers that are not deleted.
func (s *Store) ListSpeakers(ctx context.Context, integrationID string) ([]directory.Speaker, error) {
	var rows []speakerRow
	err := s.db.SelectContext(ctx, &rows, `SELECT integration_id, speaker_id, first_name, last_name, display_name,
		title, company, biography, session_ids, deleted, source_time, updated_at FROM speakers
		WHERE integration_id = $1 AND NOT deleted ORDER BY last_name, first_name, speaker_id`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("list speakers: %w", err)
	}
	out := make([]directory.Speaker, len(rows))
	for i, r := range rows {
		out[i] = directory.Speaker{IntegrationID: r.IntegrationID, SpeakerID: r.SpeakerID, FirstName: r.FirstName,
			LastName: r.LastName, DisplayName: r.DisplayName, Title: r.Title, Company: r.Company, Biography: r.Biography,
			SessionIDs: []string(r.SessionIDs), Deleted: r.Deleted, SourceTime: r.SourceTime, UpdatedAt: r.UpdatedAt}
		if out[i].SessionIDs == nil {
			out[i].SessionIDs = []string{}
		}
	}
	return out, nil
}

// GetAttendees loads the stored records of the given invitees without
// locking them, for read-only work such as a mapping preview.
func (s *Store) GetAttendees(ctx context.Context, integrationID string, inviteeIDs []string) (map[string]directory.Attendee, error) {
	var rows []attendeeRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+attendeeColumns+` FROM attendees
		WHERE integration_id = $1 AND invitee_id = ANY($2)`, integrationID, pq.StringArray(inviteeIDs))
	if err != nil {
		return nil, fmt.Errorf("get attendees: %w", err)
	}
	out := make(map[string]directory.Attendee, len(rows))
	for i := range rows {
		out[rows[i].InviteeID] = rows[i].toDirectory()
	}
	return out, nil
}
