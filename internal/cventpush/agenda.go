package cventpush

import "encoding/json"

// Speaker is a SpeakerCreated/Updated/Deleted item.
type Speaker struct {
	SpeakerStub        String     `json:"speakerStub"`
	SpeakerFirstName   String     `json:"speakerFirstName"`
	SpeakerLastName    String     `json:"speakerLastName"`
	SpeakerDisplayName String     `json:"speakerDisplayName"`
	SpeakerTitle       String     `json:"speakerTitle"`
	SpeakerCompany     String     `json:"speakerCompany"`
	SpeakerBiography   String     `json:"speakerBiography"`
	PresenterAt        StringList `json:"presenterAt"`
	UpdatedDate        Time       `json:"updatedDate"`

	Raw json.RawMessage `json:"-"`
}

// SpeakerID is the lower-case speaker id.
func (s *Speaker) SpeakerID() string { return NormaliseID(string(s.SpeakerStub)) }

// Speakers decodes speaker items.
func Speakers(raw []json.RawMessage) ([]Speaker, error) {
	return DecodeItems(raw, func(s *Speaker, r json.RawMessage) { s.Raw = r })
}

// SessionRegistrations decodes InviteeRegistersForCventSession and
// InviteeCancelsRegistrationForCventSession items. Their shape is unverified:
// an item names the invitee and one session (sessionStub) or several
// (sessionStubList); both are read.
func SessionRegistrations(raw []json.RawMessage) ([]SessionRegistration, error) {
	return DecodeItems[SessionRegistration](raw, nil)
}

// InviteeID is the lower-case invitee id.
func (r *SessionRegistration) InviteeID() string { return NormaliseID(string(r.InviteeStub)) }

// SessionIDs are the lower-case ids of the sessions the item names.
func (r *SessionRegistration) SessionIDs() []string {
	var out []string
	if id := NormaliseID(string(r.SessionStub)); id != "" {
		out = append(out, id)
	}
	for _, s := range r.SessionStubList {
		if id := NormaliseID(s); id != "" {
			out = append(out, id)
		}
	}
	return out
}
