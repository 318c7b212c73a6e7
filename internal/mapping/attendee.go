package mapping

import (
	"time"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

// FromAttendee builds the platform record for one attendee item. existing is
// the stored record, or nil; sourceTime is when Cvent produced the item.
func FromAttendee(cfg *Config, integrationID, eventType string, item *cventpush.Attendee,
	existing *directory.Attendee, sourceTime time.Time) directory.Attendee {
	status := StatusFor(eventType, item, existing)
	a := directory.Attendee{
		IntegrationID:    integrationID,
		InviteeID:        item.InviteeID(),
		ContactID:        cventpush.NormaliseID(string(item.ContactStub)),
		Email:            string(item.Email),
		FirstName:        string(item.FirstName),
		LastName:         string(item.LastName),
		Company:          string(item.Company),
		Title:            string(item.Title),
		ProfileImageURL:  string(item.ProfileImageURL),
		RegistrationType: string(item.RegistrationType),
		CventStatus:      status,
		IsGuest:          bool(item.IsGuest),
		PrimaryInviteeID: item.PrimaryID(),
		SourceTime:       sourceTime,
	}
	if existing != nil {
		// A live item that leaves out a field Cvent sent before (e.g. a cancel
		// without the profile image) must not blank it.
		keepIfEmpty(&a.ContactID, existing.ContactID)
		keepIfEmpty(&a.ProfileImageURL, existing.ProfileImageURL)
		keepIfEmpty(&a.RegistrationType, existing.RegistrationType)
		keepIfEmpty(&a.PrimaryInviteeID, existing.PrimaryInviteeID)
	}
	a.Access = Admitted(status)
	a.AccessGroups = cfg.GroupsFor(a.RegistrationType, a.Access)
	return a
}

// FromSubstitution applies a substitution: the same registration passes to a
// new person. The profile is replaced; status, access and groups are kept.
func FromSubstitution(cfg *Config, integrationID string, item *cventpush.Substitution,
	existing *directory.Attendee, sourceTime time.Time) directory.Attendee {
	a := directory.Attendee{IntegrationID: integrationID, InviteeID: item.InviteeID()}
	if existing != nil {
		a = *existing
	}
	a.ContactID = cventpush.NormaliseID(string(item.NewContactStub))
	a.FirstName = string(item.FirstName)
	a.LastName = string(item.LastName)
	a.Email = string(item.Email)
	a.Company = string(item.OrganizationName)
	a.Title = string(item.Title)
	a.ProfileImageURL = "" // the picture was the previous person's
	a.SourceTime = sourceTime
	if existing == nil {
		// A substitution for a registration we never saw: the registration
		// exists in Cvent, but we do not know its status, so no access yet; the
		// next sync or poll fills it in.
		a.AccessGroups = []string{}
	}
	return a
}

// FromSession builds the platform session for a session item.
func FromSession(integrationID string, item *cventpush.Session, deleted bool, sourceTime time.Time) directory.Session {
	return directory.Session{
		IntegrationID: integrationID,
		SessionID:     item.SessionID(),
		Name:          string(item.SessionName),
		Code:          string(item.SessionCode),
		Description:   string(item.SessionDescription),
		StartsAt:      item.SessionStartDateTime.Time,
		EndsAt:        item.SessionEndDateTime.Time,
		Timezone:      string(item.TimezoneName),
		Deleted:       deleted,
		SourceTime:    sourceTime,
	}
}

func keepIfEmpty(v *string, old string) {
	if *v == "" {
		*v = old
	}
}
