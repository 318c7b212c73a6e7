package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Personal data: body retention, dismissal of failed deliveries, erasure of
// a person and the tombstones that keep them erased (README "Security and
// privacy").

// DeliveryDismissed marks a failed or rejected delivery an operator gave up
// on: it is no longer replayable and its body expires like an applied one's.
const DeliveryDismissed = "dismissed"

// ErrNotDismissable is returned for a delivery that is not failed or rejected.
var ErrNotDismissable = errors.New("only a failed or rejected delivery can be dismissed")

// PurgeBodies removes the stored bodies (inline and chunked) of at most batch
// deliveries that were applied, ignored or dismissed before before, and
// marks them body_purged_at. One short statement: the caller loops. Rows
// another transaction holds are skipped, not waited for.
func (s *Store) PurgeBodies(ctx context.Context, before time.Time, batch int) (int64, error) {
	var n int64
	err := s.db.GetContext(ctx, &n, `
		WITH victims AS (
			SELECT id FROM deliveries
			WHERE body_purged_at IS NULL AND status IN ('processed', 'ignored', 'dismissed')
				AND received_at < $1 AND COALESCE(processed_at, dismissed_at, received_at) < $1
			ORDER BY received_at LIMIT $2
			FOR UPDATE SKIP LOCKED),
		chunks AS (DELETE FROM delivery_chunks c USING victims v WHERE c.delivery_id = v.id),
		upd AS (UPDATE deliveries d SET body = '', body_purged_at = now() FROM victims v WHERE d.id = v.id RETURNING 1)
		SELECT count(*) FROM upd`, before, batch)
	if err != nil {
		return 0, fmt.Errorf("purge delivery bodies: %w", err)
	}
	return n, nil
}

// DismissDelivery marks a failed or rejected delivery dismissed.
func (s *Store) DismissDelivery(ctx context.Context, id int64) (*Delivery, error) {
	var d Delivery
	err := s.db.GetContext(ctx, &d, `
		UPDATE deliveries SET status = '`+DeliveryDismissed+`', dismissed_at = now()
		WHERE id = $1 AND status IN ('failed', 'rejected')
		RETURNING `+deliverySummaryColumns, id)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := s.db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = $1)`, id); err != nil {
			return nil, fmt.Errorf("dismiss delivery %d: %w", id, err)
		}
		if exists {
			return nil, ErrNotDismissable
		}
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dismiss delivery %d: %w", id, err)
	}
	return &d, nil
}

// EmailHash is how an erased person's e-mail is kept in the tombstone:
// SHA-256 of the trimmed lower-case address, hex.
func EmailHash(email string) string {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:])
}

// Person is someone to erase: an attendee of one integration.
type Person struct {
	IntegrationID string `json:"integrationId" db:"integration_id"`
	InviteeID     string `json:"inviteeId" db:"invitee_id"`
	Email         string `json:"-" db:"email"`
	// OnlyIfFound makes ErasePerson change nothing and answer ErrNotFound
	// when nothing of the person is stored (no tombstone for a mistyped id).
	OnlyIfFound bool `json:"-" db:"-"`
}

// PeopleByEmail finds the attendees with this e-mail in every integration,
// and the tombstones already left for it (so a repeated request is
// answered with the same people).
func (s *Store) PeopleByEmail(ctx context.Context, email string) ([]Person, error) {
	var out []Person
	err := s.db.SelectContext(ctx, &out, `
		SELECT integration_id, invitee_id, email FROM attendees WHERE lower(email) = lower($1)
		UNION
		SELECT integration_id, invitee_id, $1 FROM erased_people WHERE email_hash = $2
		ORDER BY 1, 2`, strings.TrimSpace(email), EmailHash(email))
	if err != nil {
		return nil, fmt.Errorf("find people by e-mail: %w", err)
	}
	return out, nil
}

// Scrubber returns the rewriter of stored bodies for a person known by
// needles (e-mail addresses, invitee id): the body without the person, or
// blank when it cannot be kept at all (erasure.Scrubber).
type Scrubber func(needles ...string) func(body []byte) (out []byte, blank bool)

// Erasure says what erasing a person removed.
type Erasure struct {
	IntegrationID     string `json:"integrationId"`
	InviteeID         string `json:"inviteeId"`
	Attendee          bool   `json:"attendee"`
	BodiesRewritten   int    `json:"bodiesRewritten"`
	BodiesBlanked     int    `json:"bodiesBlanked"`
	Changes           int64  `json:"changesScrubbed"`
	ContactUpdates    int64  `json:"contactUpdates"`
	SessionActivities int64  `json:"sessionParticipation"`
}

// ErasePerson removes a person's personal data from one integration: in one
// transaction the attendee (participation rows go with it), agenda,
// session participation, pending contact updates and pushes, their entries
// in the change log (record and changed replaced by {"inviteeId", "erased"})
// and a tombstone that keeps later replays and polls from bringing them
// back (ErasedInvitees); an attendee.removed entry without personal data
// tells destinations. Then, in a second transaction, every stored body that
// mentions their e-mail or invitee id (small bodies rewritten by scrub,
// chunked ones blanked).
func (s *Store) ErasePerson(ctx context.Context, p Person, scrub Scrubber) (*Erasure, error) {
	inviteeID := strings.ToLower(strings.TrimSpace(p.InviteeID))
	out := &Erasure{IntegrationID: p.IntegrationID, InviteeID: inviteeID}
	var found []string // the person's e-mail addresses
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// Exclusively: a chunk in flight may have checked the tombstones already.
		if err := lockChangeLogExclusive(ctx, tx, p.IntegrationID); err != nil {
			return err
		}
		var stored struct {
			Email     string `db:"email"`
			ContactID string `db:"contact_id"`
		}
		err := tx.GetContext(ctx, &stored, `SELECT email, contact_id FROM attendees
			WHERE integration_id = $1 AND invitee_id = $2 FOR UPDATE`, p.IntegrationID, inviteeID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("erase: read attendee: %w", err)
		}
		emails := distinctNonEmpty(p.Email, stored.Email, strings.ToLower(p.Email), strings.ToLower(stored.Email))
		hash := EmailHash(p.Email)
		if hash == "" {
			hash = EmailHash(stored.Email)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO erased_people (integration_id, invitee_id, email_hash) VALUES ($1, $2, $3)
			ON CONFLICT (integration_id, invitee_id) DO UPDATE SET erased_at = now(),
				email_hash = CASE WHEN EXCLUDED.email_hash = '' THEN erased_people.email_hash ELSE EXCLUDED.email_hash END`,
			p.IntegrationID, inviteeID, hash); err != nil {
			return fmt.Errorf("erase: tombstone: %w", err)
		}
		q := withChangeLog(`WITH del AS (DELETE FROM attendees WHERE integration_id = $1 AND invitee_id = $2 RETURNING *),
			ch AS (SELECT del.integration_id, '`+ChangeAttendeeRemoved+`' AS type, 'attendee:' || del.invitee_id AS key,
				'{}'::jsonb AS changed, jsonb_build_object('inviteeId', del.invitee_id, 'erased', true) AS record,
				del.invitee_id AS ord FROM del)`, "")
		var res struct {
			Appended int64 `db:"appended"`
			Notified int64 `db:"notified"`
		}
		if err := tx.GetContext(ctx, &res, q, p.IntegrationID, inviteeID); err != nil {
			return fmt.Errorf("erase: delete attendee: %w", err)
		}
		out.Attendee = res.Appended > 0
		for _, stmt := range []struct {
			what string
			q    string
			n    *int64
		}{
			{"agenda", `DELETE FROM agenda WHERE integration_id = $1 AND invitee_id = $2`, nil},
			{"session participation", `DELETE FROM session_participation WHERE integration_id = $1 AND invitee_id = $2`, &out.SessionActivities},
			{"participation", `DELETE FROM participation WHERE integration_id = $1 AND invitee_id = $2`, nil},
			{"contact updates", `DELETE FROM contact_updates WHERE integration_id = $1 AND invitee_id = $2`, &out.ContactUpdates},
		} {
			r, err := tx.ExecContext(ctx, stmt.q, p.IntegrationID, inviteeID)
			if err != nil {
				return fmt.Errorf("erase: %s: %w", stmt.what, err)
			}
			if stmt.n != nil {
				*stmt.n, _ = r.RowsAffected()
			}
		}
		if stored.ContactID != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM contact_pushes WHERE integration_id = $1 AND contact_id = $2`,
				p.IntegrationID, stored.ContactID); err != nil {
				return fmt.Errorf("erase: contact pushes: %w", err)
			}
		}
		r, err := tx.ExecContext(ctx, `UPDATE changes SET changed = '{}',
				record = jsonb_build_object('inviteeId', $2::text, 'erased', true)
			WHERE integration_id = $1 AND (key IN ('attendee:' || $2, 'agenda:' || $2, 'participation:' || $2)
				OR lower(record->>'inviteeId') = $2 OR lower(record->>'email') = ANY($3))
				AND record->>'erased' IS NULL`, p.IntegrationID, inviteeID, pq.Array(lowerAll(emails)))
		if err != nil {
			return fmt.Errorf("erase: change log: %w", err)
		}
		out.Changes, _ = r.RowsAffected()
		if p.OnlyIfFound && !out.Attendee && out.Changes == 0 {
			return ErrNotFound // rolls the tombstone back
		}
		found = emails
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The bodies in a transaction of their own, once the tombstone is
	// committed (nothing applied from now on brings the person back): the
	// search reads every stored body of the integration and must not hold
	// the change log lock that every writer of the integration queues on.
	needles := bodyNeedles(inviteeID, found)
	chunked, err := s.chunkedBodiesMentioning(ctx, p.IntegrationID, needles)
	if err != nil {
		return out, err
	}
	if err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		return scrubBodies(ctx, tx, p.IntegrationID, needles, chunked, scrub, out)
	}); err != nil {
		return out, err
	}
	return out, nil
}

// bodyNeedles is what marks a stored body as mentioning a person: their
// e-mail addresses and their invitee id in either case.
func bodyNeedles(inviteeID string, emails []string) []string {
	return distinctNonEmpty(append([]string{inviteeID, strings.ToUpper(inviteeID)}, emails...)...)
}

// chunkedBodiesMentioning lists the integration's chunked (streamed)
// bodies that contain one of the needles. Their chunks are stored
// compressed, so they are read back and searched here, as one stream: a
// needle across a chunk boundary is found too.
func (s *Store) chunkedBodiesMentioning(ctx context.Context, integrationID string, needles []string) ([]int64, error) {
	var bodies []Delivery
	if err := s.db.SelectContext(ctx, &bodies, `SELECT id, body_chunks FROM deliveries
		WHERE integration_id = $1 AND body_chunks > 0 AND body_purged_at IS NULL ORDER BY id`, integrationID); err != nil {
		return nil, fmt.Errorf("erase: list chunked bodies: %w", err)
	}
	var out []int64
	for i := range bodies {
		found, err := containsAny(s.OpenBody(ctx, &bodies[i]), needles)
		if err != nil {
			return nil, fmt.Errorf("erase: search body of delivery %d: %w", bodies[i].ID, err)
		}
		if found {
			out = append(out, bodies[i].ID)
		}
	}
	return out, nil
}

// containsAny reports whether r's bytes contain one of the needles,
// reading r a block at a time.
func containsAny(r io.Reader, needles []string) (bool, error) {
	longest := 0
	var patterns [][]byte
	for _, n := range needles {
		if n != "" {
			longest, patterns = max(longest, len(n)), append(patterns, []byte(n))
		}
	}
	if len(patterns) == 0 {
		return false, nil
	}
	buf := make([]byte, 0, 1<<20+longest)
	for {
		// Keep the last longest-1 bytes: a needle may begin in them.
		keep := min(len(buf), longest-1)
		buf = append(buf[:0], buf[len(buf)-keep:]...)
		n, err := io.ReadFull(r, buf[keep:cap(buf)])
		buf = buf[:keep+n]
		for _, p := range patterns {
			if bytes.Contains(buf, p) {
				return true, nil
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// scrubBodies rewrites or blanks the stored bodies that mention the person
// (one of the needles) and removes the needles from error texts. A chunked
// body that mentions them (chunked, as found by chunkedBodiesMentioning)
// is blanked.
func scrubBodies(ctx context.Context, tx *sqlx.Tx, integrationID string, needles []string, chunked []int64, scrub Scrubber, out *Erasure) error {
	patterns := make(pq.ByteaArray, len(needles))
	for i, n := range needles {
		patterns[i] = []byte(n)
	}
	var rows []struct {
		ID     int64  `db:"id"`
		Body   []byte `db:"body"`
		Chunks int    `db:"body_chunks"`
		Error  string `db:"error"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT d.id, d.body, d.body_chunks, d.error FROM deliveries d
		WHERE d.integration_id = $1 AND (
			EXISTS (SELECT 1 FROM unnest($2::bytea[]) p WHERE position(p IN d.body) > 0)
			OR EXISTS (SELECT 1 FROM unnest($2::bytea[]) p WHERE position(p IN convert_to(d.error, 'UTF8')) > 0)
			OR d.id = ANY($3))
		ORDER BY d.id FOR UPDATE OF d`, integrationID, patterns, pq.Int64Array(chunked))
	if err != nil {
		return fmt.Errorf("erase: find bodies: %w", err)
	}
	var rewrite func([]byte) ([]byte, bool)
	for _, r := range rows {
		errText := r.Error
		for _, n := range needles {
			errText = strings.ReplaceAll(errText, n, "[erased]")
		}
		body, blank := r.Body, false
		if rewrite == nil {
			rewrite = scrub(needles...)
		}
		switch {
		case r.Chunks > 0:
			blank = true
		case len(r.Body) > 0:
			body, blank = rewrite(r.Body)
		}
		if blank {
			if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_chunks WHERE delivery_id = $1`, r.ID); err != nil {
				return fmt.Errorf("erase: delete chunks of delivery %d: %w", r.ID, err)
			}
			body = []byte{}
			out.BodiesBlanked++
		} else if len(r.Body) > 0 {
			out.BodiesRewritten++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET body = $2, error = $3,
				body_purged_at = CASE WHEN $4 THEN now() ELSE body_purged_at END WHERE id = $1`,
			r.ID, body, errText, blank); err != nil {
			return fmt.Errorf("erase: rewrite delivery %d: %w", r.ID, err)
		}
	}
	return nil
}

// ErasedInvitees answers which of ids (lower-case invitee ids) were erased
// from the integration: one indexed lookup per batch.
func (t *Tx) ErasedInvitees(ctx context.Context, integrationID string, ids []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var erased []string
	if err := t.tx.SelectContext(ctx, &erased, `SELECT invitee_id FROM erased_people
		WHERE integration_id = $1 AND invitee_id = ANY($2)`, integrationID, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("read erasure tombstones: %w", err)
	}
	if len(erased) == 0 {
		return nil, nil
	}
	out := make(map[string]bool, len(erased))
	for _, id := range erased {
		out[id] = true
	}
	return out, nil
}

func distinctNonEmpty(ss ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}
