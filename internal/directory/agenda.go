package directory

import "time"

// Speaker presents sessions.
type Speaker struct {
	IntegrationID string
	SpeakerID     string // lower case
	FirstName     string
	LastName      string
	DisplayName   string
	Title         string
	Company       string
	Biography     string
	SessionIDs    []string // lower case, the sessions they present
	Deleted       bool
	SourceTime    time.Time
	UpdatedAt     time.Time
}

// AgendaEntry is an attendee's registration for a session (personal agenda).
// Registered false is a tombstone: the attendee left the session, and an
// older "registered" message must not bring it back.
type AgendaEntry struct {
	IntegrationID string
	InviteeID     string // lower case
	SessionID     string // lower case
	Registered    bool
	SourceTime    time.Time
}
