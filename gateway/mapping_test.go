package gateway_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/store"
)

// mappedAttendee is the attendee API answer with the mapped fields.
type mappedAttendee struct {
	attendee
	PrimaryInviteeID string            `json:"primaryInviteeId"`
	Profile          map[string]string `json:"profile"`
	CustomFields     map[string]string `json:"customFields"`
}

const (
	amaraID = "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f"
	linID   = "11111111-aaaa-4bbb-8ccc-000000000001"
	sofiaID = "11111111-aaaa-4bbb-8ccc-000000000002"
	theoID  = "11111111-aaaa-4bbb-8ccc-000000000003"
	keynote = "01d7e3c5-3275-4bd6-8149-bd8b1574200f"
)

const sampleMapping = `{
	"fields": {"title": ""},
	"profile": {"phone": "workPhone", "event": "eventTitle", "confirmation": "confirmationNumber"},
	"customFields": [{"name": "Dietary Requirements", "to": "dietary"}],
	"defaultGroup": "attendees",
	"registrationTypeGroups": {"EMEA Track": ["emea"], "Atlantic Track": ["atlantic"]},
	"guests": %q
}`

func (s *stack) deliver(in integration, body []byte) {
	s.t.Helper()
	ans := s.post(in, in.WebhookToken, body, http.StatusOK)
	if d := s.waitDelivery(ans.DeliveryID, 20*time.Second); d.Status != store.DeliveryProcessed {
		s.t.Fatalf("delivery %d: status %s (%s)", ans.DeliveryID, d.Status, d.Error)
	}
}

func (s *stack) mappedAttendee(in integration, inviteeID string, wantStatus int) mappedAttendee {
	s.t.Helper()
	var a mappedAttendee
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/attendees/"+inviteeID, "", wantStatus, &a)
	return a
}

func mappedIntegration(s *stack, guests string) integration {
	return s.createIntegration(`{"name":"Summit","cventEventId":"3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B","mapping":` +
		strings.Replace(sampleMapping, "%q", `"`+guests+`"`, 1) + `}`)
}

// The shared samples through the whole pipeline: groups, admission, guests,
// agenda and substitution, under one mapping.
func TestMappingSharedSamples(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := mappedIntegration(s, "admit")

	s.deliver(in, s.sample("session_created.json"))
	s.deliver(in, s.sample("invitee_accepted.json"))
	amara := s.mappedAttendee(in, amaraID, http.StatusOK)
	if !amara.Access || !reflect.DeepEqual(amara.Groups, []string{"attendees", "emea"}) {
		t.Errorf("the EMEA Track registrant is not in the EMEA group: access %v groups %v", amara.Access, amara.Groups)
	}
	if amara.Title != "" || amara.Profile["phone"] != "+1 555 0100" || amara.Profile["event"] != "Northwind Summit 2026" ||
		amara.CustomFields["dietary"] != "Vegetarian" {
		t.Errorf("mapping not applied: title %q profile %v custom %v", amara.Title, amara.Profile, amara.CustomFields)
	}

	s.deliver(in, s.sample("attendee_manual_sync.json"))
	sofia := s.mappedAttendee(in, sofiaID, http.StatusOK)
	if sofia.Access || len(sofia.Groups) != 0 || sofia.CventStatus != "Waitlisted" {
		t.Errorf("the waitlisted registrant has access: %+v", sofia)
	}
	theo := s.mappedAttendee(in, theoID, http.StatusOK)
	if !theo.IsGuest || !theo.Access || !reflect.DeepEqual(theo.Groups, []string{"attendees"}) {
		t.Errorf("an admitted guest must be an attendee of their own with access: %+v", theo)
	}

	var agenda struct {
		ImportMethod string `json:"importMethod"`
		Sessions     []struct {
			SessionID  string   `json:"sessionId"`
			Name       string   `json:"name"`
			SpeakerIDs []string `json:"speakerIds"`
		} `json:"sessions"`
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/attendees/"+linID+"/agenda", "", http.StatusOK, &agenda)
	if agenda.ImportMethod != "personalAgenda" || len(agenda.Sessions) != 1 || agenda.Sessions[0].SessionID != keynote ||
		agenda.Sessions[0].Name != "Keynote: The Next Decade" || len(agenda.Sessions[0].SpeakerIDs) != 1 {
		t.Errorf("personal agenda from the manual sync: %+v", agenda)
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/attendees/"+sofiaID+"/agenda", "", http.StatusOK, &agenda)
	if len(agenda.Sessions) != 0 {
		t.Errorf("an attendee without access sees sessions: %+v", agenda)
	}

	lin := s.mappedAttendee(in, linID, http.StatusOK)
	s.deliver(in, s.sample("invitee_substituted.json"))
	priya := s.mappedAttendee(in, linID, http.StatusOK)
	if priya.FirstName != "Priya" || priya.LastName != "Raman" || priya.Email != "priya.raman@contoso.example" ||
		priya.ContactID != "22222222-aaaa-4bbb-8ccc-0000000000a1" || priya.CustomFields["dietary"] != "" {
		t.Errorf("substitution did not replace the profile: %+v", priya)
	}
	if !priya.Access || !reflect.DeepEqual(priya.Groups, lin.Groups) || !reflect.DeepEqual(priya.Groups, []string{"attendees", "atlantic"}) {
		t.Errorf("substitution lost access or groups: before %v, after %+v", lin.Groups, priya)
	}
}

func TestGuestSkippedBySetting(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := mappedIntegration(s, "skip")
	s.deliver(in, s.sample("attendee_manual_sync.json"))
	s.mappedAttendee(in, theoID, http.StatusNotFound)
	if got := s.attendees(in, ""); len(got) != 2 {
		t.Errorf("got %d attendees, want the 2 registrants without the guest", len(got))
	}
}

func TestSessionCreatedUpdatedDeleted(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := mappedIntegration(s, "admit")
	sessions := func(query string) []map[string]any {
		var out struct{ Sessions []map[string]any }
		s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/sessions"+query, "", http.StatusOK, &out)
		return out.Sessions
	}
	s.deliver(in, s.sample("session_created.json"))
	if got := sessions(""); len(got) != 1 || got[0]["name"] != "Keynote: The Next Decade" {
		t.Fatalf("created: %v", got)
	}
	t0 := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	s.deliver(in, withEnvelope("SessionUpdated", "upd-1", t0, map[string]any{
		"sessionStub": strings.ToUpper(keynote), "sessionName": "Keynote: The Next Ten Years", "sessionCode": "KEY-01",
		"sessionStartDateTime": "2026-05-25T18:30:00", "speakers": []string{}}))
	if got := sessions(""); len(got) != 1 || got[0]["name"] != "Keynote: The Next Ten Years" {
		t.Fatalf("updated: %v", got)
	}
	s.deliver(in, withEnvelope("SpeakerCreated", "spk-1", t0, map[string]any{
		"speakerStub": "7A279D37-3665-4E27-B398-4F4810E48D5F", "speakerFirstName": "Ada", "speakerLastName": "Lovelace",
		"presenterAt": []string{strings.ToUpper(keynote)}}))
	var speakers struct {
		Speakers []struct {
			FirstName  string   `json:"firstName"`
			SessionIDs []string `json:"sessionIds"`
		}
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/speakers", "", http.StatusOK, &speakers)
	if len(speakers.Speakers) != 1 || speakers.Speakers[0].FirstName != "Ada" || speakers.Speakers[0].SessionIDs[0] != keynote {
		t.Errorf("speaker: %+v", speakers)
	}
	s.deliver(in, withEnvelope("SessionDeleted", "del-1", t0.Add(time.Hour), map[string]any{"sessionStub": strings.ToUpper(keynote)}))
	if got := sessions(""); len(got) != 0 {
		t.Fatalf("deleted session still listed: %v", got)
	}
	// A late update older than the delete cannot revive it.
	s.deliver(in, withEnvelope("SessionUpdated", "upd-late", t0.Add(30*time.Minute), map[string]any{
		"sessionStub": keynote, "sessionName": "Zombie"}))
	if got := sessions(""); len(got) != 0 {
		t.Fatalf("a stale update revived a deleted session: %v", got)
	}
	if got := sessions("?includeDeleted=true"); len(got) != 1 || got[0]["deleted"] != true {
		t.Fatalf("tombstone: %v", got)
	}
}

func TestSessionRegistrationWebhooksAndManagedSchedule(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := mappedIntegration(s, "admit")
	s.deliver(in, s.sample("session_created.json"))
	s.deliver(in, s.sample("invitee_accepted.json"))
	agenda := func() []string {
		var out struct{ Sessions []struct{ SessionID string } }
		s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/attendees/"+amaraID+"/agenda", "", http.StatusOK, &out)
		ids := []string{}
		for _, se := range out.Sessions {
			ids = append(ids, se.SessionID)
		}
		return ids
	}
	t0 := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	s.deliver(in, withEnvelope("InviteeRegistersForCventSession", "reg-1", t0,
		map[string]any{"inviteeStub": strings.ToUpper(amaraID), "sessionStub": strings.ToUpper(keynote)}))
	if got := agenda(); !reflect.DeepEqual(got, []string{keynote}) {
		t.Fatalf("after registering: %v", got)
	}
	s.deliver(in, withEnvelope("InviteeCancelsRegistrationForCventSession", "reg-2", t0.Add(time.Minute),
		map[string]any{"inviteeStub": amaraID, "sessionStub": keynote}))
	if got := agenda(); len(got) != 0 {
		t.Fatalf("after cancelling: %v", got)
	}
	// Managed schedule: the session is limited to the EMEA group, which Amara is in.
	s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, `{"mapping":{"defaultGroup":"attendees",
		"registrationTypeGroups":{"EMEA Track":["emea"]},"sessions":{"import":"managedSchedule","groups":{"KEY-01":["emea"]}}}}`,
		http.StatusOK, nil)
	if got := agenda(); !reflect.DeepEqual(got, []string{keynote}) {
		t.Fatalf("managed schedule by group: %v", got)
	}
	s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, `{"mapping":{"sessions":{"import":"managedSchedule","groups":{"KEY-01":["vip"]}}}}`,
		http.StatusOK, nil)
	if got := agenda(); len(got) != 0 {
		t.Fatalf("a session of another group is visible: %v", got)
	}
}

func TestMappingInvalidConfiguration(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := mappedIntegration(s, "admit")
	cases := map[string]string{
		`{"profile":{"phone":"workFone"}}`:                            `unknown Cvent field \"workFone\"`,
		`{"fields":{"email":""}}`:                                     "fields.email cannot be unmapped",
		`{"registrationTypeGroups":{"EMEA Track":["emea","emea"]}}`:   `group \"emea\" is mapped twice`,
		`{"customFields":[{"name":"Dietary Requirements"}]}`:          "to is required",
		`{"guests":"sometimes"}`:                                      "guests must be",
		`{"regTypeGroups":{}}`:                                        `unknown field \"regTypeGroups\"`,
		`{"sessions":{"import":"managedSchedule","groups":{"X":[]}}}`: "no groups given",
	}
	for body, want := range cases {
		var out struct{ Error string }
		s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, `{"mapping":`+body+`}`, http.StatusBadRequest, &out)
		if !strings.Contains(out.Error, strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("%s: error %q does not name the problem (%s)", body, out.Error, want)
		}
	}
	var out struct{ Error string }
	s.admin(http.MethodPost, "/api/v1/integrations", `{"name":"x","cventEventId":"e","mapping":{"fields":{"profileImageUrl":""}}}`,
		http.StatusBadRequest, &out)
	if !strings.Contains(out.Error, "profileImageUrl cannot be unmapped") {
		t.Errorf("create: %q", out.Error)
	}
}

func TestMappingPreviewAndFields(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := mappedIntegration(s, "admit")
	var preview struct {
		EventType string           `json:"eventType"`
		Attendees []mappedAttendee `json:"attendees"`
	}
	s.admin(http.MethodPost, "/api/v1/integrations/"+in.ID+"/mapping/preview", string(s.sample("invitee_accepted.json")), http.StatusOK, &preview)
	if len(preview.Attendees) != 1 || !reflect.DeepEqual(preview.Attendees[0].Groups, []string{"attendees", "emea"}) ||
		preview.Attendees[0].Profile["confirmation"] != "VQNB3XNFS5X" {
		t.Errorf("preview of an envelope: %+v", preview)
	}
	// A lone item, with a draft mapping.
	item := `{"inviteeStub":"ABC","inviteeStatus":"Waitlisted","firstName":"Kim","email":"kim@x.example","registrationType":"EMEA Track","workCity":"Oslo"}`
	s.admin(http.MethodPost, "/api/v1/integrations/"+in.ID+"/mapping/preview",
		`{"payload":`+item+`,"mapping":{"profile":{"city":"workCity"}}}`, http.StatusOK, &preview)
	if preview.EventType != "AttendeeManualSynced" || len(preview.Attendees) != 1 || preview.Attendees[0].Access ||
		preview.Attendees[0].Profile["city"] != "Oslo" {
		t.Errorf("preview of an item with a draft mapping: %+v", preview)
	}
	var bad struct{ Error string }
	s.admin(http.MethodPost, "/api/v1/integrations/"+in.ID+"/mapping/preview",
		`{"payload":`+item+`,"mapping":{"fields":{"email":""}}}`, http.StatusBadRequest, &bad)
	if got := s.attendees(in, ""); len(got) != 0 {
		t.Errorf("preview wrote %d attendees", len(got))
	}

	var fields struct {
		PersonFields []struct {
			Field    string `json:"field"`
			Cvent    string `json:"cvent"`
			CanUnmap bool   `json:"canUnmap"`
		} `json:"personFields"`
		CventFields []struct {
			Name    string   `json:"name"`
			Sources []string `json:"sources"`
		} `json:"cventFields"`
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/fields", "", http.StatusOK, &fields)
	sources := map[string][]string{}
	for _, f := range fields.CventFields {
		sources[f.Name] = f.Sources
	}
	if !reflect.DeepEqual(sources["workPhone"], []string{"webhook", "rest"}) || !reflect.DeepEqual(sources["bio"], []string{"rest"}) ||
		!reflect.DeepEqual(sources["eventTitle"], []string{"webhook"}) {
		t.Errorf("fields from both sources: %v", sources)
	}
	for _, f := range fields.PersonFields {
		if f.Field == "title" && f.Cvent != "" || f.Field == "email" && f.CanUnmap {
			t.Errorf("person field %+v", f)
		}
	}
}
