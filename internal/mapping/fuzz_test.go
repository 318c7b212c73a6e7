package mapping

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/settings"
)

// readmeMapping is the README's example mapping section.
const readmeMapping = `{
  "fields": { "company": "", "title": "designation" },
  "profile": { "phone": "workPhone", "city": "workCity", "registeredAt": "registrationDate", "ticket": "orderDetails", "bio": "bio" },
  "customFields": [
    { "name": "Dietary Requirements", "to": "dietary" },
    { "id": "9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "to": "profile.shirtSize" },
    { "questionId": "60f1d05b-e3ee-4d70-a7f3-0edb9a76af4a", "to": "person.title" }
  ],
  "defaultGroup": "attendees",
  "registrationTypeGroups": { "EMEA Track": ["emea"], "VIP": ["vip", "lounge"] },
  "guests": "admit",
  "sessions": { "import": "managedSchedule", "groups": { "KEY-01": ["vip"] } }
}`

// sampleBodies are the shared Cvent samples (../shared/cvent/samples), read
// where they are.
func sampleBodies(f *testing.F) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "cvent", "samples", "*.json"))
	if len(paths) == 0 {
		f.Log("shared samples not found; fuzzing from the built-in seeds only")
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// The mapping settings validator takes anything without panicking, and what
// it accepts it accepts again unchanged (the stored form is a fixed point).
func FuzzMappingSettings(f *testing.F) {
	for _, s := range []string{readmeMapping, `{}`, `null`, `{"fields":{"email":""}}`, `{"guests":"skip","defaultGroup":"a"}`,
		`{"customFields":[{"name":"x","id":"y","to":"z"}]}`, `{"registrationTypeGroups":{"A":["g"],"a":["g"]}}`,
		`{"profile":{"x":"registrationType","y":"registrationType"}}`, `{"sessions":{"import":"x","groups":{"":[""]}}}`,
		`{"fields":{"title":"a","title":"b"}}`} {
		f.Add([]byte(s))
	}
	for _, b := range sampleBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		doc, err := settings.Merge(nil, map[string]json.RawMessage{SettingsSection: raw})
		if err != nil {
			return
		}
		var c Config
		if err := settings.Decode(doc, SettingsSection, &c); err != nil {
			t.Fatalf("accepted settings do not decode: %v\n%s", err, doc)
		}
		var stored map[string]json.RawMessage
		if err := json.Unmarshal(doc, &stored); err != nil {
			t.Fatal(err)
		}
		if _, ok := stored[SettingsSection]; !ok {
			return // null: defaults
		}
		again, err := settings.Merge(nil, map[string]json.RawMessage{SettingsSection: stored[SettingsSection]})
		if err != nil {
			t.Fatalf("the stored form of accepted settings is refused: %v\n%s", err, stored[SettingsSection])
		}
		if !bytes.Equal(again, doc) {
			t.Fatalf("stored form is not stable:\n%s\n%s", doc, again)
		}
		_ = c.NeedsREST()
		_ = c.ImportMethod()
		_ = c.GroupsFor("VIP", true)
	})
}

// The mapping rules take any item (and any stored record) without
// panicking, and never give access to a status that is not admitted.
func FuzzFromAttendee(f *testing.F) {
	for _, body := range sampleBodies(f) {
		env, err := cventpush.DecodeEnvelope(body)
		if err != nil {
			continue
		}
		items, _ := env.Items()
		for _, it := range items {
			f.Add([]byte(it), string(env.EventType), uint8(0))
			f.Add([]byte(it), string(env.EventType), uint8(1))
		}
	}
	f.Add([]byte(`{"inviteeStub":"A","inviteeStatus":"Accepted","isGuest":"yes","customFields":[{"name":"Dietary Requirements","value":1}],"answers":[{"question":{"id":"60F1D05B-E3EE-4D70-A7F3-0EDB9A76AF4A"},"value":"x"}]}`),
		cventpush.AttendeeManualSynced, uint8(3))
	var rich Config
	if err := json.Unmarshal([]byte(readmeMapping), &rich); err != nil {
		f.Fatal(err)
	}
	skip := rich
	skip.Guests = GuestsSkip
	configs := []*Config{nil, {}, &rich, &skip}
	eventTypes := []string{cventpush.InviteeOrGuestAccepted, cventpush.InviteeOrGuestModified, cventpush.InviteeOrGuestCancelled, cventpush.AttendeeManualSynced}
	now := time.Date(2026, 5, 25, 18, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, eventType string, choice uint8) {
		cfg := configs[int(choice)%len(configs)]
		if choice&4 != 0 {
			eventType = eventTypes[int(choice>>3)%len(eventTypes)]
		}
		items, err := cventpush.Attendees([]json.RawMessage{raw})
		if err == nil {
			item := &items[0]
			extra := &Extra{REST: raw, Answers: AnswersFromREST(raw)}
			first := FromAttendeeWith(cfg, "i1", eventType, item, extra, nil, now)
			checkAccess(t, &first)
			again := FromAttendeeWith(cfg, "i1", eventType, item, nil, &first, now.Add(time.Second))
			checkAccess(t, &again)
			_ = Skip(cfg, item, &first)
			_, _ = AgendaFromSync(item)
		}
		if subs, err := cventpush.Substitutions([]json.RawMessage{raw}); err == nil {
			a := FromSubstitution(cfg, "i1", &subs[0], nil, now)
			checkAccess(t, &a)
			existing := directory.Attendee{InviteeID: subs[0].InviteeID(), CventStatus: "Accepted", Access: true}
			_ = FromSubstitution(cfg, "i1", &subs[0], &existing, now)
		}
		if ss, err := cventpush.Sessions([]json.RawMessage{raw}); err == nil {
			s := FromSession("i1", &ss[0], false, now)
			_ = cfg.SessionGroups(&s)
			_ = SessionSpeakerIDs(&ss[0])
		}
		if ss, err := cventpush.Speakers([]json.RawMessage{raw}); err == nil {
			_ = FromSpeaker("i1", &ss[0], false, now)
		}
		if rs, err := cventpush.SessionRegistrations([]json.RawMessage{raw}); err == nil {
			_ = AgendaFromRegistration("i1", eventType, &rs[0], now)
		}
	})
}

func checkAccess(t *testing.T, a *directory.Attendee) {
	t.Helper()
	if a.Access && !Admitted(a.CventStatus) {
		t.Fatalf("access with status %q", a.CventStatus)
	}
	if !a.Access && len(a.AccessGroups) > 0 {
		t.Fatalf("groups %v without access", a.AccessGroups)
	}
}
