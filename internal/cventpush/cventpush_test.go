package cventpush

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStringAcceptsEveryScalar(t *testing.T) {
	cases := []struct {
		in   string
		want String
	}{
		{`"Amara"`, "Amara"},
		{`"  padded "`, "padded"},
		{`12`, "12"},
		{`0.00`, "0.00"},
		{`true`, "true"},
		{`null`, ""},
		{`""`, ""},
		{`{"odd":1}`, ""},
	}
	for _, c := range cases {
		var s String
		if err := json.Unmarshal([]byte(c.in), &s); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if s != c.want {
			t.Errorf("%s: got %q, want %q", c.in, s, c.want)
		}
	}
}

func TestBoolAcceptsCventSpellings(t *testing.T) {
	cases := map[string]bool{
		`true`: true, `false`: false, `"True"`: true, `"false"`: false, `"yes"`: true, `"no"`: false,
		`1`: true, `0`: false, `"1"`: true, `""`: false, `null`: false,
	}
	for in, want := range cases {
		var b Bool
		if err := json.Unmarshal([]byte(in), &b); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if bool(b) != want {
			t.Errorf("%s: got %v, want %v", in, b, want)
		}
	}
}

func TestParseTimeFormats(t *testing.T) {
	cases := map[string]time.Time{
		"2026-03-02T17:14:42.823Z":  time.Date(2026, 3, 2, 17, 14, 42, 823e6, time.UTC),
		"2026-02-11T09:30:12.000":   time.Date(2026, 2, 11, 9, 30, 12, 0, time.UTC),
		"2026-05-25 18:00:00.0":     time.Date(2026, 5, 25, 18, 0, 0, 0, time.UTC),
		"2026-03-02":                time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		"2026-05-25T18:00:00":       time.Date(2026, 5, 25, 18, 0, 0, 0, time.UTC),
		"2026-03-02T10:00:00+02:00": time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		"":                          {},
	}
	for in, want := range cases {
		got, err := ParseTime(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !got.Equal(want) {
			t.Errorf("%q: got %v, want %v", in, got, want)
		}
	}
	if _, err := ParseTime("next tuesday"); err == nil {
		t.Error("an unreadable time must be an error")
	}
}

func TestDecodeEnvelopeRejectsWhatIsNotAnEnvelope(t *testing.T) {
	for _, body := range []string{`{"eventType":`, `[1,2]`, `{"eventType":"X","message":"text"}`, `nope`} {
		if _, err := DecodeEnvelope([]byte(body)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", body, err)
		}
	}
}

func TestStubFallsBackToBodyHash(t *testing.T) {
	env, err := DecodeEnvelope([]byte(`{"eventType":"InviteeOrGuestAccepted","message":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := env.Stub([]byte("one")), env.Stub([]byte("two"))
	if a == b || a == "" {
		t.Errorf("stubs from different bodies must differ and not be empty: %q %q", a, b)
	}
	env.MessageStub = "ABC-DEF"
	if got := env.Stub(nil); got != "abc-def" {
		t.Errorf("got %q, want the lower-case messageStub", got)
	}
}

// Every shared sample decodes, with ids normalised and quirks absorbed.
func TestSharedSamplesDecode(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "cvent", "samples")
	read := func(name string) *Envelope {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("read sample: %v", err)
		}
		env, err := DecodeEnvelope(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return env
	}

	env := read("attendee_manual_sync.json")
	raw, err := env.Items()
	if err != nil {
		t.Fatal(err)
	}
	items, err := Attendees(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items, want 3", len(items))
	}
	if got := items[0].InviteeID(); got != "11111111-aaaa-4bbb-8ccc-000000000001" {
		t.Errorf("invitee id not lower-cased: %q", got)
	}
	if !bool(items[2].IsGuest) || !bool(items[2].ParticipantStatus) {
		t.Errorf(`"True" and "true" must read as true: %+v`, items[2])
	}
	if items[1].InviteeStatus != "Waitlisted" || len(items[0].SessionStubList) != 1 {
		t.Errorf("status or session list lost: %+v", items[:2])
	}

	env = read("invitee_substituted.json")
	raw, _ = env.Items()
	subs, err := Substitutions(raw)
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].FirstName != "Priya" || subs[0].OrganizationName != "Contoso" || subs[0].NewContactStub == "" {
		t.Errorf("snake_case fields lost: %+v", subs[0])
	}

	env = read("session_created.json")
	raw, _ = env.Items()
	sessions, err := Sessions(raw)
	if err != nil {
		t.Fatal(err)
	}
	if sessions[0].SessionName == "" || sessions[0].SessionStartDateTime.IsZero() {
		t.Errorf("session fields lost: %+v", sessions[0])
	}
	if KindOf(string(env.EventType)) != KindSession || KindOf("SomethingNew") != KindIgnored {
		t.Error("event kinds wrong")
	}
}
