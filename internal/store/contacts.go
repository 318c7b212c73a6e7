package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
			VALUES ($1, $2, $3, $4) RETURNING id`, integrationID, inviteeID, contactID, b).Scan(&updateID)
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
		written_at = CASE WHEN $2 = 'written' THEN now() END WHERE id = $1`, id, status, lastError)
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
