package mapping

import "github.com/cventsync/cventsync/internal/cventpush"

// typedFields reads the top-level text fields of an attendee item that its
// typed decoding holds, by webhook path. cventpush.String keeps a scalar's
// text trimmed and joins an array's scalars with ", ", as a document read
// does, so either way gives the same value; the typed one costs no second
// parse of the item.
var typedFields = map[string]func(a *cventpush.Attendee) cventpush.String{
	"inviteeStub":        func(a *cventpush.Attendee) cventpush.String { return a.InviteeStub },
	"contactStub":        func(a *cventpush.Attendee) cventpush.String { return a.ContactStub },
	"contactSourceId":    func(a *cventpush.Attendee) cventpush.String { return a.ContactSourceID },
	"eventStub":          func(a *cventpush.Attendee) cventpush.String { return a.EventStub },
	"confirmationNumber": func(a *cventpush.Attendee) cventpush.String { return a.ConfirmationNumber },
	"referenceId":        func(a *cventpush.Attendee) cventpush.String { return a.ReferenceID },
	"primaryInviteeStub": func(a *cventpush.Attendee) cventpush.String { return a.PrimaryInviteeStub },
	"groupLeaderStub":    func(a *cventpush.Attendee) cventpush.String { return a.GroupLeaderStub },
	"prefix":             func(a *cventpush.Attendee) cventpush.String { return a.Prefix },
	"firstName":          func(a *cventpush.Attendee) cventpush.String { return a.FirstName },
	"middleName":         func(a *cventpush.Attendee) cventpush.String { return a.MiddleName },
	"lastName":           func(a *cventpush.Attendee) cventpush.String { return a.LastName },
	"title":              func(a *cventpush.Attendee) cventpush.String { return a.Title },
	"company":            func(a *cventpush.Attendee) cventpush.String { return a.Company },
	"email":              func(a *cventpush.Attendee) cventpush.String { return a.Email },
	"profileImageUrl":    func(a *cventpush.Attendee) cventpush.String { return a.ProfileImageURL },
	"registrationType":   func(a *cventpush.Attendee) cventpush.String { return a.RegistrationType },
	"admissionItem":      func(a *cventpush.Attendee) cventpush.String { return a.AdmissionItem },
	"inviteeStatus":      func(a *cventpush.Attendee) cventpush.String { return a.InviteeStatus },
}

// typedField reads path from the typed item when it holds that field.
func typedField(a *cventpush.Attendee, path string) (string, bool) {
	get, ok := typedFields[path]
	if !ok || a == nil {
		return "", false
	}
	return string(get(a)), true
}
