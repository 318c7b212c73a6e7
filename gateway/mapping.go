package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/settings"
)

type personFieldJSON struct {
	Field    string `json:"field"`
	Cvent    string `json:"cvent"` // "" = unmapped
	CanUnmap bool   `json:"canUnmap"`
}

type cventFieldJSON struct {
	mapping.Field
	Sources []string `json:"sources"`
}

// listFields answers GET /integrations/{id}/fields: what the mapping section
// can use, from webhooks and from the REST API, and how it is mapped now.
func (s *Server) listFields(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	cfg, err := ingest.MappingConfig(in.Settings)
	if err != nil {
		s.internalError(c, "read mapping settings", err)
		return
	}
	person := []personFieldJSON{}
	for _, f := range []string{"firstName", "lastName", "email", "company", "title", "profileImageUrl"} {
		person = append(person, personFieldJSON{Field: f, Cvent: cfg.PersonField(f),
			CanUnmap: f != "email" && f != "profileImageUrl"})
	}
	fields := make([]cventFieldJSON, len(mapping.Fields))
	for i, f := range mapping.Fields {
		fields[i] = cventFieldJSON{Field: f, Sources: []string{}}
		if f.Webhook != "" {
			fields[i].Sources = append(fields[i].Sources, "webhook")
		}
		if f.REST != "" {
			fields[i].Sources = append(fields[i].Sources, "rest")
		}
	}
	answer := gin.H{
		"personFields": person,
		"cventFields":  fields,
		"customFields": gin.H{
			"contact":   "Cvent contact custom fields, by exact name ({\"name\":...}) or id ({\"id\":...}); sent in webhooks",
			"questions": "registration question answers, by question id ({\"questionId\":...}); read from the REST API",
			"targets":   "a platform custom field name, person.firstName|lastName|company|title, or profile.<field>",
		},
		"mapping": cfg,
	}
	// With REST credentials, list the account's own custom fields and the
	// event's questions, so they can be picked by id.
	if s.opts.Cvent != nil {
		if client, err := s.opts.Cvent.For(in); err == nil {
			account, err := accountFields(c, client, in.CventEventID)
			if err != nil {
				answer["accountFieldsError"] = err.Error()
			} else {
				answer["accountFields"] = account
			}
		}
	}
	c.JSON(http.StatusOK, answer)
}

type accountFieldsJSON struct {
	ContactCustomFields []cvent.CustomField `json:"contactCustomFields"`
	Questions           []cvent.Question    `json:"questions"`
}

func accountFields(ctx context.Context, client *cvent.Client, eventID string) (*accountFieldsJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out := &accountFieldsJSON{ContactCustomFields: []cvent.CustomField{}, Questions: []cvent.Question{}}
	for f, err := range client.ContactCustomFields().All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("contact custom fields: %w", err)
		}
		out.ContactCustomFields = append(out.ContactCustomFields, f)
	}
	for q, err := range client.EventQuestions(eventID).All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("event questions: %w", err)
		}
		out.Questions = append(out.Questions, q)
	}
	return out, nil
}

// previewRequest is the optional wrapper of a preview body: a payload and a
// draft mapping to try instead of the stored one.
type previewRequest struct {
	Payload json.RawMessage `json:"payload"`
	Mapping json.RawMessage `json:"mapping"`
}

// previewMapping answers POST /integrations/{id}/mapping/preview: the
// platform records a Cvent payload would produce, merged with what is
// stored, without writing anything. The body is an envelope, a single item
// (its event type from ?eventType= or guessed from its fields), or
// {"payload": ..., "mapping": {...}} to try a draft mapping.
func (s *Server) previewMapping(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes))
	if err != nil {
		abort(c, http.StatusBadRequest, "could not read body: "+err.Error())
		return
	}
	cfg, err := ingest.MappingConfig(in.Settings)
	if err != nil {
		s.internalError(c, "read mapping settings", err)
		return
	}
	var wrapper previewRequest
	if json.Unmarshal(body, &wrapper) == nil && len(wrapper.Payload) > 0 {
		body = wrapper.Payload
		if len(wrapper.Mapping) > 0 {
			doc, err := settings.Merge(nil, map[string]json.RawMessage{mapping.SettingsSection: wrapper.Mapping})
			if err != nil {
				s.settingsError(c, err)
				return
			}
			if cfg, err = ingest.MappingConfig(doc); err != nil {
				s.internalError(c, "read draft mapping", err)
				return
			}
		}
	}
	envelope, err := asEnvelope(body, c.Query("eventType"))
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	plan, err := ingest.PlanDelivery(c, ingest.Delivery{IntegrationID: in.ID, Body: envelope, ReceivedAt: time.Now(), Mapping: cfg},
		func(ctx context.Context, ids []string) (map[string]directory.Attendee, error) {
			return s.opts.Store.GetAttendees(ctx, in.ID, ids)
		})
	if errors.Is(err, cventpush.ErrMalformed) {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.internalError(c, "preview", err)
		return
	}
	attendees := make([]attendeeJSON, len(plan.Attendees))
	for i := range plan.Attendees {
		attendees[i] = toAttendeeJSON(&plan.Attendees[i])
	}
	sessions := make([]agendaSessionJSON, len(plan.Sessions))
	for i := range plan.Sessions {
		sessions[i] = toAgendaSessionJSON(&plan.Sessions[i], plan.Sessions[i].SpeakerIDs)
	}
	speakers := make([]speakerJSON, len(plan.Speakers))
	for i := range plan.Speakers {
		speakers[i] = toSpeakerJSON(&plan.Speakers[i])
	}
	entries := make([]gin.H, len(plan.AgendaEntries))
	for i, e := range plan.AgendaEntries {
		entries[i] = gin.H{"inviteeId": e.InviteeID, "sessionId": e.SessionID, "registered": e.Registered}
	}
	c.JSON(http.StatusOK, gin.H{
		"eventType": plan.Result.EventType, "items": plan.Result.Items, "skipped": plan.Result.Skipped,
		"ignored": plan.Result.Ignored, "attendees": attendees, "sessions": sessions, "speakers": speakers,
		"agendas": plan.Agendas, "agendaChanges": entries,
	})
}

// asEnvelope returns body as a Cvent envelope, wrapping a lone item or an
// array of items in one.
func asEnvelope(body []byte, eventType string) ([]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("body must be a Cvent envelope or item")
	}
	var items []json.RawMessage
	switch trimmed[0] {
	case '[':
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, errors.New("body is not valid JSON: " + err.Error())
		}
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, errors.New("body is not valid JSON: " + err.Error())
		}
		if _, ok := probe["message"]; ok {
			return trimmed, nil
		}
		if _, ok := probe["eventType"]; ok {
			return trimmed, nil
		}
		items = []json.RawMessage{trimmed}
	default:
		return nil, errors.New("body must be a JSON object (an envelope or an item) or an array of items")
	}
	if eventType == "" && len(items) > 0 {
		eventType = guessEventType(items[0])
	}
	return json.Marshal(map[string]any{"eventType": eventType, "message": items})
}

// guessEventType names the event type an item most likely came with.
func guessEventType(item json.RawMessage) string {
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(item, &probe)
	has := func(k string) bool { _, ok := probe[k]; return ok }
	switch {
	case has("newContactStub") || has("first_name"):
		return cventpush.InviteeSubstituted
	case has("speakerStub") && !has("inviteeStub"):
		return cventpush.SpeakerUpdated
	case has("sessionStub") && !has("inviteeStub"):
		return cventpush.SessionUpdated
	case has("sessionStub"):
		return cventpush.InviteeRegistersSession
	case has("inviteeStatus"):
		return cventpush.AttendeeManualSynced
	}
	return cventpush.InviteeOrGuestAccepted
}
