package mapping

import (
	"reflect"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

func TestAdmitted(t *testing.T) {
	for status, want := range map[string]bool{
		"Accepted": true, "accepted": true, " ACCEPTED ": true,
		"Cancelled": false, "Waitlisted": false, "Pending Approval": false, "No Response": false,
		"Declined": false, "Visited": false, "Denied Approval": false, "": false,
	} {
		if got := Admitted(status); got != want {
			t.Errorf("Admitted(%q) = %v, want %v", status, got, want)
		}
	}
}

func TestStatusFor(t *testing.T) {
	waitlisted := &directory.Attendee{CventStatus: directory.StatusWaitlisted}
	cases := []struct {
		name      string
		eventType string
		item      cventpush.Attendee
		existing  *directory.Attendee
		want      string
	}{
		{"accepted trigger", cventpush.InviteeOrGuestAccepted, cventpush.Attendee{}, nil, "Accepted"},
		{"cancel trigger wins over a stale status field", cventpush.InviteeOrGuestCancelled, cventpush.Attendee{InviteeStatus: "Accepted"}, nil, "Cancelled"},
		{"manual sync uses inviteeStatus", cventpush.AttendeeManualSynced, cventpush.Attendee{InviteeStatus: "waitlisted"}, nil, "Waitlisted"},
		{"modified keeps stored status", cventpush.InviteeOrGuestModified, cventpush.Attendee{}, waitlisted, "Waitlisted"},
		{"modified of an unknown registrant", cventpush.InviteeOrGuestModified, cventpush.Attendee{}, nil, "Accepted"},
		{"waitlisted to accepted", cventpush.InviteeOrGuestAccepted, cventpush.Attendee{}, waitlisted, "Accepted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := StatusFor(c.eventType, &c.item, c.existing); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestFromAttendeeKeepsFieldsALiveItemLeftOut(t *testing.T) {
	at := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	existing := &directory.Attendee{ProfileImageURL: "https://img/a.png", ContactID: "c1", CventStatus: "Accepted"}
	item := cventpush.Attendee{InviteeStub: "ABC", FirstName: "Amara", Email: "a@x.example"}
	got := FromAttendee(&Config{DefaultGroup: "all"}, "i1", cventpush.InviteeOrGuestCancelled, &item, existing, at)
	if got.ProfileImageURL != "https://img/a.png" || got.ContactID != "c1" {
		t.Errorf("blank fields overwrote stored ones: %+v", got)
	}
	if got.Access || len(got.AccessGroups) != 0 || got.CventStatus != "Cancelled" {
		t.Errorf("cancelled attendee keeps access or groups: %+v", got)
	}
	if got.InviteeID != "abc" || !got.SourceTime.Equal(at) {
		t.Errorf("id or source time wrong: %+v", got)
	}
}

func TestGroupsFor(t *testing.T) {
	cfg := &Config{DefaultGroup: "attendees", RegistrationTypeGroups: map[string][]string{
		"EMEA Track": {"emea", "europe"}, "Atlantic Track": {"atlantic"}, "APAC": {"apac"}, "Zulu": {"z"}}}
	cases := []struct {
		regType  string
		admitted bool
		want     []string
	}{
		{"EMEA Track", true, []string{"attendees", "emea", "europe"}},
		{"emea track", true, []string{"attendees", "emea", "europe"}},
		{"Atlantic Track", true, []string{"attendees", "atlantic"}},
		{"Unknown", true, []string{"attendees"}},
		{"EMEA Track", false, []string{}},
	}
	for _, c := range cases {
		if got := cfg.GroupsFor(c.regType, c.admitted); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GroupsFor(%q, %v) = %v, want %v", c.regType, c.admitted, got, c.want)
		}
	}
}

func TestFromSubstitutionReplacesProfileKeepsAccess(t *testing.T) {
	existing := &directory.Attendee{InviteeID: "x", FirstName: "Lin", Email: "lin@x", CventStatus: "Accepted", Access: true,
		AccessGroups: []string{"g"}, ProfileImageURL: "https://img/lin.png"}
	item := cventpush.Substitution{InviteeStub: "X", NewContactStub: "NEW", FirstName: "Priya", LastName: "Raman",
		Email: "priya@x", OrganizationName: "Contoso"}
	got := FromSubstitution(nil, "i1", &item, existing, time.Now())
	if got.FirstName != "Priya" || got.Company != "Contoso" || got.ContactID != "new" || got.ProfileImageURL != "" {
		t.Errorf("profile not replaced: %+v", got)
	}
	if !got.Access || got.CventStatus != "Accepted" || !reflect.DeepEqual(got.AccessGroups, []string{"g"}) {
		t.Errorf("access or groups lost: %+v", got)
	}
}
