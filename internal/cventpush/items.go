package cventpush

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CustomField is one contact custom field answer.
type CustomField struct {
	ID    String `json:"id"`
	Name  String `json:"name"`
	Value String `json:"value"`
}

// EventForInvitee is the event summary Cvent embeds in attendee items.
type EventForInvitee struct {
	EventTitle        String `json:"eventTitle"`
	EventCode         String `json:"eventCode"`
	EventLocation     String `json:"eventLocation"`
	EventStartDate    Time   `json:"eventStartDate"`
	EventEndDate      Time   `json:"eventEndDate"`
	EventTimeZoneName String `json:"eventTimeZoneName"`
}

// Attendee is an item of InviteeOrGuestAccepted/Modified/Cancelled and
// AttendeeManualSynced. Only the fields cventsync reads directly are typed;
// every other field is reachable through Raw for additional-field mapping.
type Attendee struct {
	InviteeStub        String          `json:"inviteeStub"`
	ContactStub        String          `json:"contactStub"`
	ContactSourceID    String          `json:"contactSourceId"`
	EventStub          String          `json:"eventStub"`
	AccountStub        String          `json:"accountStub"`
	ConfirmationNumber String          `json:"confirmationNumber"`
	ReferenceID        String          `json:"referenceId"`
	IsGuest            Bool            `json:"isGuest"`
	PrimaryInviteeStub String          `json:"primaryInviteeStub"`
	GroupLeaderStub    String          `json:"groupLeaderStub"`
	Prefix             String          `json:"prefix"`
	FirstName          String          `json:"firstName"`
	MiddleName         String          `json:"middleName"`
	LastName           String          `json:"lastName"`
	Title              String          `json:"title"`
	Company            String          `json:"company"`
	Email              String          `json:"email"`
	ProfileImageURL    String          `json:"profileImageUrl"`
	RegistrationType   String          `json:"registrationType"`
	AdmissionItem      String          `json:"admissionItem"`
	RegistrationDate   Time            `json:"registrationDate"`
	UpdatedDate        Time            `json:"updatedDate"`
	InviteeStatus      String          `json:"inviteeStatus"`
	ParticipantStatus  Bool            `json:"participantStatus"`
	SessionStubList    StringList      `json:"sessionStubList"`
	CustomFields       []CustomField   `json:"customFields"`
	EventForInvitee    EventForInvitee `json:"eventForInvitee"`

	// Raw is the item as Cvent sent it.
	Raw json.RawMessage `json:"-"`
}

// InviteeID is the attendee's id normalised to lower case: webhooks send
// UPPER-CASE GUIDs, the REST API the same ids in lower case.
func (a *Attendee) InviteeID() string { return NormaliseID(string(a.InviteeStub)) }

// PrimaryID is the lower-case invitee id of a guest's primary registrant, if Cvent sent one.
func (a *Attendee) PrimaryID() string {
	if a.PrimaryInviteeStub != "" {
		return NormaliseID(string(a.PrimaryInviteeStub))
	}
	return NormaliseID(string(a.GroupLeaderStub))
}

// Substitution is an InviteeSubstitutedInAnEvent item: same invitee, new
// person. Cvent sends it in snake_case, unlike every other item.
type Substitution struct {
	InviteeStub      String `json:"inviteeStub"`
	EventStub        String `json:"eventStub"`
	OldContactStub   String `json:"oldContactStub"`
	NewContactStub   String `json:"newContactStub"`
	FirstName        String `json:"first_name"`
	LastName         String `json:"last_name"`
	Email            String `json:"email"`
	OrganizationName String `json:"organization_name"`
	Title            String `json:"title"`
	PhoneWork        String `json:"phone_work"`
	CreatedDate      Time   `json:"createdDate"`

	Raw json.RawMessage `json:"-"`
}

// InviteeID is the lower-case invitee id.
func (s *Substitution) InviteeID() string { return NormaliseID(string(s.InviteeStub)) }

// Session is a SessionCreated/Updated/ManualSynced item, or the stub of a
// SessionDeleted one.
type Session struct {
	SessionStub          String     `json:"sessionStub"`
	SessionName          String     `json:"sessionName"`
	SessionCode          String     `json:"sessionCode"`
	SessionDescription   String     `json:"sessionDescription"`
	SessionStartDateTime Time       `json:"sessionStartDateTime"`
	SessionEndDateTime   Time       `json:"sessionEndDateTime"`
	TimezoneName         String     `json:"timezoneName"`
	UpdatedDate          Time       `json:"updatedDate"`
	StatusName           String     `json:"statusName"`
	Speakers             StringList `json:"speakers"`

	Raw json.RawMessage `json:"-"`
}

// SessionID is the lower-case session id.
func (s *Session) SessionID() string { return NormaliseID(string(s.SessionStub)) }

// SessionRegistration is an attendee joining or leaving a session.
type SessionRegistration struct {
	InviteeStub     String     `json:"inviteeStub"`
	SessionStub     String     `json:"sessionStub"`
	SessionStubList StringList `json:"sessionStubList"`
}

// NormaliseID lower-cases and trims a Cvent id.
func NormaliseID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// DecodeItems decodes every raw item into T, keeping each item's raw bytes.
// An item that cannot be decoded at all fails the call with its index.
func DecodeItems[T any](raw []json.RawMessage, setRaw func(*T, json.RawMessage)) ([]T, error) {
	out := make([]T, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("%w: item %d: %s", ErrMalformed, i, jsonErrorText(err))
		}
		if setRaw != nil {
			setRaw(&out[i], r)
		}
	}
	return out, nil
}

// Attendees decodes attendee items.
func Attendees(raw []json.RawMessage) ([]Attendee, error) {
	return DecodeItems(raw, func(a *Attendee, r json.RawMessage) { a.Raw = r })
}

// Substitutions decodes substitution items.
func Substitutions(raw []json.RawMessage) ([]Substitution, error) {
	return DecodeItems(raw, func(s *Substitution, r json.RawMessage) { s.Raw = r })
}

// Sessions decodes session items.
func Sessions(raw []json.RawMessage) ([]Session, error) {
	return DecodeItems(raw, func(s *Session, r json.RawMessage) { s.Raw = r })
}
