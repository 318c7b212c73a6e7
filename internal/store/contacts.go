package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
)

// platformColumns are the attendee columns the platform may edit.
var platformColumns = map[string]string{
	"firstName": "first_name", "lastName": "last_name", "email": "email",
	"company": "company", "title": "title", "profileImageUrl": "profile_image_url",
}

// IsPlatformField reports whether the platform may edit field.
func IsPlatformField(field string) bool { _, ok := platformColumns[field]; return ok }

// ContactUpdate is a platform edit waiting to reach the Cvent contact.
type ContactUpdate struct {
	ID            int64        `db:"id"`
	IntegrationID string       `db:"integration_id"`
	InviteeID     string       `db:"invitee_id"`
	ContactID     string       `db:"contact_id"`
	Fields        []byte       `db:"fields"`
	Status        string       `db:"status"`
	LastError     string       `db:"last_error"`
	CreatedAt     time.Time    `db:"created_at"`
	WrittenAt     sql.NullTime `db:"written_at"`
}

// ApplyPlatformEdit writes a platform edit to the directory and, when push
// is not empty, queues it for the Cvent contact — in one transaction, so an
// edit is never lost between the two. It returns the queued update's id, 0
// when nothing was queued.
func (s *Store) ApplyPlatformEdit(ctx context.Context, integrationID, inviteeID string, changed, push map[string]string, contactID string) (int64, error) {
	var updateID int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockChangeLog(ctx, tx, integrationID); err != nil {
			return err
		}
		before, err := attendeeRecordOf(ctx, tx, integrationID, inviteeID)
		if err != nil {
			return err
		}
		for field, value := range changed {
			col, ok := platformColumns[field]
			if !ok {
				return fmt.Errorf("field %q cannot be edited", field)
			}
			// col comes from the fixed map above, never from input. An equal
			// value is not a change: it neither moves updated_at nor logs.
			if _, err := tx.ExecContext(ctx, `UPDATE attendees SET `+col+` = $3, updated_at = now()
				WHERE integration_id = $1 AND invitee_id = $2 AND `+col+` IS DISTINCT FROM $3`, integrationID, inviteeID, value); err != nil {
				return fmt.Errorf("edit attendee: %w", err)
			}
		}
		if before != nil {
			if err := appendAttendeeChange(ctx, tx, integrationID, inviteeID, before); err != nil {
				return err
			}
		}
		if len(push) == 0 {
			return nil
		}
		b, err := json.Marshal(push)
		if err != nil {
			return err
		}
		return tx.QueryRowxContext(ctx, `INSERT INTO contact_updates (integration_id, invitee_id, contact_id, fields)
			VALUES ($1, $2, $3, $4) RETURNING id`, integrationID, inviteeID, contactID, string(b)).Scan(&updateID)
	})
	return updateID, err
}

// GetContactUpdate loads one queued contact update.
func (s *Store) GetContactUpdate(ctx context.Context, id int64) (*ContactUpdate, error) {
	var u ContactUpdate
	err := s.db.GetContext(ctx, &u, `SELECT id, integration_id, invitee_id, contact_id, fields, status, last_error, created_at, written_at
		FROM contact_updates WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get contact update %d: %w", id, err)
	}
	return &u, nil
}

// FinishContactUpdate records the outcome of pushing an update to Cvent.
func (s *Store) FinishContactUpdate(ctx context.Context, id int64, status, lastError string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE contact_updates SET status = $2, last_error = $3,
		written_at = CASE WHEN $2 = 'written' THEN now() END WHERE id = $1`, id, status, CleanText(lastError, 1024))
	if err != nil {
		return fmt.Errorf("finish contact update %d: %w", id, err)
	}
	return nil
}

// PendingContactUpdates lists updates still waiting, created before cutoff.
func (s *Store) PendingContactUpdates(ctx context.Context, cutoff time.Time, limit int) ([]ContactUpdate, error) {
	var out []ContactUpdate
	err := s.db.SelectContext(ctx, &out, `SELECT id, integration_id, invitee_id, contact_id, fields, status, last_error, created_at, written_at
		FROM contact_updates WHERE status = 'pending' AND created_at < $1 ORDER BY id LIMIT $2`, cutoff, limit)
	if err != nil {
		return nil, fmt.Errorf("pending contact updates: %w", err)
	}
	return out, nil
}

// DeleteAttendee removes an attendee from the directory (and its
// participation) and logs attendee.removed with the record it had; Cvent is
// not told.
func (s *Store) DeleteAttendee(ctx context.Context, integrationID, inviteeID string) error {
	var appended int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockChangeLog(ctx, tx, integrationID); err != nil {
			return err
		}
		q := withChangeLog(`WITH del AS (DELETE FROM attendees WHERE integration_id = $1 AND invitee_id = lower($2) RETURNING *),
			ch AS (SELECT del.integration_id, '`+ChangeAttendeeRemoved+`' AS type, 'attendee:' || del.invitee_id AS key,
				'{}'::jsonb AS changed, `+attendeeRecord("del")+` AS record, del.invitee_id AS ord FROM del)`, "")
		var res struct {
			Appended int64 `db:"appended"`
			Notified int64 `db:"notified"`
		}
		if err := tx.GetContext(ctx, &res, q, integrationID, inviteeID); err != nil {
			return fmt.Errorf("delete attendee: %w", err)
		}
		appended = res.Appended
		return nil
	})
	if err != nil {
		return err
	}
	if appended == 0 {
		return ErrNotFound
	}
	return nil
}

// Two-way sync sends one PATCH per contact at a time (contact_pushes): the
// attempt sending it owns the contact's row until its lease ends, and the
// PATCH carries the attendee's values, read after the claim, of every field
// edited by a pending update up to Covers. So an older edit is never sent
// after a newer one, and a retry never sends values older than the last
// PATCH did.

// ContactPush is a claim on sending one contact's pending edits.
type ContactPush struct {
	IntegrationID string
	ContactID     string
	InviteeID     string   // the attendee of the newest pending update
	Fields        []string // Cvent contact fields edited by the pending updates
	Covers        int64    // the newest pending update the PATCH settles
	// Unknown is set when an earlier PATCH of the contact ended without a
	// known outcome: Cvent may have its values; read the contact first.
	Unknown bool
}

// ClaimContactPush claims the contact for owner until leaseUntil and
// gathers its pending updates. When another attempt's lease is still
// running it returns busyUntil instead; with nothing pending, a nil push.
func (s *Store) ClaimContactPush(ctx context.Context, integrationID, contactID, owner string, leaseUntil time.Time) (push *ContactPush, busyUntil time.Time, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			Owner      string       `db:"owner"`
			LeaseUntil sql.NullTime `db:"lease_until"`
			Unknown    bool         `db:"unknown"`
			Now        time.Time    `db:"now"`
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_pushes (integration_id, contact_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, integrationID, contactID); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &row, `SELECT owner, lease_until, unknown, now() AS now FROM contact_pushes
			WHERE integration_id = $1 AND contact_id = $2 FOR UPDATE`, integrationID, contactID); err != nil {
			return err
		}
		if row.Owner != "" && row.Owner != owner && row.LeaseUntil.Valid && row.LeaseUntil.Time.After(time.Now()) {
			busyUntil = row.LeaseUntil.Time
			return nil
		}
		var pending []ContactUpdate
		if err := tx.SelectContext(ctx, &pending, `SELECT id, integration_id, invitee_id, contact_id, fields, status, last_error, created_at, written_at
			FROM contact_updates WHERE integration_id = $1 AND contact_id = $2 AND status = 'pending' ORDER BY id FOR UPDATE`,
			integrationID, contactID); err != nil {
			return err
		}
		// An owner that never finished may have reached Cvent.
		unknown := row.Unknown || (row.Owner != "" && row.Owner != owner)
		if len(pending) == 0 {
			_, err := tx.ExecContext(ctx, `UPDATE contact_pushes SET owner = '', lease_until = NULL, unknown = $3, updated_at = now()
				WHERE integration_id = $1 AND contact_id = $2`, integrationID, contactID, unknown)
			return err
		}
		push = &ContactPush{IntegrationID: integrationID, ContactID: contactID, Unknown: unknown}
		seen := map[string]bool{}
		for _, u := range pending {
			var f map[string]any
			if err := json.Unmarshal(u.Fields, &f); err != nil {
				return fmt.Errorf("contact update %d: %w", u.ID, err)
			}
			for k := range f {
				if !seen[k] {
					seen[k] = true
					push.Fields = append(push.Fields, k)
				}
			}
			push.Covers, push.InviteeID = u.ID, u.InviteeID
		}
		sort.Strings(push.Fields)
		b, _ := json.Marshal(push.Fields)
		_, err := tx.ExecContext(ctx, `UPDATE contact_pushes SET owner = $3, lease_until = $4, covers = $5, fields = $6,
			unknown = $7, updated_at = now() WHERE integration_id = $1 AND contact_id = $2`,
			integrationID, contactID, owner, leaseUntil, push.Covers, string(b), unknown)
		return err
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("claim contact %s for its PATCH: %w", contactID, err)
	}
	return push, busyUntil, nil
}

// ErrFenced says a later attempt took the claim over: this attempt's
// outcome is not recorded.
var ErrFenced = errors.New("another attempt owns the claim now")

// FinishContactPush records the outcome of owner's PATCH for every pending
// update up to covers (status "written" or "failed") and frees the contact.
func (s *Store) FinishContactPush(ctx context.Context, p *ContactPush, owner, status, lastError string) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE contact_pushes SET owner = '', lease_until = NULL, unknown = false, updated_at = now()
			WHERE integration_id = $1 AND contact_id = $2 AND owner = $3`, p.IntegrationID, p.ContactID, owner)
		if err != nil {
			return fmt.Errorf("finish contact push: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrFenced
		}
		_, err = tx.ExecContext(ctx, `UPDATE contact_updates SET status = $4, last_error = $5,
			written_at = CASE WHEN $4 = 'written' THEN now() END
			WHERE integration_id = $1 AND contact_id = $2 AND id <= $3 AND status = 'pending'`,
			p.IntegrationID, p.ContactID, p.Covers, status, CleanText(lastError, 1024))
		if err != nil {
			return fmt.Errorf("finish contact updates: %w", err)
		}
		return nil
	})
}

// ReleaseContactPush ends owner's claim without an outcome. With unknown,
// the PATCH may have reached Cvent (no answer, a 5xx): the next attempt
// reads the contact before sending, and may claim it from lease on.
// Without, nothing was done (a 429) and the contact is free at once.
func (s *Store) ReleaseContactPush(ctx context.Context, p *ContactPush, owner string, unknown bool, lease time.Time) error {
	q := `UPDATE contact_pushes SET owner = '', lease_until = NULL, updated_at = now()
		WHERE integration_id = $1 AND contact_id = $2 AND owner = $3`
	args := []any{p.IntegrationID, p.ContactID, owner}
	if unknown {
		q = `UPDATE contact_pushes SET unknown = true, lease_until = $4, updated_at = now()
			WHERE integration_id = $1 AND contact_id = $2 AND owner = $3`
		args = append(args, lease)
	}
	if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("release contact push: %w", err)
	}
	return nil
}
