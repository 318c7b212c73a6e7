package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/store"
)

// ContactAPI is the part of Cvent's API two-way sync needs.
type ContactAPI interface {
	// PatchContact changes only the given fields of a Cvent contact.
	PatchContact(ctx context.Context, contactID string, fields map[string]string) error
}

// ContactAccounts gives the contact API of an integration's account.
type ContactAccounts interface {
	Contacts(ctx context.Context, in *store.Integration) (ContactAPI, error)
}

// Contacts pushes platform profile edits to Cvent contacts.
type Contacts struct {
	Store    *store.Store
	Accounts ContactAccounts
}

// PushContactUpdateInput names a queued contact update.
type PushContactUpdateInput struct {
	UpdateID int64
}

// PushContactUpdate sends a queued edit with PATCH /contacts/{id}. It sends
// the attendee's current values of the edited fields, so that two quick edits
// cannot reach Cvent in the wrong order and leave the older one standing.
func (c *Contacts) PushContactUpdate(ctx context.Context, in *PushContactUpdateInput) error {
	u, err := c.Store.GetContactUpdate(ctx, in.UpdateID)
	if errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError("contact update does not exist", "NotFound", err)
	}
	if err != nil {
		return err
	}
	if u.Status != "pending" {
		return nil // already done: a retry after success
	}
	var fields map[string]string
	if err := json.Unmarshal(u.Fields, &fields); err != nil {
		return temporal.NewNonRetryableApplicationError("stored contact update is not valid JSON", "BadUpdate", err)
	}
	att, err := c.Store.GetAttendee(ctx, u.IntegrationID, u.InviteeID)
	if err != nil {
		return fmt.Errorf("load attendee: %w", err)
	}
	current := map[string]string{"firstName": att.FirstName, "lastName": att.LastName, "email": att.Email,
		"company": att.Company, "title": att.Title}
	for f := range fields {
		if v, ok := current[f]; ok {
			fields[f] = v
		}
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
	if err := api.PatchContact(ctx, u.ContactID, fields); err != nil {
		d := cvent.Decide(err, int(activity.GetInfo(ctx).Attempt), time.Now())
		if d.Action == cvent.GiveUp {
			_ = c.Store.FinishContactUpdate(ctx, u.ID, "failed", err.Error())
		}
		return cvent.TemporalError(fmt.Errorf("patch contact: %w", err), d)
	}
	return c.Store.FinishContactUpdate(ctx, u.ID, "written", "")
}
