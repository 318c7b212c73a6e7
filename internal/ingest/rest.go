package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/store"
)

// RESTEventType marks results of attendees pulled from the REST API.
const RESTEventType = "RESTAttendees"

// ApplyREST applies attendees pulled from the REST API (polling, re-sync)
// with exactly the rules webhooks go through: each record is rendered as the
// item a manual sync would carry and applied as one. Each record is ordered
// against webhooks by its lastModified, Cvent's clock as messageTime is;
// fetchedAt (when Cvent answered) stands in for a record without one.
func ApplyREST(ctx context.Context, tx *store.Tx, integrationID string, cfg *mapping.Config,
	attendees []cvent.Attendee, fetchedAt time.Time) (*Result, error) {
	d, err := RESTDelivery(integrationID, cfg, attendees, fetchedAt)
	if err != nil {
		return nil, err
	}
	res, err := Apply(ctx, tx, d)
	if res != nil {
		res.EventType = RESTEventType
	}
	return res, err
}

// RESTDelivery renders attendees pulled from the REST API as the delivery
// ApplyREST applies.
func RESTDelivery(integrationID string, cfg *mapping.Config, attendees []cvent.Attendee, fetchedAt time.Time) (Delivery, error) {
	items := make([]map[string]any, len(attendees))
	extras := make(map[string]*mapping.Extra, len(attendees))
	for i := range attendees {
		items[i] = ItemFromREST(&attendees[i])
		extras[strings.ToLower(attendees[i].ID)] = mapping.ExtraFromREST(&attendees[i])
	}
	body, err := json.Marshal(map[string]any{
		"eventType": cventpush.AttendeeManualSynced, "messageTime": fetchedAt.UTC().Format(time.RFC3339Nano),
		"messageStub": fmt.Sprintf("rest-%d", fetchedAt.UnixNano()), "message": items,
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("render REST attendees: %w", err)
	}
	return Delivery{IntegrationID: integrationID, Body: body, ReceivedAt: fetchedAt, Mapping: cfg, Extras: extras, ItemTimes: true}, nil
}

// ItemFromREST renders a REST attendee as a webhook attendee item.
func ItemFromREST(a *cvent.Attendee) map[string]any {
	item := map[string]any{
		"inviteeStub": a.ID, "contactStub": a.Contact.ID, "eventStub": a.Event.ID,
		"firstName": a.Contact.FirstName, "middleName": a.Contact.MiddleName, "lastName": a.Contact.LastName,
		"email": a.Contact.Email, "company": a.Contact.Company, "title": a.Contact.Title,
		"registrationType": a.RegistrationType.Name, "inviteeStatus": a.Status, "isGuest": a.Guest,
		"confirmationNumber": a.ConfirmationNumber, "registrationDate": a.RegisteredAt, "participantStatus": a.CheckedIn,
	}
	if a.Contact.ProfileImageURL != "" {
		item["profileImageUrl"] = a.Contact.ProfileImageURL
	}
	if a.PrimaryID != "" {
		item["primaryInviteeStub"] = a.PrimaryID
	}
	if !a.LastModified.IsZero() {
		item["updatedDate"] = a.LastModified.UTC().Format(time.RFC3339Nano)
	}
	return item
}
