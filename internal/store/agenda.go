package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/directory"
)

// speakerRecord is the SQL for a speaker row's change log record.
func speakerRecord(x string) string {
	return `jsonb_build_object('speakerId', ` + x + `.speaker_id, 'firstName', ` + x + `.first_name,
		'lastName', ` + x + `.last_name, 'displayName', ` + x + `.display_name, 'title', ` + x + `.title,
		'company', ` + x + `.company, 'biography', ` + x + `.biography, 'sessionIds', to_jsonb(` + x + `.session_ids),
		'deleted', ` + x + `.deleted, 'sourceTime', ` + x + `.source_time, 'updatedAt', ` + x + `.updated_at)`
}

// UpsertSpeakers writes speakers in one statement; older data never wins,
// identical data is not rewritten (applying the same speakers again
// changes nothing), each change is logged once as speaker.changed, and a
// deleted speaker stays a tombstone until something newer arrives. A
// speaker repeated in the batch counts once, its newest item (the last of
// equals) winning. It returns how many speakers were not stale.
func (t *Tx) UpsertSpeakers(ctx context.Context, speakers []directory.Speaker) (int, error) {
	if len(speakers) == 0 {
		return 0, nil
	}
	batch, older := latestOf(speakers, func(s *directory.Speaker) (string, string, time.Time) {
		return s.IntegrationID, s.SpeakerID, s.SourceTime
	})
	n := len(batch)
	integ, id, first, last, display := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	title, company, bio, sessions, source := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	deleted := make([]bool, n)
	if err := lockChangeLogsOf(ctx, t, batch, func(x *directory.Speaker) string { return x.IntegrationID }); err != nil {
		return 0, err
	}
	for i, s := range batch {
		integ[i], id[i], first[i], last[i], display[i] = s.IntegrationID, s.SpeakerID, s.FirstName, s.LastName, s.DisplayName
		title[i], company[i], bio[i] = s.Title, s.Company, s.Biography
		sessions[i], deleted[i], source[i] = jsonOr(s.SessionIDs, "[]"), s.Deleted, s.SourceTime.UTC().Format(time.RFC3339Nano)
	}
	distinct := `(EXCLUDED.deleted IS DISTINCT FROM speakers.deleted OR (NOT EXCLUDED.deleted AND
		(speakers.first_name, speakers.last_name, speakers.display_name, speakers.title, speakers.company, speakers.biography, speakers.session_ids)
		IS DISTINCT FROM (EXCLUDED.first_name, EXCLUDED.last_name, EXCLUDED.display_name, EXCLUDED.title, EXCLUDED.company, EXCLUDED.biography, EXCLUDED.session_ids)))`
	keep := func(col string) string {
		return col + ` = CASE WHEN EXCLUDED.deleted THEN speakers.` + col + ` ELSE EXCLUDED.` + col + ` END`
	}
	changed := changedFields("o", "n")
	q := withChangeLog(`
		WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::bool[], $11::text[]) WITH ORDINALITY
				AS u(integ, id, first, last, display, title, company, bio, sessions, deleted, source, ord)),
		old AS (
			SELECT s.integration_id, s.speaker_id, s.source_time, `+speakerRecord("s")+` AS old_record FROM speakers s
			JOIN u ON s.integration_id = u.integ AND s.speaker_id = u.id FOR UPDATE OF s),
		up AS (
			INSERT INTO speakers AS speakers (integration_id, speaker_id, first_name, last_name, display_name, title, company,
				biography, session_ids, deleted, source_time)
			SELECT u.integ, u.id, u.first, u.last, u.display, u.title, u.company, u.bio,
				ARRAY(SELECT jsonb_array_elements_text(u.sessions::jsonb)), u.deleted, u.source::timestamptz
			FROM u
			ON CONFLICT (integration_id, speaker_id) DO UPDATE SET
				`+keep("first_name")+`, `+keep("last_name")+`, `+keep("display_name")+`, `+keep("title")+`,
				`+keep("company")+`, `+keep("biography")+`, `+keep("session_ids")+`,
				deleted = EXCLUDED.deleted, source_time = EXCLUDED.source_time,
				updated_at = CASE WHEN `+distinct+` THEN now() ELSE speakers.updated_at END
			WHERE speakers.source_time <= EXCLUDED.source_time
				AND (speakers.source_time < EXCLUDED.source_time OR `+distinct+`)
				AND `+oldFirst+`
			RETURNING speakers.*),
		diff AS MATERIALIZED (SELECT up.integration_id, up.speaker_id, u.ord, old.old_record AS o, `+speakerRecord("up")+` AS n FROM up
			JOIN u ON u.integ = up.integration_id AND u.id = up.speaker_id
			LEFT JOIN old ON old.integration_id = up.integration_id AND old.speaker_id = up.speaker_id),
		delta AS MATERIALIZED (SELECT diff.*, CASE WHEN o IS NULL THEN '{}'::jsonb ELSE `+changed+` END AS changed FROM diff),
		ch AS (SELECT integration_id, '`+ChangeSpeakerChanged+`' AS type, 'speaker:' || speaker_id AS key, changed, n AS record, ord
			FROM delta
			WHERE CASE WHEN o IS NULL THEN NOT (n->>'deleted')::boolean ELSE changed <> '{}'::jsonb END)`,
		`, (SELECT count(*) FROM u JOIN old ON old.integration_id = u.integ AND old.speaker_id = u.id
			WHERE old.source_time > u.source::timestamptz) AS stale`)
	var res struct {
		Appended int64 `db:"appended"`
		Notified int64 `db:"notified"`
		Stale    int   `db:"stale"`
	}
	err := t.tx.GetContext(ctx, &res, q, pq.StringArray(integ), pq.StringArray(id), pq.StringArray(first), pq.StringArray(last),
		pq.StringArray(display), pq.StringArray(title), pq.StringArray(company), pq.StringArray(bio), pq.StringArray(sessions),
		pq.BoolArray(deleted), pq.StringArray(source))
	if err != nil {
		return 0, fmt.Errorf("upsert %d speakers: %w", n, err)
	}
	return len(speakers) - older - res.Stale, nil
}

// agendaDelta is one session added to or removed from an attendee's agenda.
type agendaDelta struct {
	IntegrationID string `json:"integrationId"`
	InviteeID     string `json:"inviteeId"`
	SessionID     string `json:"sessionId"`
	Registered    bool   `json:"registered"`
}

// UpsertAgenda writes agenda entries, newest wins per attendee and session,
// and logs agenda.changed per attendee whose agenda changed. It returns how
// many entries were not stale.
func (t *Tx) UpsertAgenda(ctx context.Context, entries []directory.AgendaEntry) (int, error) {
	written, deltas, err := t.upsertAgenda(ctx, entries)
	if err != nil {
		return written, err
	}
	return written, t.appendAgendaChanges(ctx, deltas)
}

func (t *Tx) upsertAgenda(ctx context.Context, entries []directory.AgendaEntry) (int, map[string][]agendaDelta, error) {
	if len(entries) == 0 {
		return 0, nil, nil
	}
	if err := t.lockChangeLog(ctx, entries[0].IntegrationID); err != nil {
		return 0, nil, err
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
	// A registration flag re-applied unchanged is no change: only a newer
	// source_time is recorded. A tombstone inserted for a registration never
	// seen changes nobody's agenda.
	var res struct {
		Stale  int    `db:"stale"`
		Deltas []byte `db:"deltas"`
	}
	err := t.tx.GetContext(ctx, &res, `
		WITH u AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::text[]) AS u(integ, inv, ses, reg, src)),
		old AS (SELECT a.integration_id, a.invitee_id, a.session_id, a.registered, a.source_time FROM u, LATERAL (
			SELECT * FROM agenda a WHERE a.integration_id = u.integ AND a.invitee_id = u.inv AND a.session_id = u.ses FOR UPDATE) a),
		up AS (
			INSERT INTO agenda (integration_id, invitee_id, session_id, registered, source_time)
			SELECT u.integ, u.inv, u.ses, u.reg, u.src::timestamptz FROM u
			ON CONFLICT (integration_id, invitee_id, session_id) DO UPDATE SET
				registered = EXCLUDED.registered, source_time = EXCLUDED.source_time,
				updated_at = CASE WHEN agenda.registered IS DISTINCT FROM EXCLUDED.registered THEN now() ELSE agenda.updated_at END
			WHERE agenda.source_time <= EXCLUDED.source_time
				AND (agenda.source_time < EXCLUDED.source_time OR agenda.registered IS DISTINCT FROM EXCLUDED.registered)
				AND `+oldFirst+`
			RETURNING agenda.integration_id, agenda.invitee_id, agenda.session_id, agenda.registered)
		SELECT (SELECT count(*) FROM u JOIN old ON old.integration_id = u.integ AND old.invitee_id = u.inv
				AND old.session_id = u.ses WHERE old.source_time > u.src::timestamptz) AS stale,
			(SELECT COALESCE(json_agg(json_build_object('integrationId', up.integration_id, 'inviteeId', up.invitee_id, 'sessionId', up.session_id,
				'registered', up.registered)), '[]') FROM up
				LEFT JOIN old ON old.integration_id = up.integration_id AND old.invitee_id = up.invitee_id AND old.session_id = up.session_id
				WHERE CASE WHEN old.invitee_id IS NULL THEN up.registered ELSE old.registered <> up.registered END) AS deltas`,
		pq.StringArray(integ), pq.StringArray(inv), pq.StringArray(ses), pq.BoolArray(reg), pq.StringArray(src))
	if err != nil {
		return 0, nil, fmt.Errorf("upsert %d agenda entries: %w", n, err)
	}
	var list []agendaDelta
	if err := json.Unmarshal(res.Deltas, &list); err != nil {
		return 0, nil, fmt.Errorf("upsert agenda entries: %w", err)
	}
	deltas := map[string][]agendaDelta{}
	for _, d := range list {
		deltas[d.IntegrationID] = append(deltas[d.IntegrationID], d)
	}
	return n - res.Stale, deltas, nil
}

// appendAgendaChanges logs agenda.changed per attendee in deltas (by
// integration), with the sessions added and removed and the whole agenda
// as it now stands, in one statement per integration.
func (t *Tx) appendAgendaChanges(ctx context.Context, deltas map[string][]agendaDelta) error {
	for integrationID, list := range deltas {
		type change struct {
			Added   []string `json:"added"`
			Removed []string `json:"removed"`
		}
		per := map[string]*change{}
		for _, d := range list {
			c := per[d.InviteeID]
			if c == nil {
				c = &change{Added: []string{}, Removed: []string{}}
				per[d.InviteeID] = c
			}
			if d.Registered {
				c.Added = append(c.Added, d.SessionID)
			} else {
				c.Removed = append(c.Removed, d.SessionID)
			}
		}
		invitees, changed := make([]string, 0, len(per)), make([]string, 0, len(per))
		for inv, c := range per {
			b, _ := json.Marshal(c)
			invitees, changed = append(invitees, inv), append(changed, string(b))
		}
		q := withChangeLog(`
			WITH d AS (SELECT * FROM unnest($2::text[], $3::text[]) AS d(inv, changed)),
			ch AS (SELECT $1::text AS integration_id, '`+ChangeAgendaChanged+`' AS type, 'agenda:' || d.inv AS key,
				d.changed::jsonb AS changed,
				jsonb_build_object('inviteeId', d.inv, 'sessionIds', (SELECT COALESCE(jsonb_agg(a.session_id ORDER BY a.session_id), '[]')
					FROM agenda a WHERE a.integration_id = $1 AND a.invitee_id = d.inv AND a.registered)) AS record,
				d.inv AS ord
				FROM d)`, "")
		if _, err := t.tx.ExecContext(ctx, q, integrationID, pq.StringArray(invitees), pq.StringArray(changed)); err != nil {
			return fmt.Errorf("append agenda changes: %w", err)
		}
	}
	return nil
}

// ReplaceAgendas makes each attendee's listed sessions their whole agenda
// as of sourceTime (a manual sync lists every session): listed sessions are
// registered, every other stored one becomes a tombstone, unless newer.
// One statement for all attendees, which also logs one agenda.changed per
// attendee whose agenda changed: the sessions added and removed (in
// session order) and the whole agenda as it now stands.
func (t *Tx) ReplaceAgendas(ctx context.Context, integrationID string, agendas map[string][]string, sourceTime time.Time) error {
	if len(agendas) == 0 {
		return nil
	}
	if err := t.lockChangeLog(ctx, integrationID); err != nil {
		return err
	}
	invitees := make([]string, 0, len(agendas))
	var pairInv, pairSes []string
	for inv, sessions := range agendas {
		invitees = append(invitees, inv)
		seen := make(map[string]bool, len(sessions))
		for _, sid := range sessions {
			if !seen[sid] { // one statement cannot write a row twice
				seen[sid] = true
				pairInv, pairSes = append(pairInv, inv), append(pairSes, sid)
			}
		}
	}
	_, err := t.tx.ExecContext(ctx, replaceAgendasSQL, integrationID, pq.StringArray(invitees),
		pq.StringArray(pairInv), pq.StringArray(pairSes), sourceTime)
	return wrap("replace agendas", err)
}

// replaceAgendasSQL is ReplaceAgendas' statement: $1 the integration, $2
// the invitees, $3 and $4 the (invitee, session) pairs listed, $5 the time.
// Rows of the agenda read in it are as they were before it: an invitee's
// agenda after it is what was registered, less what it cleared, plus what
// it registered.
var replaceAgendasSQL = withChangeLog(`
	WITH listed AS (SELECT * FROM unnest($3::text[], $4::text[]) AS l(inv, ses)),
	cleared AS (
		UPDATE agenda a SET registered = false, source_time = $5, updated_at = now()
		WHERE a.integration_id = $1 AND a.invitee_id = ANY($2) AND a.registered AND a.source_time <= $5
			AND NOT EXISTS (SELECT 1 FROM listed l WHERE l.inv = a.invitee_id AND l.ses = a.session_id)
		RETURNING a.invitee_id, a.session_id),
	old AS (SELECT a.invitee_id, a.session_id, a.registered FROM listed l, LATERAL (
		SELECT * FROM agenda a WHERE a.integration_id = $1 AND a.invitee_id = l.inv AND a.session_id = l.ses FOR UPDATE) a),
	up AS (
		INSERT INTO agenda (integration_id, invitee_id, session_id, registered, source_time)
		SELECT $1, l.inv, l.ses, true, $5 FROM listed l
		ON CONFLICT (integration_id, invitee_id, session_id) DO UPDATE SET
			registered = true, source_time = EXCLUDED.source_time,
			updated_at = CASE WHEN agenda.registered THEN agenda.updated_at ELSE now() END
		WHERE agenda.source_time <= EXCLUDED.source_time
			AND (agenda.source_time < EXCLUDED.source_time OR NOT agenda.registered)
			AND `+oldFirst+`
		RETURNING agenda.invitee_id, agenda.session_id),
	added AS (SELECT up.invitee_id, up.session_id FROM up
		LEFT JOIN old ON old.invitee_id = up.invitee_id AND old.session_id = up.session_id
		WHERE old.invitee_id IS NULL OR NOT old.registered),
	touched AS (SELECT invitee_id FROM added UNION SELECT invitee_id FROM cleared),
	adds AS (SELECT invitee_id, jsonb_agg(session_id ORDER BY session_id) AS s FROM added GROUP BY invitee_id),
	removes AS (SELECT invitee_id, jsonb_agg(session_id ORDER BY session_id) AS s FROM cleared GROUP BY invitee_id),
	after AS (SELECT invitee_id, jsonb_agg(session_id ORDER BY session_id) AS s FROM (
			SELECT t.invitee_id, a.session_id FROM touched t, LATERAL (SELECT a.session_id FROM agenda a
				WHERE a.integration_id = $1 AND a.invitee_id = t.invitee_id AND a.registered) a
			EXCEPT SELECT invitee_id, session_id FROM cleared
			UNION SELECT invitee_id, session_id FROM added) r
		GROUP BY invitee_id),
	ch AS (SELECT $1::text AS integration_id, '`+ChangeAgendaChanged+`' AS type, 'agenda:' || t.invitee_id AS key,
			jsonb_build_object('added', COALESCE(adds.s, '[]'), 'removed', COALESCE(removes.s, '[]')) AS changed,
			jsonb_build_object('inviteeId', t.invitee_id, 'sessionIds', COALESCE(after.s, '[]')) AS record,
			t.invitee_id AS ord
		FROM touched t LEFT JOIN adds USING (invitee_id) LEFT JOIN removes USING (invitee_id) LEFT JOIN after USING (invitee_id))`, "")

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
