package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/store"
)

// ContactAPI is the part of Cvent's API two-way sync needs.
type ContactAPI interface {
	// PatchContact changes only the given fields of a Cvent contact.
	PatchContact(ctx context.Context, contactID string, fields map[string]string) error
	// GetContact reads a Cvent contact's fields.
	GetContact(ctx context.Context, contactID string) (map[string]any, error)
	// CallTimeout is the client's limit on one call (0: none).
	CallTimeout() time.Duration
}

// ContactAccounts gives the contact API of an integration's account.
type ContactAccounts interface {
	Contacts(ctx context.Context, in *store.Integration) (ContactAPI, error)
}

// Contacts pushes platform profile edits to Cvent contacts.
type Contacts struct {
	Store    *store.Store
	Accounts ContactAccounts
	Logger   *slog.Logger
}

// PushContactUpdateInput names a queued contact update.
type PushContactUpdateInput struct {
	UpdateID int64
}

// ErrTypeContactBusy is the retryable error of an update whose contact is
// being PATCHed by another attempt: it is retried when that lease ends.
const ErrTypeContactBusy = "ContactBusy"

// PushContactUpdate brings a queued edit to the Cvent contact, exactly once
// and never older over newer (see writeback.go and store.ContactPush):
//
//   - One PATCH per contact at a time: the contact is claimed for this
//     attempt with a lease, and an update whose contact is claimed waits.
//   - The PATCH carries the attendee's values, read after the claim, of
//     every field edited by the contact's pending updates, and settles all
//     of them: an edit is never sent after a newer one, and an update that
//     a later one's PATCH covered sends nothing.
//   - After a PATCH whose outcome is unknown (no answer, a 5xx), the next
//     attempt waits for the old lease, reads the contact, and sends only the
//     fields Cvent lacks, with the current values: the lost PATCH is not
//     sent again as it was.
func (c *Contacts) PushContactUpdate(ctx context.Context, in *PushContactUpdateInput) error {
	u, err := c.Store.GetContactUpdate(ctx, in.UpdateID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError("contact update does not exist", "NotFound", err)
	}
	if err != nil {
		return err
	}
	if u.Status != "pending" {
		return nil // done: by this update's PATCH, or a later one's that covered it
	}
	integ, err := c.Store.GetIntegration(ctx, u.IntegrationID)
	if err != nil {
		return fmt.Errorf("load integration: %w", err)
	}
	api, err := c.Accounts.Contacts(ctx, integ)
	if err != nil {
		_ = c.Store.FinishContactUpdate(ctx, u.ID, "failed", err.Error())
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotConfigured, err)
	}
	owner := fenceToken(ctx)
	timeout := callTimeout(ctx, api.CallTimeout())
	push, busyUntil, err := c.Store.ClaimContactPush(ctx, u.IntegrationID, u.ContactID, owner, time.Now().Add(timeout+leaseMargin))
	if err != nil {
		return err
	}
	if !busyUntil.IsZero() {
		wait := time.Until(busyUntil) + 100*time.Millisecond
		return temporal.NewApplicationErrorWithOptions(
			fmt.Sprintf("contact %s is being updated by another attempt until %s", u.ContactID, busyUntil.UTC().Format(time.RFC3339)),
			ErrTypeContactBusy, temporal.ApplicationErrorOptions{NextRetryDelay: max(wait, time.Second)})
	}
	if push == nil {
		return nil
	}
	att, err := c.Store.GetAttendee(ctx, push.IntegrationID, push.InviteeID)
	if err != nil {
		_ = c.Store.ReleaseContactPush(context.WithoutCancel(ctx), push, owner, false, time.Time{})
		return fmt.Errorf("load attendee: %w", err)
	}
	current := map[string]string{"firstName": att.FirstName, "lastName": att.LastName, "email": att.Email,
		"company": att.Company, "title": att.Title}
	fields := map[string]string{}
	for _, f := range push.Fields {
		if v, ok := current[f]; ok {
			fields[f] = v
		}
	}
	if push.Unknown {
		// A PATCH of this contact ended without an answer: Cvent may have
		// applied it. Send only what Cvent lacks.
		have, err := waitingCall(ctx, timeout, "read contact", func(cctx context.Context) (map[string]any, error) {
			return api.GetContact(cctx, push.ContactID)
		})
		if err != nil {
			return c.failed(ctx, push, owner, err, "read the contact after a lost PATCH answer", false)
		}
		for f, v := range fields {
			if cur, ok := have[f].(string); ok && cur == v {
				delete(fields, f)
			}
		}
	}
	if len(fields) > 0 {
		_, err := waitingCall(ctx, timeout, "PATCH contact", func(cctx context.Context) (struct{}, error) {
			return struct{}{}, api.PatchContact(cctx, push.ContactID, fields)
		})
		if err != nil {
			return c.failed(ctx, push, owner, err, "patch contact", true)
		}
	}
	err = c.Store.FinishContactPush(context.WithoutCancel(ctx), push, owner, "written", "")
	if errors.Is(err, store.ErrFenced) {
		c.logger().Warn("a later attempt owns the contact's PATCH now; it settles this update", "contactId", push.ContactID, "updateId", u.ID)
		return nil
	}
	return err
}

// failed handles a failed contact call through the one classifier: a
// refusal fails every update the PATCH covered; a rate limit frees the
// contact and retries after Cvent's delay; anything else may have reached
// Cvent (wrote): the claim ends after the lease margin, marked unknown, so
// the next attempt reads the contact first.
func (c *Contacts) failed(ctx context.Context, push *store.ContactPush, owner string, callErr error, what string, wrote bool) error {
	d := cvent.Decide(callErr, attemptOf(ctx), time.Now())
	bg := context.WithoutCancel(ctx)
	switch d.Action {
	case cvent.GiveUp:
		if err := c.Store.FinishContactPush(bg, push, owner, "failed", callErr.Error()); err != nil && !errors.Is(err, store.ErrFenced) {
			return err
		}
	case cvent.RetryLater:
		if err := c.Store.ReleaseContactPush(bg, push, owner, false, time.Time{}); err != nil {
			return err
		}
	default:
		if err := c.Store.ReleaseContactPush(bg, push, owner, wrote, time.Now().Add(leaseMargin)); err != nil {
			return err
		}
	}
	return cvent.TemporalError(fmt.Errorf("%s: %w", what, callErr), d)
}

func (c *Contacts) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
