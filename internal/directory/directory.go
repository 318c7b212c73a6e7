// Package directory defines the platform-side records cventsync keeps in sync:
// attendees and sessions as the event platform sees them. The mapping package
// produces them from Cvent data; the store package persists them.
package directory

import "time"

// Cvent registration statuses (REST names; webhooks use the same words).
const (
	StatusAccepted        = "Accepted"
	StatusCancelled       = "Cancelled"
	StatusWaitlisted      = "Waitlisted"
	StatusNoResponse      = "No Response"
	StatusDeclined        = "Declined"
	StatusVisited         = "Visited"
	StatusPendingApproval = "Pending Approval"
	StatusDeniedApproval  = "Denied Approval"
)

// Attendee is one registrant as the platform sees it.
type Attendee struct {
	IntegrationID    string
	InviteeID        string // lower case
	ContactID        string // lower case
	Email            string
	FirstName        string
	LastName         string
	Company          string
	Title            string
	ProfileImageURL  string
	RegistrationType string
	CventStatus      string
	Access           bool
	IsGuest          bool
	PrimaryInviteeID string
	AccessGroups     []string
	Profile          map[string]string // additional mapped fields, by platform field name
	CustomFields     map[string]string // mapped custom fields, by platform field name
	// SourceTime is when Cvent produced this state; an older one never overwrites a newer one.
	SourceTime time.Time
	UpdatedAt  time.Time
	CreatedAt  time.Time
}

// Session is one agenda item.
type Session struct {
	IntegrationID string
	SessionID     string // lower case
	Name          string
	Code          string
	Description   string
	StartsAt      time.Time
	EndsAt        time.Time
	Timezone      string
	// SpeakerIDs are the speakers the session item listed (lower case, in
	// its order). Nil keeps the stored ones: a REST session names none.
	SpeakerIDs []string
	Deleted    bool
	SourceTime time.Time
	UpdatedAt  time.Time
}
