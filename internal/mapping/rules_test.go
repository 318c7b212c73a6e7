package mapping

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

var at = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// amara is the shared invitee_accepted sample's item, trimmed.
const amara = `{
  "inviteeStub": "6F1D2C3B-4A59-4E8D-9C7B-1A2B3C4D5E6F", "contactStub": "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF",
  "eventStub": "3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B", "isGuest": false, "firstName": "Amara", "middleName": "",
  "lastName": "Okafor", "title": "Director of Research", "company": "Northwind Labs",
  "email": "amara.okafor@northwind.example", "profileImageUrl": "https://images.example/amara.png",
  "workPhone": "+1 555 0100", "workCity": "Austin", "registrationType": "EMEA Track", "registrationDate": "2026-03-02",
  "updatedDate": "2026-03-02", "confirmationNumber": "VQNB3XNFS5X", "totalCredits": 2,
  "customFields": [
    {"id": "5A0C7E11-2B9D-4C3A-8E1F-7D6C5B4A3F21", "name": "Dietary Requirements", "value": "Vegetarian"},
    {"id": "9B8A7C6D-5E4F-4A3B-2C1D-0E9F8A7B6C5D", "name": "T-Shirt Size", "value": ""},
    {"id": "11111111-0000-0000-0000-000000000009", "name": "Badge Name", "value": "Dr. Amara"}],
  "eventForInvitee": {"eventTitle": "Northwind Summit 2026", "eventCode": "R5NP4NJYB3D"},
  "orders": [{"orderNumber": "100045", "orderDetails": [{"productName": "Full Conference"}, {"productName": "Workshop"}]}]
}`

func decode(t *testing.T, raw string) *cventpush.Attendee {
	t.Helper()
	items, err := cventpush.Attendees([]json.RawMessage{json.RawMessage(raw)})
	if err != nil {
		t.Fatal(err)
	}
	return &items[0]
}

func TestPersonFieldMapping(t *testing.T) {
	cases := []struct {
		name   string
		fields map[string]string
		check  func(a directory.Attendee) bool
	}{
		{"defaults", nil, func(a directory.Attendee) bool {
			return a.FirstName == "Amara" && a.LastName == "Okafor" && a.Email == "amara.okafor@northwind.example" &&
				a.Company == "Northwind Labs" && a.Title == "Director of Research" && a.ProfileImageURL == "https://images.example/amara.png"
		}},
		{"company unmapped", map[string]string{"company": ""}, func(a directory.Attendee) bool { return a.Company == "" }},
		{"title unmapped", map[string]string{"title": ""}, func(a directory.Attendee) bool { return a.Title == "" }},
		{"names unmapped", map[string]string{"firstName": "", "lastName": ""}, func(a directory.Attendee) bool {
			return a.FirstName == "" && a.LastName == "" && a.Email != ""
		}},
		{"company from another field", map[string]string{"company": "eventTitle"}, func(a directory.Attendee) bool {
			return a.Company == "Northwind Summit 2026"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FromAttendee(&Config{Fields: c.fields}, "i1", cventpush.InviteeOrGuestAccepted, decode(t, amara), nil, at)
			if !c.check(got) {
				t.Errorf("unexpected record: %+v", got)
			}
		})
	}
}

func TestAdditionalFieldsFromWebhookAndREST(t *testing.T) {
	cfg := &Config{Profile: map[string]string{
		"phone": "workPhone", "city": "workCity", "registeredOn": "registrationDate", "event": "eventTitle",
		"eventCode": "eventCode", "confirmation": "confirmationNumber", "products": "orderDetails", "credit": "credit",
		"contact": "contactId", "bio": "bio", "middle": "middleName", "cancelled": "cancelledDate",
	}}
	rest := json.RawMessage(`{"id":"6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f","contact":{"biography":"Researcher.","workPhone":"+1 555 0199"},"registrationCancelledAt":""}`)
	got := FromAttendeeWith(cfg, "i1", cventpush.InviteeOrGuestAccepted, decode(t, amara), &Extra{REST: rest}, nil, at)
	want := map[string]string{
		"phone": "+1 555 0100", // the webhook wins over REST
		"city":  "Austin", "registeredOn": "2026-03-02", "event": "Northwind Summit 2026", "eventCode": "R5NP4NJYB3D",
		"confirmation": "VQNB3XNFS5X", "products": "Full Conference, Workshop", "credit": "2",
		"contact": "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF", "bio": "Researcher.",
	}
	if !reflect.DeepEqual(got.Profile, want) {
		t.Errorf("profile:\n got %v\nwant %v", got.Profile, want)
	}

	// A later item without those fields (a cancel) keeps them.
	cancel := decode(t, `{"inviteeStub":"6F1D2C3B-4A59-4E8D-9C7B-1A2B3C4D5E6F","email":"amara.okafor@northwind.example"}`)
	again := FromAttendee(cfg, "i1", cventpush.InviteeOrGuestCancelled, cancel, &got, at.Add(time.Hour))
	if again.Profile["phone"] != "+1 555 0100" || again.Profile["bio"] != "Researcher." {
		t.Errorf("a partial item blanked mapped fields: %v", again.Profile)
	}
}

func TestCustomFieldMapping(t *testing.T) {
	cfg := &Config{CustomFields: []CustomFieldMapping{
		{Name: "Dietary Requirements", To: "dietary"},
		{ID: "9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", To: "shirt"},
		{Name: "dietary requirements", To: "wrongCase"},
		{ID: "11111111-0000-0000-0000-000000000009", To: "person.firstName"},
		{QuestionID: "60F1D05B-E3EE-4D70-A7F3-0EDB9A76AF4A", To: "topics"},
		{QuestionID: "70f1d05b-e3ee-4d70-a7f3-0edb9a76af4a", To: "profile.jobLevel"},
	}}
	answers := map[string][]string{
		"60f1d05b-e3ee-4d70-a7f3-0edb9a76af4a": {"AI", "", "Robotics"},
		"70f1d05b-e3ee-4d70-a7f3-0edb9a76af4a": {"Director"},
	}
	got := FromAttendeeWith(cfg, "i1", cventpush.InviteeOrGuestAccepted, decode(t, amara), &Extra{Answers: answers}, nil, at)
	wantCustom := map[string]string{"dietary": "Vegetarian", "topics": "AI, Robotics"}
	if !reflect.DeepEqual(got.CustomFields, wantCustom) {
		t.Errorf("custom fields: got %v, want %v (names match exactly, empty values are left out)", got.CustomFields, wantCustom)
	}
	if got.FirstName != "Dr. Amara" || got.Profile["jobLevel"] != "Director" {
		t.Errorf("person or profile target not filled: %q %v", got.FirstName, got.Profile)
	}
	// Without answers (a live webhook, no REST fetch) the stored answers stay.
	again := FromAttendee(cfg, "i1", cventpush.InviteeOrGuestAccepted, decode(t, amara), &got, at.Add(time.Hour))
	if again.CustomFields["topics"] != "AI, Robotics" {
		t.Errorf("stored answers lost: %v", again.CustomFields)
	}
}

func TestAnswersFromREST(t *testing.T) {
	raw := json.RawMessage(`{"answers":[{"question":{"id":"AAA"},"value":["x","y"]},{"question":{"id":"bbb"},"value":"z"},{"question":{}}]}`)
	got := AnswersFromREST(raw)
	want := map[string][]string{"aaa": {"x", "y"}, "bbb": {"z"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAdmissionRules(t *testing.T) {
	cfg := &Config{DefaultGroup: "all", RegistrationTypeGroups: map[string][]string{"EMEA Track": {"emea"}, "Atlantic Track": {"atlantic"}}}
	skip := &Config{DefaultGroup: "all", Guests: GuestsSkip}
	accepted := &directory.Attendee{CventStatus: "Accepted", Access: true, RegistrationType: "EMEA Track", AccessGroups: []string{"all", "emea"}}
	waitlisted := &directory.Attendee{CventStatus: "Waitlisted", RegistrationType: "EMEA Track", AccessGroups: []string{}}
	cases := []struct {
		name       string
		cfg        *Config
		eventType  string
		item       string
		existing   *directory.Attendee
		wantAccess bool
		wantGroups []string
	}{
		{"accepted gets default and type groups", cfg, cventpush.InviteeOrGuestAccepted, `{"inviteeStub":"A","registrationType":"EMEA Track"}`, nil, true, []string{"all", "emea"}},
		{"waitlisted has no access", cfg, cventpush.AttendeeManualSynced, `{"inviteeStub":"A","inviteeStatus":"Waitlisted","registrationType":"EMEA Track"}`, nil, false, []string{}},
		{"pending approval has no access", cfg, cventpush.AttendeeManualSynced, `{"inviteeStub":"A","inviteeStatus":"Pending Approval"}`, nil, false, []string{}},
		{"cancel revokes", cfg, cventpush.InviteeOrGuestCancelled, `{"inviteeStub":"A"}`, accepted, false, []string{}},
		{"waitlisted to accepted grants", cfg, cventpush.InviteeOrGuestAccepted, `{"inviteeStub":"A"}`, waitlisted, true, []string{"all", "emea"}},
		{"registration type change moves groups", cfg, cventpush.InviteeOrGuestModified, `{"inviteeStub":"A","registrationType":"Atlantic Track"}`, accepted, true, []string{"all", "atlantic"}},
		{"admitted guest", cfg, cventpush.AttendeeManualSynced, `{"inviteeStub":"G","inviteeStatus":"Accepted","isGuest":"True","primaryInviteeStub":"P1"}`, nil, true, []string{"all"}},
		{"guest already stored when guests are skipped loses access", skip, cventpush.InviteeOrGuestAccepted, `{"inviteeStub":"G","isGuest":true}`, accepted, false, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FromAttendee(c.cfg, "i1", c.eventType, decode(t, c.item), c.existing, at)
			if got.Access != c.wantAccess || !reflect.DeepEqual(got.AccessGroups, c.wantGroups) {
				t.Errorf("access %v groups %v, want %v %v (status %s)", got.Access, got.AccessGroups, c.wantAccess, c.wantGroups, got.CventStatus)
			}
		})
	}
}

func TestGuestSetting(t *testing.T) {
	guest := decode(t, `{"inviteeStub":"G","isGuest":"True","primaryInviteeStub":"P1"}`)
	primary := decode(t, `{"inviteeStub":"P1"}`)
	stored := &directory.Attendee{InviteeID: "g"}
	cases := []struct {
		name     string
		cfg      *Config
		item     *cventpush.Attendee
		existing *directory.Attendee
		want     bool
	}{
		{"default admits guests", nil, guest, nil, false},
		{"admit", &Config{Guests: GuestsAdmit}, guest, nil, false},
		{"skip a new guest", &Config{Guests: GuestsSkip}, guest, nil, true},
		{"skip keeps updating a stored guest", &Config{Guests: GuestsSkip}, guest, stored, false},
		{"skip never skips a primary registrant", &Config{Guests: GuestsSkip}, primary, nil, false},
	}
	for _, c := range cases {
		if got := Skip(c.cfg, c.item, c.existing); got != c.want {
			t.Errorf("%s: Skip = %v, want %v", c.name, got, c.want)
		}
	}
	a := FromAttendee(nil, "i1", cventpush.InviteeOrGuestAccepted, guest, nil, at)
	if !a.IsGuest || a.PrimaryInviteeID != "p1" {
		t.Errorf("guest not linked to its primary registrant: %+v", a)
	}
}

func TestSubstitutionWithMapping(t *testing.T) {
	cfg := &Config{
		Profile:      map[string]string{"phone": "workPhone", "confirmation": "confirmationNumber"},
		CustomFields: []CustomFieldMapping{{Name: "Dietary Requirements", To: "dietary"}, {QuestionID: "q1", To: "topics"}},
		Fields:       map[string]string{"company": ""},
	}
	existing := &directory.Attendee{InviteeID: "x", FirstName: "Lin", Email: "lin@x", CventStatus: "Accepted", Access: true,
		AccessGroups: []string{"all", "emea"}, RegistrationType: "EMEA Track",
		Profile:      map[string]string{"phone": "111", "confirmation": "C1"},
		CustomFields: map[string]string{"dietary": "Vegan", "topics": "AI"}}
	raw := json.RawMessage(`{"inviteeStub":"X","newContactStub":"NEW","first_name":"Priya","last_name":"Raman","email":"priya@x","organization_name":"Contoso","phone_work":"222"}`)
	subs, _ := cventpush.Substitutions([]json.RawMessage{raw})
	got := FromSubstitution(cfg, "i1", &subs[0], existing, at)
	if got.FirstName != "Priya" || got.Email != "priya@x" || got.Company != "" || got.ContactID != "new" {
		t.Errorf("person not replaced per mapping: %+v", got)
	}
	if !reflect.DeepEqual(got.Profile, map[string]string{"phone": "222", "confirmation": "C1"}) {
		t.Errorf("profile: person fields must be replaced, registration fields kept: %v", got.Profile)
	}
	if !reflect.DeepEqual(got.CustomFields, map[string]string{"topics": "AI"}) {
		t.Errorf("custom fields: the old person's contact fields must go, answers stay: %v", got.CustomFields)
	}
	if !got.Access || !reflect.DeepEqual(got.AccessGroups, []string{"all", "emea"}) || got.CventStatus != "Accepted" {
		t.Errorf("access or groups lost: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"empty is the default mapping", Config{}, ""},
		{"full example", Config{Fields: map[string]string{"company": "", "title": "designation"},
			Profile:      map[string]string{"phone": "workPhone", "bio": "bio"},
			CustomFields: []CustomFieldMapping{{Name: "Dietary", To: "dietary"}, {QuestionID: "q", To: "person.title"}},
			DefaultGroup: "all", RegistrationTypeGroups: map[string][]string{"EMEA": {"emea"}},
			Guests: GuestsSkip, Sessions: SessionConfig{Import: ImportManagedSchedule, Groups: map[string][]string{"KEY-01": {"emea"}}}}, ""},
		{"unknown Cvent field", Config{Profile: map[string]string{"phone": "workFone"}}, `profile.phone: unknown Cvent field "workFone"`},
		{"unknown Cvent field for a person field", Config{Fields: map[string]string{"title": "jobTitle"}}, `fields.title: unknown Cvent field "jobTitle"`},
		{"email unmapped", Config{Fields: map[string]string{"email": ""}}, "fields.email cannot be unmapped"},
		{"profile image unmapped", Config{Fields: map[string]string{"profileImageUrl": ""}}, "fields.profileImageUrl cannot be unmapped"},
		{"unknown person field", Config{Fields: map[string]string{"nickname": "nickName"}}, `unknown person field "nickname"`},
		{"group mapped twice", Config{RegistrationTypeGroups: map[string][]string{"EMEA": {"emea", "emea"}}}, `group "emea" is mapped twice`},
		{"default group mapped again", Config{DefaultGroup: "all", RegistrationTypeGroups: map[string][]string{"EMEA": {"all"}}}, `group "all" is already the default group`},
		{"registration type mapped twice", Config{RegistrationTypeGroups: map[string][]string{"EMEA": {"a"}, "emea": {"b"}}}, "is mapped twice"},
		{"no groups", Config{RegistrationTypeGroups: map[string][]string{"EMEA": {}}}, "no groups given"},
		{"custom field without source", Config{CustomFields: []CustomFieldMapping{{To: "x"}}}, "customFields[0]: give exactly one of"},
		{"custom field with two sources", Config{CustomFields: []CustomFieldMapping{{Name: "a", ID: "b", To: "x"}}}, "customFields[0]: give exactly one of"},
		{"custom field without target", Config{CustomFields: []CustomFieldMapping{{Name: "a"}}}, "customFields[0]: to is required"},
		{"custom field to email", Config{CustomFields: []CustomFieldMapping{{Name: "a", To: "person.email"}}}, `"person.email" is not a person field`},
		{"two sources to one target", Config{CustomFields: []CustomFieldMapping{{Name: "a", To: "x"}, {Name: "b", To: "x"}}}, `customFields[0] and customFields[1] both map to "customFields.x"`},
		{"custom field onto a profile field", Config{Profile: map[string]string{"phone": "workPhone"}, CustomFields: []CustomFieldMapping{{Name: "a", To: "profile.phone"}}}, `both map to "profile.phone"`},
		{"guests", Config{Guests: "maybe"}, `guests must be "admit" or "skip"`},
		{"import method", Config{Sessions: SessionConfig{Import: "all"}}, `sessions.import must be`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(c.cfg.Validate(), "; ")
			if c.want == "" && got != "" {
				t.Fatalf("valid config rejected: %s", got)
			}
			if !strings.Contains(got, c.want) {
				t.Fatalf("got %q, want it to contain %q", got, c.want)
			}
		})
	}
}

func TestEveryCatalogueFieldIsUniqueAndHasASource(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields {
		if seen[strings.ToLower(f.Name)] {
			t.Errorf("field %q listed twice", f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		if f.Webhook == "" && f.REST == "" {
			t.Errorf("field %q has no source", f.Name)
		}
	}
}

func TestAgendaRules(t *testing.T) {
	sessions := []directory.Session{
		{SessionID: "s1", Code: "KEY-01"}, {SessionID: "s2", Code: "EMEA-1"}, {SessionID: "s3"}, {SessionID: "s4", Deleted: true},
	}
	personal := &Config{}
	managed := &Config{Sessions: SessionConfig{Import: ImportManagedSchedule, Groups: map[string][]string{"emea-1": {"emea"}, "S3": {"vip"}}}}
	emea := &directory.Attendee{Access: true, AccessGroups: []string{"all", "emea"}}
	other := &directory.Attendee{Access: true, AccessGroups: []string{"all"}}
	noAccess := &directory.Attendee{Access: false}
	registered := map[string]bool{"s1": true, "s4": true, "unknown": true}
	cases := []struct {
		name string
		cfg  *Config
		a    *directory.Attendee
		want []string
	}{
		{"personal agenda: registered, not deleted", personal, emea, []string{"s1"}},
		{"personal agenda without access", personal, noAccess, []string{}},
		{"managed: group sessions and open ones", managed, emea, []string{"s1", "s2"}},
		{"managed: only open sessions for others", managed, other, []string{"s1"}},
		{"managed without access", managed, noAccess, []string{}},
	}
	for _, c := range cases {
		got := []string{}
		for _, s := range Agenda(c.cfg, c.a, sessions, registered) {
			got = append(got, s.SessionID)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAgendaFromSyncAndRegistration(t *testing.T) {
	with := decode(t, `{"inviteeStub":"A","sessionStubList":["S2","s1","S2"]}`)
	empty := decode(t, `{"inviteeStub":"A","sessionStubList":[]}`)
	without := decode(t, `{"inviteeStub":"A"}`)
	if ids, ok := AgendaFromSync(with); !ok || !reflect.DeepEqual(ids, []string{"s1", "s2"}) {
		t.Errorf("with list: %v %v", ids, ok)
	}
	if ids, ok := AgendaFromSync(empty); !ok || len(ids) != 0 {
		t.Errorf("an empty list clears the agenda: %v %v", ids, ok)
	}
	if _, ok := AgendaFromSync(without); ok {
		t.Error("an item without sessionStubList must leave the agenda alone")
	}
	reg := cventpush.SessionRegistration{InviteeStub: "A", SessionStub: "S1"}
	for _, c := range []struct {
		eventType string
		want      bool
	}{{cventpush.InviteeRegistersSession, true}, {cventpush.InviteeCancelsSession, false}} {
		got := AgendaFromRegistration("i1", c.eventType, &reg, at)
		if len(got) != 1 || got[0].Registered != c.want || got[0].SessionID != "s1" || got[0].InviteeID != "a" {
			t.Errorf("%s: %+v", c.eventType, got)
		}
	}
}

func TestFromREST(t *testing.T) {
	s := FromRESTSession("i1", &cvent.Session{ID: "ABC", Name: "Keynote", Start: "2026-05-25T18:00:00Z", Status: "Active"}, at)
	if s.SessionID != "abc" || s.StartsAt.Hour() != 18 || s.Deleted || !s.SourceTime.Equal(at) {
		t.Errorf("session: %+v", s)
	}
	got := AgendasFromEnrollment([]cvent.Enrollment{
		{Attendee: cvent.Lookup{ID: "A"}, Session: cvent.Lookup{ID: "S2"}},
		{Attendee: cvent.Lookup{ID: "a"}, Session: cvent.Lookup{ID: "s1"}},
		{Attendee: cvent.Lookup{ID: "a"}, Session: cvent.Lookup{ID: "S1"}},
		{Attendee: cvent.Lookup{ID: "b"}},
	})
	if !reflect.DeepEqual(got, map[string][]string{"a": {"s1", "s2"}}) {
		t.Errorf("agendas: %v", got)
	}
	var rec cvent.Attendee
	if err := json.Unmarshal([]byte(`{"id":"a","answers":[{"question":{"id":"Q"},"value":["x"]}]}`), &rec); err != nil {
		t.Fatal(err)
	}
	if ex := ExtraFromREST(&rec); !reflect.DeepEqual(ex.Answers, map[string][]string{"q": {"x"}}) || len(ex.REST) == 0 {
		t.Errorf("extra: %+v", ex)
	}
}
