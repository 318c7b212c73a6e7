package ingest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/mapping"
)

// A REST attendee rendered as a webhook item maps like the webhook would.
func TestItemFromRESTMapsLikeAWebhook(t *testing.T) {
	a := cvent.Attendee{ID: "abc", Status: "Cancelled", Guest: true, PrimaryID: "pri",
		Contact:          cvent.AttendeeContact{ID: "con", FirstName: "Lin", LastName: "Zhao", Email: "lin@x.example", Company: "Contoso"},
		RegistrationType: cvent.Lookup{Name: "EMEA Track"}, LastModified: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	b, _ := json.Marshal(ItemFromREST(&a))
	var item cventpush.Attendee
	if err := json.Unmarshal(b, &item); err != nil {
		t.Fatal(err)
	}
	got := mapping.FromAttendee(&mapping.Config{DefaultGroup: "all"}, "i", cventpush.AttendeeManualSynced, &item, nil, time.Now())
	if got.InviteeID != "abc" || got.ContactID != "con" || got.FirstName != "Lin" || got.Company != "Contoso" ||
		got.RegistrationType != "EMEA Track" || !got.IsGuest || got.PrimaryInviteeID != "pri" {
		t.Errorf("record: %+v", got)
	}
	if got.CventStatus != "Cancelled" || got.Access || len(got.AccessGroups) != 0 {
		t.Errorf("a cancelled REST attendee must not have access: %+v", got)
	}
}
