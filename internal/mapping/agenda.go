package mapping

import (
	"sort"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

// FromSpeaker builds the platform speaker for a speaker item.
func FromSpeaker(integrationID string, item *cventpush.Speaker, deleted bool, sourceTime time.Time) directory.Speaker {
	ids := make([]string, 0, len(item.PresenterAt))
	for _, s := range item.PresenterAt {
		if id := cventpush.NormaliseID(s); id != "" {
			ids = append(ids, id)
		}
	}
	return directory.Speaker{
		IntegrationID: integrationID,
		SpeakerID:     item.SpeakerID(),
		FirstName:     string(item.SpeakerFirstName),
		LastName:      string(item.SpeakerLastName),
		DisplayName:   string(item.SpeakerDisplayName),
		Title:         string(item.SpeakerTitle),
		Company:       string(item.SpeakerCompany),
		Biography:     string(item.SpeakerBiography),
		SessionIDs:    ids,
		Deleted:       deleted,
		SourceTime:    sourceTime,
	}
}

// SessionSpeakerIDs are the lower-case speaker ids a session item lists.
func SessionSpeakerIDs(item *cventpush.Session) []string {
	out := make([]string, 0, len(item.Speakers))
	for _, s := range item.Speakers {
		if id := cventpush.NormaliseID(s); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// AgendaFromSync returns the attendee's complete session list from a manual
// sync item, and whether the item carried one. An item without
// sessionStubList says nothing about sessions (live items never carry it);
// an empty list means the attendee is in no session.
func AgendaFromSync(item *cventpush.Attendee) (sessionIDs []string, ok bool) {
	if item.SessionStubList == nil {
		return nil, false
	}
	seen := map[string]bool{}
	sessionIDs = []string{}
	for _, s := range item.SessionStubList {
		if id := cventpush.NormaliseID(s); id != "" && !seen[id] {
			seen[id] = true
			sessionIDs = append(sessionIDs, id)
		}
	}
	sort.Strings(sessionIDs)
	return sessionIDs, true
}

// AgendaFromRegistration turns a session registration webhook into agenda
// entries: registered for InviteeRegistersForCventSession, a tombstone for
// InviteeCancelsRegistrationForCventSession.
func AgendaFromRegistration(integrationID, eventType string, item *cventpush.SessionRegistration, sourceTime time.Time) []directory.AgendaEntry {
	var out []directory.AgendaEntry
	for _, sid := range item.SessionIDs() {
		out = append(out, directory.AgendaEntry{
			IntegrationID: integrationID, InviteeID: item.InviteeID(), SessionID: sid,
			Registered: eventType == cventpush.InviteeRegistersSession, SourceTime: sourceTime,
		})
	}
	return out
}

// SessionGroups returns the groups a session is limited to under a managed
// schedule, by session id or (case-insensitive) code; nil means everyone admitted.
func (c *Config) SessionGroups(s *directory.Session) []string {
	if c == nil {
		return nil
	}
	for _, key := range sortedKeys(c.Sessions.Groups) {
		k := strings.TrimSpace(key)
		if cventpush.NormaliseID(k) == s.SessionID || (s.Code != "" && strings.EqualFold(k, s.Code)) {
			return c.Sessions.Groups[key]
		}
	}
	return nil
}

// Agenda decides which sessions an attendee sees. Without access, none.
// Under a personal agenda, the sessions they registered for (registered
// holds those session ids); under a managed schedule, every session open to
// one of their groups. Deleted sessions never show.
func Agenda(cfg *Config, a *directory.Attendee, sessions []directory.Session, registered map[string]bool) []directory.Session {
	out := []directory.Session{}
	if a == nil || !a.Access {
		return out
	}
	groups := map[string]bool{}
	for _, g := range a.AccessGroups {
		groups[g] = true
	}
	for _, s := range sessions {
		if s.Deleted {
			continue
		}
		if cfg.ImportMethod() == ImportPersonalAgenda {
			if registered[s.SessionID] {
				out = append(out, s)
			}
			continue
		}
		limited := cfg.SessionGroups(&s)
		visible := len(limited) == 0
		for _, g := range limited {
			visible = visible || groups[g]
		}
		if visible {
			out = append(out, s)
		}
	}
	return out
}

// LinkSpeakers completes the links between speakers and sessions from both
// sides, since Cvent sends either: a speaker item's presenterAt, or a session
// item's speakers. It returns the speakers, each with every live session it
// presents (sorted), and, by live session id, every speaker linked to it
// (sorted). live holds the ids of the sessions not deleted; links to others
// are dropped. The inputs are not changed.
func LinkSpeakers(speakers []directory.Speaker, sessionSpeakers map[string][]string, live map[string]bool) ([]directory.Speaker, map[string][]string) {
	bySpeaker := map[string]map[string]bool{}
	bySession := map[string]map[string]bool{}
	link := func(speaker, session string) {
		if speaker == "" || session == "" || !live[session] {
			return
		}
		if bySpeaker[speaker] == nil {
			bySpeaker[speaker] = map[string]bool{}
		}
		if bySession[session] == nil {
			bySession[session] = map[string]bool{}
		}
		bySpeaker[speaker][session] = true
		bySession[session][speaker] = true
	}
	for _, sp := range speakers {
		for _, s := range sp.SessionIDs {
			link(sp.SpeakerID, s)
		}
	}
	for s, ids := range sessionSpeakers {
		for _, sp := range ids {
			link(sp, s)
		}
	}
	out := make([]directory.Speaker, len(speakers))
	for i, sp := range speakers {
		sp.SessionIDs = sortedSet(bySpeaker[sp.SpeakerID])
		out[i] = sp
	}
	sessions := make(map[string][]string, len(bySession))
	for s, set := range bySession {
		sessions[s] = sortedSet(set)
	}
	return out, sessions
}

func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
