package gateway

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
)

type agendaSessionJSON struct {
	SessionID   string     `json:"sessionId"`
	Name        string     `json:"name"`
	Code        string     `json:"code"`
	Description string     `json:"description"`
	StartsAt    *time.Time `json:"startsAt,omitempty"`
	EndsAt      *time.Time `json:"endsAt,omitempty"`
	Timezone    string     `json:"timezone"`
	SpeakerIDs  []string   `json:"speakerIds"`
	Deleted     bool       `json:"deleted,omitempty"`
}

func toAgendaSessionJSON(s *directory.Session, speakers []string) agendaSessionJSON {
	if speakers == nil {
		speakers = []string{}
	}
	return agendaSessionJSON{SessionID: s.SessionID, Name: s.Name, Code: s.Code, Description: s.Description,
		StartsAt: timePtr(s.StartsAt), EndsAt: timePtr(s.EndsAt), Timezone: s.Timezone, SpeakerIDs: speakers, Deleted: s.Deleted}
}

type speakerJSON struct {
	SpeakerID   string   `json:"speakerId"`
	FirstName   string   `json:"firstName"`
	LastName    string   `json:"lastName"`
	DisplayName string   `json:"displayName"`
	Title       string   `json:"title"`
	Company     string   `json:"company"`
	Biography   string   `json:"biography"`
	SessionIDs  []string `json:"sessionIds"`
	Deleted     bool     `json:"deleted,omitempty"`
}

func toSpeakerJSON(s *directory.Speaker) speakerJSON {
	ids := s.SessionIDs
	if ids == nil {
		ids = []string{}
	}
	return speakerJSON{SpeakerID: s.SpeakerID, FirstName: s.FirstName, LastName: s.LastName, DisplayName: s.DisplayName,
		Title: s.Title, Company: s.Company, Biography: s.Biography, SessionIDs: ids, Deleted: s.Deleted}
}

// attendeeAgenda answers GET /integrations/{id}/attendees/{inviteeId}/agenda:
// the sessions the attendee sees under the integration's import method.
func (s *Server) attendeeAgenda(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	a, ok := s.loadAttendee(c, in)
	if !ok {
		return
	}
	cfg, err := ingest.MappingConfig(in.Settings)
	if err != nil {
		s.internalError(c, "read mapping settings", err)
		return
	}
	sessions, err := s.opts.Store.ListSessions(c, in.ID, false)
	if err != nil {
		s.internalError(c, "list sessions", err)
		return
	}
	registered, err := s.opts.Store.RegisteredSessions(c, in.ID, a.InviteeID)
	if err != nil {
		s.internalError(c, "agenda", err)
		return
	}
	_, speakers, err := s.linkedSpeakers(c, in.ID, sessions)
	if err != nil {
		s.internalError(c, "agenda", err)
		return
	}
	visible := mapping.Agenda(cfg, a, sessions, registered)
	out := make([]agendaSessionJSON, len(visible))
	for i := range visible {
		out[i] = toAgendaSessionJSON(&visible[i], speakers[visible[i].SessionID])
	}
	c.JSON(http.StatusOK, gin.H{"inviteeId": a.InviteeID, "importMethod": cfg.ImportMethod(), "access": a.Access,
		"groups": a.AccessGroups, "sessions": out})
}

// listSpeakers answers GET /integrations/{id}/speakers.
func (s *Server) listSpeakers(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	sessions, err := s.opts.Store.ListSessions(c, in.ID, false)
	if err != nil {
		s.internalError(c, "list speakers", err)
		return
	}
	list, _, err := s.linkedSpeakers(c, in.ID, sessions)
	if err != nil {
		s.internalError(c, "list speakers", err)
		return
	}
	out := make([]speakerJSON, len(list))
	for i := range list {
		out[i] = toSpeakerJSON(&list[i])
	}
	c.JSON(http.StatusOK, gin.H{"speakers": out})
}

// linkedSpeakers loads the speakers and each live session's speakers with
// the links completed from both sides (mapping.LinkSpeakers): Cvent names a
// speaker's sessions in the speaker item (presenterAt) or the speakers in the
// session item (speakers), and either may be missing.
func (s *Server) linkedSpeakers(ctx context.Context, integrationID string, live []directory.Session) ([]directory.Speaker, map[string][]string, error) {
	list, err := s.opts.Store.ListSpeakers(ctx, integrationID)
	if err != nil {
		return nil, nil, fmt.Errorf("list speakers: %w", err)
	}
	bySession, err := s.opts.Store.SessionSpeakerIDs(ctx, integrationID)
	if err != nil {
		return nil, nil, fmt.Errorf("session speakers: %w", err)
	}
	ids := make(map[string]bool, len(live))
	for _, ses := range live {
		ids[ses.SessionID] = true
	}
	list, bySession = mapping.LinkSpeakers(list, bySession, ids)
	return list, bySession, nil
}
