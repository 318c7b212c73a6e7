package mapping

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// Field is one Cvent attendee field that can be mapped to the platform. A
// field can come from a webhook item, a substitution item (snake_case), the
// REST attendee, or several of them; the first source that has a value wins,
// webhook first.
type Field struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Webhook is the dotted path in a webhook attendee item ("" = not sent).
	// Paths walk through arrays: "orders.orderDetails.productName" joins every
	// product name with ", ".
	Webhook string `json:"webhook,omitempty"`
	// Substitution is the key in an InviteeSubstitutedInAnEvent item.
	Substitution string `json:"substitution,omitempty"`
	// REST is the dotted path in a REST attendee (GET /attendees/{id}).
	REST string `json:"rest,omitempty"`
	// Person fields describe the person, not the registration: a substitution
	// replaces them, where registration fields (type, dates, ids) are kept.
	Person bool `json:"person"`
}

// Fields is the catalogue of mappable Cvent attendee fields. Webhook names
// are from shared/cvent/FACTS.md and the samples; REST paths from Cvent's
// OpenAPI attendee schema. Names not seen on the wire (cancelledDate,
// internalNote in live items, invitedBy) are accepted and simply stay empty
// when Cvent leaves them out.
var Fields = []Field{
	// Person.
	{Name: "prefix", Label: "Prefix", Webhook: "prefix", REST: "contact.prefix", Person: true},
	{Name: "firstName", Label: "First name", Webhook: "firstName", Substitution: "first_name", REST: "contact.firstName", Person: true},
	{Name: "middleName", Label: "Middle name", Webhook: "middleName", Substitution: "middle_name", REST: "contact.middleName", Person: true},
	{Name: "lastName", Label: "Last name", Webhook: "lastName", Substitution: "last_name", REST: "contact.lastName", Person: true},
	{Name: "fullName", Label: "Full name", Webhook: "fullName", Person: true},
	{Name: "nickName", Label: "Nickname", Webhook: "nickName", Substitution: "nickname", REST: "contact.nickname", Person: true},
	{Name: "email", Label: "Email", Webhook: "email", Substitution: "email", REST: "contact.email", Person: true},
	{Name: "ccEmail", Label: "CC email", Webhook: "ccEmail", Substitution: "cc_email", REST: "contact.ccEmail", Person: true},
	{Name: "company", Label: "Company", Webhook: "company", Substitution: "organization_name", REST: "contact.company", Person: true},
	{Name: "title", Label: "Title", Webhook: "title", Substitution: "title", REST: "contact.title", Person: true},
	{Name: "designation", Label: "Designation", Webhook: "designation", REST: "contact.designation", Person: true},
	{Name: "gender", Label: "Gender", Webhook: "gender", REST: "contact.gender", Person: true},
	{Name: "dateOfBirth", Label: "Date of birth", Webhook: "dateOfBirth", Person: true},
	{Name: "profileImageUrl", Label: "Profile image URL", Webhook: "profileImageUrl", REST: "contact.profileImageUrl", Person: true},
	{Name: "phone", Label: "Phone (mobile)", Webhook: "mobilePhone", Substitution: "phone_mobile", REST: "contact.mobilePhone", Person: true},
	{Name: "mobilePhone", Label: "Mobile phone", Webhook: "mobilePhone", Substitution: "phone_mobile", REST: "contact.mobilePhone", Person: true},
	{Name: "workPhone", Label: "Work phone", Webhook: "workPhone", Substitution: "phone_work", REST: "contact.workPhone", Person: true},
	{Name: "homePhone", Label: "Home phone", Webhook: "homePhone", Substitution: "phone_home", REST: "contact.homePhone", Person: true},
	{Name: "workAddress1", Label: "Work address line 1", Webhook: "workAddress1", REST: "contact.workAddress.address1", Person: true},
	{Name: "workAddress2", Label: "Work address line 2", Webhook: "workAddress2", REST: "contact.workAddress.address2", Person: true},
	{Name: "workAddress3", Label: "Work address line 3", Webhook: "workAddress3", REST: "contact.workAddress.address3", Person: true},
	{Name: "workCity", Label: "Work city", Webhook: "workCity", REST: "contact.workAddress.city", Person: true},
	{Name: "workState", Label: "Work state or region", Webhook: "workState", REST: "contact.workAddress.region", Person: true},
	{Name: "workPostalCode", Label: "Work postal code", Webhook: "workPostalCode", REST: "contact.workAddress.postalCode", Person: true},
	{Name: "workCountry", Label: "Work country", Webhook: "workCountry", REST: "contact.workAddress.country", Person: true},
	{Name: "homeCity", Label: "Home city", Webhook: "homeCity", REST: "contact.homeAddress.city", Person: true},
	{Name: "homeState", Label: "Home state or region", Webhook: "homeState", REST: "contact.homeAddress.region", Person: true},
	{Name: "homeCountry", Label: "Home country", Webhook: "homeCountry", REST: "contact.homeAddress.country", Person: true},
	{Name: "bio", Label: "Biography", REST: "contact.biography", Person: true},
	{Name: "websiteUrl", Label: "Website URL", REST: "websiteUrl", Person: true},
	{Name: "contactId", Label: "Contact id", Webhook: "contactStub", Substitution: "newContactStub", REST: "contact.id", Person: true},
	{Name: "sourceId", Label: "Contact source id", Webhook: "contactSourceId", REST: "contact.sourceId", Person: true},
	{Name: "contactType", Label: "Contact type", Webhook: "contactType", REST: "contact.type", Person: true},
	{Name: "optedOut", Label: "Opted out", Webhook: "optedOut", Person: true},

	// Registration.
	{Name: "inviteeId", Label: "Invitee (attendee) id", Webhook: "inviteeStub", Substitution: "inviteeStub", REST: "id"},
	{Name: "eventId", Label: "Event id", Webhook: "eventStub", Substitution: "eventStub", REST: "event.id"},
	{Name: "eventCode", Label: "Event code", Webhook: "eventForInvitee.eventCode"},
	{Name: "eventTitle", Label: "Event title", Webhook: "eventForInvitee.eventTitle"},
	{Name: "eventStartDate", Label: "Event start date", Webhook: "eventForInvitee.eventStartDate"},
	{Name: "eventEndDate", Label: "Event end date", Webhook: "eventForInvitee.eventEndDate"},
	{Name: "eventTimeZone", Label: "Event time zone", Webhook: "eventForInvitee.eventTimeZoneName"},
	{Name: "status", Label: "Registration status", Webhook: "inviteeStatus", REST: "status"},
	{Name: "registrationType", Label: "Registration type", Webhook: "registrationType", REST: "registrationType.name"},
	{Name: "admissionItem", Label: "Admission item", Webhook: "admissionItem", REST: "admissionItem.name"},
	{Name: "registrationDate", Label: "Registration date", Webhook: "registrationDate", REST: "registeredAt"},
	{Name: "cancelledDate", Label: "Cancelled date", Webhook: "cancelledDate", REST: "registrationCancelledAt"},
	{Name: "lastModified", Label: "Last modified", Webhook: "updatedDate", REST: "lastModified"},
	{Name: "confirmationNumber", Label: "Confirmation number", Webhook: "confirmationNumber", REST: "confirmationNumber"},
	{Name: "referenceId", Label: "Reference id", Webhook: "referenceId", REST: "referenceId"},
	{Name: "responseMethod", Label: "Response method", Webhook: "responseMethod", REST: "responseMethod"},
	{Name: "isGuest", Label: "Is a guest", Webhook: "isGuest", REST: "guest"},
	{Name: "primaryInviteeId", Label: "Primary registrant id", Webhook: "primaryInviteeStub", REST: "primaryId"},
	{Name: "groupLeader", Label: "Group leader id", Webhook: "groupLeaderStub", REST: "group.leader"},
	{Name: "invitedBy", Label: "Invited by", Webhook: "invitedBy", REST: "invitedBy"},
	{Name: "invitationList", Label: "Invitation list", REST: "invitationList.name"},
	{Name: "registrationPath", Label: "Registration path", REST: "registrationPath.name"},
	{Name: "internalNote", Label: "Internal note", Webhook: "internalNote", REST: "note"},
	{Name: "credit", Label: "Credit", Webhook: "totalCredits", REST: "credit"},
	{Name: "eligibleCredits", Label: "Eligible credits", Webhook: "eligibleCredits"},
	{Name: "participant", Label: "Event participant", Webhook: "participantStatus", REST: "checkedIn"},
	{Name: "checkIn", Label: "Checked in at", REST: "checkIn"},
	{Name: "visibleOnAttendeeList", Label: "Visible on attendee list", Webhook: "visibleOnAttendeeList", REST: "visibility"},
	{Name: "orderNumber", Label: "Order number(s)", Webhook: "orders.orderNumber"},
	{Name: "orderDate", Label: "Order date(s)", Webhook: "orders.orderDate"},
	{Name: "orderDetails", Label: "Ordered products", Webhook: "orders.orderDetails.productName"},
	{Name: "orderAmount", Label: "Order amount(s)", Webhook: "orders.orderDetails.orderAmount"},
	{Name: "paidAmount", Label: "Paid amount(s)", Webhook: "orders.orderDetails.paidAmount"},
}

var fieldsByName = func() map[string]*Field {
	m := make(map[string]*Field, len(Fields))
	for i := range Fields {
		m[strings.ToLower(Fields[i].Name)] = &Fields[i]
	}
	return m
}()

// LookupField finds a catalogue field by name, ignoring case.
func LookupField(name string) (*Field, bool) {
	f, ok := fieldsByName[strings.ToLower(strings.TrimSpace(name))]
	return f, ok
}

// FieldNames lists the catalogue's names, sorted, for error messages.
func FieldNames() []string {
	out := make([]string, len(Fields))
	for i := range Fields {
		out[i] = Fields[i].Name
	}
	sort.Strings(out)
	return out
}

// doc is a decoded JSON object that values are read from by dotted path.
type doc map[string]any

func parseDoc(raw json.RawMessage) doc {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // "0.00" stays "0.00", ids stay exact
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil
	}
	return m
}

// get reads a dotted path. Arrays are walked element by element and the
// scalars found are joined with ", "; empty values are skipped.
func (d doc) get(path string) string {
	if d == nil || path == "" {
		return ""
	}
	var out []string
	collect(map[string]any(d), strings.Split(path, "."), &out)
	return strings.Join(out, ", ")
}

func collect(v any, path []string, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		if len(path) == 0 {
			return // an object is not a value
		}
		next, ok := t[path[0]]
		if !ok {
			// Cvent varies key case between sources; match case-insensitively as a fallback.
			for k, vv := range t {
				if strings.EqualFold(k, path[0]) {
					next, ok = vv, true
					break
				}
			}
		}
		if ok {
			collect(next, path[1:], out)
		}
	case []any:
		for _, e := range t {
			collect(e, path, out)
		}
	case nil:
	default:
		if len(path) > 0 {
			return
		}
		s := strings.TrimSpace(scalarText(t))
		if s != "" {
			*out = append(*out, s)
		}
	}
}

func scalarText(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "true"
		}
		return "false"
	}
	return ""
}
