package participation

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 25, 18, 0, 0, 0, time.UTC)

func TestApplyCriteria(t *testing.T) {
	login := func(min int) Event { return Event{Type: Login, At: t0.Add(time.Duration(min) * time.Minute)} }
	watch := func(min, secs int) Event {
		return Event{Type: Watch, At: t0.Add(time.Duration(min) * time.Minute), Seconds: secs}
	}
	cases := []struct {
		name    string
		cfg     Config
		events  []Event
		wantDue time.Time
	}{
		{"login: due at first login", Config{Criterion: OnLogin}, []Event{login(5), login(1)}, t0.Add(time.Minute)},
		{"login: watching alone does not count", Config{Criterion: OnLogin}, []Event{watch(0, 600)}, time.Time{}},
		{"after login: due N minutes after the first login", Config{Criterion: MinutesAfterLogin, Minutes: 10},
			[]Event{login(2), login(30)}, t0.Add(12 * time.Minute)},
		{"after login: a logout does not cancel it", Config{Criterion: MinutesAfterLogin, Minutes: 10},
			[]Event{login(0), {Type: Logout, At: t0.Add(time.Minute)}}, t0.Add(10 * time.Minute)},
		{"watched: total crosses the threshold", Config{Criterion: MinutesWatched, Minutes: 5},
			[]Event{watch(1, 120), watch(2, 120), watch(3, 60)}, t0.Add(3 * time.Minute)},
		{"watched: below the threshold", Config{Criterion: MinutesWatched, Minutes: 5},
			[]Event{watch(1, 120), watch(2, 179), login(0)}, time.Time{}},
		{"watched: due time does not move afterwards", Config{Criterion: MinutesWatched, Minutes: 1},
			[]Event{watch(1, 60), watch(9, 60)}, t0.Add(time.Minute)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s State
			for _, e := range c.events {
				s = c.cfg.Apply(s, e)
			}
			if !s.DueAt.Equal(c.wantDue) {
				t.Errorf("due %v, want %v (state %+v)", s.DueAt, c.wantDue, s)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Criterion: OnLogin}, ""},
		{Config{Criterion: MinutesWatched, Minutes: 15}, ""},
		{Config{Criterion: MinutesAfterLogin}, "minutes"},
		{Config{Criterion: "sometimes"}, "criterion"},
		{Config{Criterion: OnLogin, Minutes: 3}, "does not apply"},
		{Config{Criterion: OnLogin, SessionMinutes: -1}, "sessionMinutes"},
	} {
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: got %v, want error containing %q", c.cfg, err, c.want)
		}
	}
}

func TestParseEventInput(t *testing.T) {
	now := t0
	for _, c := range []struct {
		in   EventInput
		want string
	}{
		{EventInput{Type: "login", InviteeID: "x", At: "2026-05-25T17:59:00Z"}, ""},
		{EventInput{Type: "LOGIN", Email: "a@b"}, ""},
		{EventInput{Type: "watch", InviteeID: "x", Seconds: 30}, ""},
		{EventInput{Type: "watch", InviteeID: "x"}, "seconds"},
		{EventInput{Type: "dance", InviteeID: "x"}, "type"},
		{EventInput{Type: "login"}, "inviteeId or email"},
		{EventInput{Type: "login", InviteeID: "x", At: "yesterday"}, "RFC 3339"},
		{EventInput{Type: "login", InviteeID: "x", At: "2027-01-01T00:00:00Z"}, "future"},
		{EventInput{Type: "login", InviteeID: "x", Seconds: 4}, "only applies"},
	} {
		_, err := c.in.Parse(now)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: got %v, want error containing %q", c.in, err, c.want)
		}
	}
}
