// Package participation holds the rules of participation tracking: which
// platform activity makes an attendee an "Event Participant" in Cvent, and
// when. It is pure: the store accumulates activity, Temporal keeps the timers,
// and the write-back activity talks to Cvent.
package participation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/settings"
)

// Criteria kinds.
const (
	OnLogin           = "login"             // checked in at first login
	MinutesAfterLogin = "minutesAfterLogin" // checked in N minutes after first login
	MinutesWatched    = "minutesWatched"    // checked in once N minutes of video are watched in total
)

// SettingsSection is the name of the participation section in integration settings.
const SettingsSection = "participation"

// Config is an integration's participation settings. Tracking is off when
// the section is absent.
type Config struct {
	Criterion string `json:"criterion"`
	Minutes   int    `json:"minutes,omitempty"`
	// SessionMinutes, when above zero, checks an attendee into a session
	// once they watched that many minutes of it.
	SessionMinutes int `json:"sessionMinutes,omitempty"`
	// Device is reported to Cvent with each check-in.
	Device string `json:"device,omitempty"`
}

// Validate names what is wrong with a configuration.
func (c *Config) Validate() error {
	var problems []string
	switch c.Criterion {
	case OnLogin:
		if c.Minutes != 0 {
			problems = append(problems, `"minutes" does not apply to the "login" criterion`)
		}
	case MinutesAfterLogin, MinutesWatched:
		if c.Minutes < 1 || c.Minutes > 24*60 {
			problems = append(problems, fmt.Sprintf(`criterion %q needs "minutes" from 1 to 1440`, c.Criterion))
		}
	default:
		problems = append(problems, fmt.Sprintf(`"criterion" must be %q, %q or %q`, OnLogin, MinutesAfterLogin, MinutesWatched))
	}
	if c.SessionMinutes < 0 || c.SessionMinutes > 24*60 {
		problems = append(problems, `"sessionMinutes" must be from 0 to 1440`)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func init() {
	settings.Register(SettingsSection, func(raw json.RawMessage) (json.RawMessage, error) {
		var c Config
		if err := settings.Strict(raw, &c); err != nil {
			return nil, err
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if c.Device == "" {
			c.Device = "cventsync"
		}
		return json.Marshal(c)
	})
}

// Event types the platform reports.
const (
	Login  = "login"
	Logout = "logout"
	Watch  = "watch"
)

// Event is one platform activity report, validated.
type Event struct {
	Type      string
	InviteeID string // resolved, lower case
	At        time.Time
	Seconds   int
	SessionID string
}

// State is what is accumulated for one attendee.
type State struct {
	FirstLoginAt   time.Time
	LastSeenAt     time.Time
	WatchedSeconds int
	// DueAt is when the attendee meets the criterion; zero while they don't.
	DueAt time.Time
}

// Apply folds one event into the state and recomputes when the attendee is
// due for check-in. Login criteria follow the earliest login, even one
// reported late; a watch threshold, once crossed, stays crossed.
func (c *Config) Apply(s State, e Event) State {
	if e.At.After(s.LastSeenAt) {
		s.LastSeenAt = e.At
	}
	switch e.Type {
	case Login:
		if s.FirstLoginAt.IsZero() || e.At.Before(s.FirstLoginAt) {
			s.FirstLoginAt = e.At
		}
	case Watch:
		s.WatchedSeconds += e.Seconds
	}
	switch c.Criterion {
	case OnLogin:
		s.DueAt = s.FirstLoginAt
	case MinutesAfterLogin:
		if !s.FirstLoginAt.IsZero() {
			s.DueAt = s.FirstLoginAt.Add(time.Duration(c.Minutes) * time.Minute)
		}
	case MinutesWatched:
		if s.DueAt.IsZero() && s.WatchedSeconds >= c.Minutes*60 {
			s.DueAt = e.At
		}
	}
	return s
}

// SessionDue reports whether watched seconds of a session meet the session criterion.
func (c *Config) SessionDue(watchedSeconds int) bool {
	return c.SessionMinutes > 0 && watchedSeconds >= c.SessionMinutes*60
}

// EventInput is one item of the platform's activity API, as sent.
type EventInput struct {
	Type      string  `json:"type"`
	InviteeID string  `json:"inviteeId"`
	Email     string  `json:"email"`
	At        string  `json:"at"`
	Seconds   float64 `json:"seconds"`
	SessionID string  `json:"sessionId"`
}

// MaxEventAge bounds how old a reported activity may be; older reports are
// most likely a clock or replay bug on the platform.
const MaxEventAge = 30 * 24 * time.Hour

// Parse validates an input item (not the attendee, which needs the store).
func (in *EventInput) Parse(now time.Time) (Event, error) {
	e := Event{Type: strings.ToLower(strings.TrimSpace(in.Type)), SessionID: strings.ToLower(strings.TrimSpace(in.SessionID))}
	switch e.Type {
	case Login, Logout, Watch:
	default:
		return e, fmt.Errorf(`type must be "login", "logout" or "watch", not %q`, in.Type)
	}
	if strings.TrimSpace(in.InviteeID) == "" && strings.TrimSpace(in.Email) == "" {
		return e, errors.New("inviteeId or email is required")
	}
	if in.At == "" {
		e.At = now
	} else {
		at, err := time.Parse(time.RFC3339Nano, in.At)
		if err != nil {
			return e, fmt.Errorf("at must be an RFC 3339 time such as 2026-05-25T18:00:00Z, not %q", in.At)
		}
		if at.After(now.Add(5*time.Minute)) || at.Before(now.Add(-MaxEventAge)) {
			return e, fmt.Errorf("at %s is in the future or more than 30 days ago", in.At)
		}
		e.At = at.UTC()
	}
	if e.Type == Watch {
		if in.Seconds <= 0 || in.Seconds > 24*3600 {
			return e, errors.New("watch needs seconds from 1 to 86400")
		}
		e.Seconds = int(in.Seconds)
	} else if in.Seconds != 0 {
		return e, fmt.Errorf("seconds only applies to watch, not %s", e.Type)
	}
	return e, nil
}
