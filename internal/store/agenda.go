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
	written := 0
	for _, e := range entries {
		res, err := t.tx.ExecContext(ctx, `
			INSERT INTO agenda (integration_id, invitee_id, session_id, registered, source_time)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (integration_id, invitee_id, session_id) DO UPDATE SET
				registered = EXCLUDED.registered, source_time = EXCLUDED.source_time, updated_at = now()
			WHERE agenda.source_time <= EXCLUDED.source_time`,
			e.IntegrationID, e.InviteeID, e.SessionID, e.Registered, e.SourceTime)
		if err != nil {
			return written, fmt.Errorf("upsert agenda %s/%s: %w", e.InviteeID, e.SessionID, err)
		}
		n, _ := res.RowsAffected()
		written += int(n)
	}
	return written, nil
}

// ReplaceAgenda makes sessionIDs an attendee's whole agenda as of
// sourceTime (a manual sync lists every session): listed sessions are
// registered, every other stored one becomes a tombstone, unless newer.
func (t *Tx) ReplaceAgenda(ctx context.Context, integrationID, inviteeID string, sessionIDs []string, sourceTime time.Time) error {
	if sessionIDs == nil {
		sessionIDs = []string{}
	}
	_, err := t.tx.ExecContext(ctx, `UPDATE agenda SET registered = false, source_time = $4, updated_at = now()
		WHERE integration_id = $1 AND invitee_id = $2 AND registered AND NOT (session_id = ANY($3))
		AND source_time <= $4`, integrationID, inviteeID, pq.StringArray(sessionIDs), sourceTime)
	if err != nil {
		return wrap("clear agenda", err)
	}
	entries := make([]directory.AgendaEntry, len(sessionIDs))
	for i, sid := range sessionIDs {
		entries[i] = directory.AgendaEntry{IntegrationID: integrationID, InviteeID: inviteeID, SessionID: sid,
			Registered: true, SourceTime: sourceTime}
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
