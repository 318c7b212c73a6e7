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

	"github.com/cventsync/cventsync/internal/directory"
)

type attendeeRow struct {
	IntegrationID    string         `db:"integration_id"`
	InviteeID        string         `db:"invitee_id"`
	ContactID        string         `db:"contact_id"`
	Email            string         `db:"email"`
	FirstName        string         `db:"first_name"`
	LastName         string         `db:"last_name"`
	Company          string         `db:"company"`
	Title            string         `db:"title"`
	ProfileImageURL  string         `db:"profile_image_url"`
	RegistrationType string         `db:"registration_type"`
	CventStatus      string         `db:"cvent_status"`
	Access           bool           `db:"access"`
	IsGuest          bool           `db:"is_guest"`
	PrimaryInviteeID string         `db:"primary_invitee_id"`
	AccessGroups     pq.StringArray `db:"access_groups"`
	Profile          []byte         `db:"profile"`
	CustomFields     []byte         `db:"custom_fields"`
	SourceTime       time.Time      `db:"source_time"`
	UpdatedAt        time.Time      `db:"updated_at"`
	CreatedAt        time.Time      `db:"created_at"`
}

const attendeeColumns = `integration_id, invitee_id, contact_id, email, first_name, last_name, company, title,
	profile_image_url, registration_type, cvent_status, access, is_guest, primary_invitee_id, access_groups,
	profile, custom_fields, source_time, updated_at, created_at`

func (r *attendeeRow) toDirectory() directory.Attendee {
	a := directory.Attendee{
		IntegrationID: r.IntegrationID, InviteeID: r.InviteeID, ContactID: r.ContactID, Email: r.Email,
		FirstName: r.FirstName, LastName: r.LastName, Company: r.Company, Title: r.Title,
		ProfileImageURL: r.ProfileImageURL, RegistrationType: r.RegistrationType, CventStatus: r.CventStatus,
		Access: r.Access, IsGuest: r.IsGuest, PrimaryInviteeID: r.PrimaryInviteeID,
		AccessGroups: []string(r.AccessGroups), SourceTime: r.SourceTime, UpdatedAt: r.UpdatedAt, CreatedAt: r.CreatedAt,
	}
	if a.AccessGroups == nil {
		a.AccessGroups = []string{}
	}
	_ = json.Unmarshal(r.Profile, &a.Profile)
	_ = json.Unmarshal(r.CustomFields, &a.CustomFields)
	return a
}

// LockAttendees loads the current records of the given invitees (if any) and
// locks them until the transaction ends, so that merging a partial update
// (a modification, a substitution) with what is stored cannot race.
func (t *Tx) LockAttendees(ctx context.Context, integrationID string, inviteeIDs []string) (map[string]directory.Attendee, error) {
	if err := t.lockChangeLog(ctx, integrationID); err != nil {
		return nil, err
	}
	var rows []attendeeRow
	err := t.tx.SelectContext(ctx, &rows, `SELECT `+attendeeColumns+` FROM attendees
		WHERE integration_id = $1 AND invitee_id = ANY($2) FOR UPDATE`, integrationID, pq.StringArray(inviteeIDs))
	if err != nil {
		return nil, fmt.Errorf("lock attendees: %w", err)
	}
	out := make(map[string]directory.Attendee, len(rows))
	for i := range rows {
		out[rows[i].InviteeID] = rows[i].toDirectory()
	}
	return out, nil
}

// attendeeDataColumns are the columns whose change is a change of the
// attendee: re-applying the same values (a duplicate, a replay, a re-applied
// chunk) rewrites nothing and appends nothing to the change log.
var attendeeDataColumns = []string{"contact_id", "email", "first_name", "last_name", "company", "title",
	"profile_image_url", "registration_type", "cvent_status", "access", "is_guest", "primary_invitee_id",
	"access_groups", "profile", "custom_fields"}

// attendeeRecord is the SQL for an attendee row's change log record, the
// shape the admin API answers.
func attendeeRecord(x string) string {
	return `jsonb_build_object('inviteeId', ` + x + `.invitee_id, 'contactId', ` + x + `.contact_id, 'email', ` + x + `.email,
		'firstName', ` + x + `.first_name, 'lastName', ` + x + `.last_name, 'company', ` + x + `.company, 'title', ` + x + `.title,
		'profileImageUrl', ` + x + `.profile_image_url, 'registrationType', ` + x + `.registration_type,
		'cventStatus', ` + x + `.cvent_status, 'access', ` + x + `.access, 'isGuest', ` + x + `.is_guest,
		'primaryInviteeId', ` + x + `.primary_invitee_id, 'groups', to_jsonb(` + x + `.access_groups),
		'profile', ` + x + `.profile, 'customFields', ` + x + `.custom_fields, 'sourceTime', ` + x + `.source_time,
		'updatedAt', ` + x + `.updated_at, 'createdAt', ` + x + `.created_at)`
}

// attendeeChangeType names an attendee change from its old record (NULL
// when created) and new one: access and groups matter most to a platform.
func attendeeChangeType(o, n string) string {
	return `CASE WHEN ` + o + ` IS NULL THEN '` + ChangeAttendeeCreated + `'
		WHEN (` + o + `)->'access' <> (` + n + `)->'access' THEN
			CASE WHEN ((` + n + `)->>'access')::boolean THEN '` + ChangeAccessGranted + `' ELSE '` + ChangeAccessRevoked + `' END
		WHEN (` + o + `)->'groups' <> (` + n + `)->'groups' THEN '` + ChangeGroupsChanged + `'
		ELSE '` + ChangeAttendeeUpdated + `' END`
}

// attendeeDiffCTE turns a CTE "cur" of changed attendee rows, with the
// old record as column old_record (NULL when created), into the ch CTE.
// The CTE "cur" also carries ord, the order of its rows' entries in the log.
// Both steps are MATERIALIZED: inlined, PostgreSQL would build the new
// record again for every field the diff compares, and compute the diff
// twice (measured: three quarters of a 1,000-row re-sync's time).
const attendeeDiffCTE = `diff AS MATERIALIZED (SELECT cur.integration_id, cur.invitee_id, cur.ord, cur.old_record AS o, ` + "%s" + ` AS n FROM cur),
	delta AS MATERIALIZED (SELECT diff.*, CASE WHEN o IS NULL THEN '{}'::jsonb ELSE %s END AS changed FROM diff),
	ch AS (SELECT integration_id, %s AS type, 'attendee:' || invitee_id AS key, changed, n AS record, ord
		FROM delta WHERE o IS NULL OR changed <> '{}'::jsonb)`

func attendeeDiff() string {
	return fmt.Sprintf(attendeeDiffCTE, attendeeRecord("cur"), changedFields("o", "n"), attendeeChangeType("o", "n"))
}

// UpsertAttendees writes complete attendee records in one statement. A record
// only replaces a stored one whose SourceTime is not newer, so an old message
// arriving late changes nothing; identical data is not rewritten (a newer
// SourceTime alone moves only source_time). Each real change is appended to
// the change log in the same statement. It returns how many records were
// not stale.
func (t *Tx) UpsertAttendees(ctx context.Context, deliveryID int64, attendees []directory.Attendee) (int, error) {
	ids := make([]int64, len(attendees))
	for i := range ids {
		ids[i] = deliveryID
	}
	stale, err := t.UpsertAttendeesFrom(ctx, ids, attendees)
	return len(attendees) - len(stale), err
}

// UpsertAttendeesFrom is UpsertAttendees for records of several deliveries
// (deliveryIDs[i] brought attendees[i]; 0 for none) written in one
// statement, their changes appended to the change log in the order given.
// The invitee ids must be distinct. It returns the invitee ids of the stale
// records, which were left alone.
func (t *Tx) UpsertAttendeesFrom(ctx context.Context, deliveryIDs []int64, attendees []directory.Attendee) (stale map[string]bool, err error) {
	if len(attendees) == 0 {
		return nil, nil
	}
	if len(deliveryIDs) != len(attendees) {
		return nil, fmt.Errorf("upsert attendees: %d delivery ids for %d attendees", len(deliveryIDs), len(attendees))
	}
	if err := t.lockChangeLog(ctx, attendees[0].IntegrationID); err != nil {
		return nil, err
	}
	n := len(attendees)
	var (
		integ, invitee, contact, email, first, last, company, title = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		image, regType, status, primary, groups, profile, custom    = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		access, guest                                               = make([]bool, n), make([]bool, n)
		source                                                      = make([]string, n)
	)
	for i, a := range attendees {
		integ[i], invitee[i], contact[i], email[i] = a.IntegrationID, a.InviteeID, a.ContactID, a.Email
		first[i], last[i], company[i], title[i] = a.FirstName, a.LastName, a.Company, a.Title
		image[i], regType[i], status[i], primary[i] = a.ProfileImageURL, a.RegistrationType, a.CventStatus, a.PrimaryInviteeID
		access[i], guest[i] = a.Access, a.IsGuest
		groups[i] = jsonOr(a.AccessGroups, "[]")
		profile[i] = jsonOr(a.Profile, "{}")
		custom[i] = jsonOr(a.CustomFields, "{}")
		source[i] = a.SourceTime.UTC().Format(time.RFC3339Nano)
	}
	q := upsertAttendeesSQL
	var res struct {
		Appended int64          `db:"appended"`
		Notified int64          `db:"notified"`
		Stale    pq.StringArray `db:"stale"`
	}
	err = t.tx.GetContext(ctx, &res, q,
		pq.StringArray(integ), pq.StringArray(invitee), pq.StringArray(contact), pq.StringArray(email),
		pq.StringArray(first), pq.StringArray(last), pq.StringArray(company), pq.StringArray(title),
		pq.StringArray(image), pq.StringArray(regType), pq.StringArray(status), pq.BoolArray(access),
		pq.BoolArray(guest), pq.StringArray(primary), pq.StringArray(groups), pq.StringArray(profile),
		pq.StringArray(custom), pq.StringArray(source), pq.Int64Array(deliveryIDs))
	if err != nil {
		return nil, fmt.Errorf("upsert %d attendees: %w", n, err)
	}
	if len(res.Stale) == 0 {
		return nil, nil
	}
	stale = make(map[string]bool, len(res.Stale))
	for _, id := range res.Stale {
		stale[id] = true
	}
	return stale, nil
}

// upsertAttendeesSQL is UpsertAttendeesFrom's statement: $1 to $18 are the
// columns, $19 the delivery ids, one element per attendee.
var upsertAttendeesSQL = func() string {
	distinct := tuple("attendees.", attendeeDataColumns) + " IS DISTINCT FROM " + tuple("EXCLUDED.", attendeeDataColumns)
	return withChangeLog(`
		WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::text[], $12::bool[], $13::bool[], $14::text[], $15::text[], $16::text[],
				$17::text[], $18::text[], $19::bigint[]) WITH ORDINALITY
				AS u(integ, invitee, contact, email, first, last, company, title, image, reg_type, status, access, guest,
				     primary_id, groups, profile, custom, source, delivery, ord)),
		old AS (
			SELECT a.*, `+attendeeRecord("a")+` AS old_record FROM u, LATERAL (SELECT * FROM attendees a
				WHERE a.integration_id = u.integ AND a.invitee_id = u.invitee FOR UPDATE) a),
		up AS (
			INSERT INTO attendees AS attendees (integration_id, invitee_id, contact_id, email, first_name, last_name, company, title,
				profile_image_url, registration_type, cvent_status, access, is_guest, primary_invitee_id, access_groups,
				profile, custom_fields, source_time, last_delivery_id, updated_at)
			SELECT u.integ, u.invitee, u.contact, u.email, u.first, u.last, u.company, u.title, u.image, u.reg_type, u.status,
				u.access, u.guest, u.primary_id, ARRAY(SELECT jsonb_array_elements_text(u.groups::jsonb)),
				u.profile::jsonb, u.custom::jsonb, u.source::timestamptz, NULLIF(u.delivery, 0), now()
			FROM u
			ON CONFLICT (integration_id, invitee_id) DO UPDATE SET
				contact_id = EXCLUDED.contact_id, email = EXCLUDED.email, first_name = EXCLUDED.first_name,
				last_name = EXCLUDED.last_name, company = EXCLUDED.company, title = EXCLUDED.title,
				profile_image_url = EXCLUDED.profile_image_url, registration_type = EXCLUDED.registration_type,
				cvent_status = EXCLUDED.cvent_status, access = EXCLUDED.access, is_guest = EXCLUDED.is_guest,
				primary_invitee_id = EXCLUDED.primary_invitee_id, access_groups = EXCLUDED.access_groups,
				profile = EXCLUDED.profile, custom_fields = EXCLUDED.custom_fields, source_time = EXCLUDED.source_time,
				last_delivery_id = EXCLUDED.last_delivery_id,
				updated_at = CASE WHEN `+distinct+` THEN now() ELSE attendees.updated_at END
			WHERE attendees.source_time <= EXCLUDED.source_time
				AND (attendees.source_time < EXCLUDED.source_time OR `+distinct+`)
				AND `+oldFirst+`
			RETURNING attendees.*),
		cur AS (SELECT up.*, old.old_record, u.ord FROM up
			JOIN u ON u.integ = up.integration_id AND u.invitee = up.invitee_id
			LEFT JOIN old ON old.integration_id = up.integration_id AND old.invitee_id = up.invitee_id),
		`+attendeeDiff(), `,
		ARRAY(SELECT u.invitee FROM u JOIN old ON old.integration_id = u.integ AND old.invitee_id = u.invitee
			WHERE old.source_time > u.source::timestamptz) AS stale`)
}()

// appendAttendeeChange appends the change of one attendee whose record
// before was old (nil when created), reading its current row; nothing when
// nothing changed.
func appendAttendeeChange(ctx context.Context, tx *sqlx.Tx, integrationID, inviteeID string, old json.RawMessage) error {
	var oldArg any
	if old != nil {
		oldArg = string(old)
	}
	q := withChangeLog(`WITH cur AS (SELECT a.*, $3::jsonb AS old_record, 1 AS ord FROM attendees a
		WHERE a.integration_id = $1 AND a.invitee_id = $2), `+attendeeDiff(), "")
	_, err := tx.ExecContext(ctx, q, integrationID, inviteeID, oldArg)
	return wrap("append attendee change", err)
}

// attendeeRecordOf reads an attendee's current change log record, locking
// the row; nil when there is no such attendee.
func attendeeRecordOf(ctx context.Context, tx *sqlx.Tx, integrationID, inviteeID string) (json.RawMessage, error) {
	var rec []byte
	err := tx.GetContext(ctx, &rec, `SELECT `+attendeeRecord("a")+` FROM attendees a
		WHERE a.integration_id = $1 AND a.invitee_id = $2 FOR UPDATE`, integrationID, inviteeID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read attendee record: %w", err)
	}
	return rec, nil
}

func jsonOr(v any, empty string) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return empty
	}
	return string(b)
}

// AttendeeFilter narrows ListAttendees.
type AttendeeFilter struct {
	Email     string
	InviteeID string
	Access    *bool
	AfterID   string // page forward from this invitee id (exclusive)
	Limit     int
}

// ListAttendees lists an integration's attendees ordered by invitee id.
func (s *Store) ListAttendees(ctx context.Context, integrationID string, f AttendeeFilter) ([]directory.Attendee, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	q := `SELECT ` + attendeeColumns + ` FROM attendees WHERE integration_id = $1`
	args := []any{integrationID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Email != "" {
		add("lower(email) = lower($%d)", f.Email)
	}
	if f.InviteeID != "" {
		add("invitee_id = $%d", strings.ToLower(f.InviteeID))
	}
	if f.Access != nil {
		add("access = $%d", *f.Access)
	}
	if f.AfterID != "" {
		add("invitee_id > $%d", strings.ToLower(f.AfterID))
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY invitee_id LIMIT $%d", len(args))
	var rows []attendeeRow
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("list attendees: %w", err)
	}
	out := make([]directory.Attendee, len(rows))
	for i := range rows {
		out[i] = rows[i].toDirectory()
	}
	return out, nil
}

// GetAttendee loads one attendee; ErrNotFound when absent.
func (s *Store) GetAttendee(ctx context.Context, integrationID, inviteeID string) (*directory.Attendee, error) {
	var r attendeeRow
	err := s.db.GetContext(ctx, &r, `SELECT `+attendeeColumns+` FROM attendees WHERE integration_id = $1 AND invitee_id = $2`,
		integrationID, strings.ToLower(inviteeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get attendee: %w", err)
	}
	a := r.toDirectory()
	return &a, nil
}

// CountAttendees counts an integration's attendees, and those with access.
func (s *Store) CountAttendees(ctx context.Context, integrationID string) (total, withAccess int, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT count(*), count(*) FILTER (WHERE access) FROM attendees WHERE integration_id = $1`,
		integrationID).Scan(&total, &withAccess)
	if err != nil {
		return 0, 0, fmt.Errorf("count attendees: %w", err)
	}
	return total, withAccess, nil
}
