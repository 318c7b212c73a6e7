package gateway

import (
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cventusage"
	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/internal/store"
)

type createIntegrationRequest struct {
	Name         string `json:"name"`
	CventEventID string `json:"cventEventId"`
	Environment  string `json:"environment"`
	Region       string `json:"region"`
}

type integrationJSON struct {
	ID           string          `json:"id"`
	Settings     json.RawMessage `json:"settings"`
	Name         string          `json:"name"`
	CventEventID string          `json:"cventEventId"`
	Environment  string          `json:"environment"`
	Region       string          `json:"region"`
	WebhookURL   string          `json:"webhookUrl"`
	WebhookToken string          `json:"webhookToken,omitempty"`
	PlatformKey  string          `json:"platformKey,omitempty"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
	// CventUsage is the account's Cvent calls today against its tier's
	// daily quota (gateway/cventusage.go); absent without REST credentials.
	CventUsage *cventusage.Usage `json:"cventUsage,omitempty"`
}

func (s *Server) integrationJSON(in *store.Integration) integrationJSON {
	return integrationJSON{
		ID: in.ID, Name: in.Name, CventEventID: in.CventEventID, Environment: in.Environment, Region: in.Region,
		WebhookURL: s.webhookURL(in.ID), CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt, Settings: s.maskSettings(in.Settings),
	}
}

func (s *Server) webhookURL(id string) string {
	return strings.TrimRight(s.opts.PublicURL, "/") + "/webhooks/cvent/" + id
}

// maxIntegrationBody bounds an integration's create or update body.
const maxIntegrationBody = 4 << 20

// splitIntegrationBody separates the integration's own fields from settings
// sections (mapping, polling, ...), which the settings registry validates.
func splitIntegrationBody(c *gin.Context) (base map[string]json.RawMessage, sections map[string]json.RawMessage, ok bool) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxIntegrationBody))
	if err != nil {
		abort(c, http.StatusBadRequest, "request body must be a JSON object")
		return nil, nil, false
	}
	base, sections, err = splitIntegrationJSON(b)
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return nil, nil, false
	}
	return base, sections, true
}

// splitIntegrationJSON is splitIntegrationBody's rule: a JSON object without
// a repeated key anywhere (encoding/json would keep the last one silently),
// split into the integration's own fields and its settings sections.
func splitIntegrationJSON(b []byte) (base map[string]json.RawMessage, sections map[string]json.RawMessage, err error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(b, &body); err != nil || body == nil {
		return nil, nil, errors.New("request body must be a JSON object")
	}
	if err := settings.CheckDuplicateKeys(b); err != nil {
		return nil, nil, err
	}
	base, sections = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for k, v := range body {
		switch k {
		case "name", "cventEventId", "environment", "region":
			base[k] = v
		default:
			sections[k] = v
		}
	}
	return base, sections, nil
}

func (s *Server) createIntegration(c *gin.Context) {
	base, sections, ok := splitIntegrationBody(c)
	if !ok {
		return
	}
	// "kind": "pns" is a Cvent Supplier Network integration (gateway/pns.go);
	// without a kind it is a Cvent event, as always.
	if raw, ok := sections["kind"]; ok {
		delete(sections, "kind")
		var kind string
		_ = json.Unmarshal(raw, &kind)
		switch kind {
		case KindPNS:
			s.createPNSIntegration(c, base, sections)
			return
		case "", "cvent":
		default:
			abort(c, http.StatusBadRequest, `kind must be "cvent" (the default) or "pns"`)
			return
		}
	}
	var req createIntegrationRequest
	b, _ := json.Marshal(base)
	if err := json.Unmarshal(b, &req); err != nil {
		abort(c, http.StatusBadRequest, "name, cventEventId, environment and region must be strings")
		return
	}
	doc, err := s.mergeSettings(nil, sections)
	if err != nil {
		s.settingsError(c, err)
		return
	}
	req.Name, req.CventEventID = strings.TrimSpace(req.Name), strings.ToLower(strings.TrimSpace(req.CventEventID))
	req.Environment, req.Region = strings.ToLower(strings.TrimSpace(req.Environment)), strings.ToLower(strings.TrimSpace(req.Region))
	if req.Environment == "" {
		req.Environment = "production"
	}
	if req.Region == "" {
		req.Region = "na"
	}
	var problems []string
	if req.Name == "" {
		problems = append(problems, "name is required")
	}
	if req.CventEventID == "" {
		problems = append(problems, "cventEventId is required")
	}
	if req.Environment != "sandbox" && req.Environment != "production" {
		problems = append(problems, `environment must be "sandbox" or "production"`)
	}
	if req.Region != "na" && req.Region != "eu" {
		problems = append(problems, `region must be "na" or "eu"`)
	}
	if len(problems) > 0 {
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: strings.Join(problems, "; "), Details: problems})
		return
	}
	id := uuid.NewString()
	if !isEventID(req.CventEventID) && hasCventCredentials(doc) {
		// An event code in place of the id: looked up in the account (gateway/cventevents.go).
		eventID, status, err := s.resolveEventCode(c, id, req.Environment, req.Region, doc, eventCode(base))
		if err != nil {
			abort(c, status, err.Error())
			return
		}
		req.CventEventID = eventID
	}
	token, platformKey := secret.NewToken(), secret.NewToken()
	in := &store.Integration{
		PlatformKeyHash: secret.HashToken(platformKey),
		ID:              id, Name: req.Name, CventEventID: req.CventEventID,
		Environment: req.Environment, Region: req.Region, WebhookTokenHash: secret.HashToken(token), Settings: doc,
	}
	if err := s.opts.Store.CreateIntegration(c, in); err != nil {
		s.internalError(c, "create integration", err)
		return
	}
	s.syncSchedule(c, in)
	out := s.integrationJSON(in)
	// Shown once; only their hashes are stored.
	out.WebhookToken, out.PlatformKey = token, platformKey
	c.JSON(http.StatusCreated, out)
}

func (s *Server) loadIntegration(c *gin.Context) (*store.Integration, bool) {
	in, err := s.opts.Store.GetIntegration(c, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no integration with id "+c.Param("id"))
		return nil, false
	}
	if err != nil {
		s.internalError(c, "load integration", err)
		return nil, false
	}
	return in, true
}

func (s *Server) getIntegration(c *gin.Context) {
	if in, ok := s.loadIntegration(c); ok {
		out := s.integrationJSON(in)
		out.CventUsage = s.cventUsage(c, []store.Integration{*in})[0]
		c.JSON(http.StatusOK, out)
	}
}

// updateIntegration replaces the settings sections given in the body; the
// others stay as they are. A section set to null goes back to its defaults.
func (s *Server) updateIntegration(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	base, sections, ok := splitIntegrationBody(c)
	if !ok {
		return
	}
	if len(base) > 0 {
		abort(c, http.StatusBadRequest, "name, cventEventId, environment and region cannot be changed; create a new integration")
		return
	}
	doc, err := s.mergeSettings(in.Settings, sections)
	if err != nil {
		s.settingsError(c, err)
		return
	}
	if err := s.opts.Store.UpdateIntegrationSettings(c, in.ID, doc); err != nil {
		s.internalError(c, "update integration", err)
		return
	}
	if in, ok = s.loadIntegration(c); ok {
		s.syncSchedule(c, in)
		c.JSON(http.StatusOK, s.integrationJSON(in))
	}
}

// mergeSettings seals secrets, then validates and merges the sections.
func (s *Server) mergeSettings(current json.RawMessage, sections map[string]json.RawMessage) (json.RawMessage, error) {
	if raw, ok := sections[connection.SettingsSection]; ok && string(raw) != "null" {
		var stored map[string]json.RawMessage
		_ = json.Unmarshal(current, &stored)
		sealed, err := connection.SealSecret(raw, stored[connection.SettingsSection], s.opts.SecretBox)
		if err != nil {
			return nil, &settings.Error{Problems: []string{"cvent: " + err.Error()}}
		}
		sections[connection.SettingsSection] = sealed
	}
	return settings.Merge(current, sections)
}

func (s *Server) settingsError(c *gin.Context, err error) {
	var se *settings.Error
	if errors.As(err, &se) {
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: se.Error(), Details: se.Problems})
		return
	}
	s.internalError(c, "settings", err)
}

func (s *Server) listIntegrations(c *gin.Context) {
	list, err := s.opts.Store.ListIntegrations(c)
	if err != nil {
		s.internalError(c, "list integrations", err)
		return
	}
	out := make([]integrationJSON, len(list))
	usage := s.cventUsage(c, list)
	for i := range list {
		out[i] = s.integrationJSON(&list[i])
		out[i].CventUsage = usage[i]
	}
	c.JSON(http.StatusOK, gin.H{"integrations": out})
}

type attendeeJSON struct {
	InviteeID        string            `json:"inviteeId"`
	ContactID        string            `json:"contactId"`
	Email            string            `json:"email"`
	FirstName        string            `json:"firstName"`
	LastName         string            `json:"lastName"`
	Company          string            `json:"company"`
	Title            string            `json:"title"`
	ProfileImageURL  string            `json:"profileImageUrl"`
	RegistrationType string            `json:"registrationType"`
	CventStatus      string            `json:"cventStatus"`
	Access           bool              `json:"access"`
	IsGuest          bool              `json:"isGuest"`
	PrimaryInviteeID string            `json:"primaryInviteeId,omitempty"`
	Groups           []string          `json:"groups"`
	Profile          map[string]string `json:"profile,omitempty"`
	CustomFields     map[string]string `json:"customFields,omitempty"`
	SourceTime       time.Time         `json:"sourceTime"`
	UpdatedAt        time.Time         `json:"updatedAt"`
	// Participation is the write-back state, once the platform reported activity.
	Participation *participationJSON `json:"participation,omitempty"`
}

type participationJSON struct {
	Status         string     `json:"status"` // pending, written or failed
	FirstLoginAt   *time.Time `json:"firstLoginAt,omitempty"`
	WatchedSeconds int        `json:"watchedSeconds"`
	DueAt          *time.Time `json:"dueAt,omitempty"`
	WrittenAt      *time.Time `json:"writtenAt,omitempty"`
	LastError      string     `json:"lastError,omitempty"`
}

// withParticipation adds the participation state to attendees.
func (s *Server) withParticipation(c *gin.Context, integrationID string, out []attendeeJSON) error {
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = out[i].InviteeID
	}
	ps, err := s.opts.Store.GetParticipation(c, integrationID, ids)
	if err != nil {
		return err
	}
	for i := range out {
		p, ok := ps[out[i].InviteeID]
		if !ok {
			continue
		}
		status := p.Status
		if status == store.ParticipationSending {
			status = store.ParticipationPending // in flight is still pending to a reader
		}
		out[i].Participation = &participationJSON{Status: status, FirstLoginAt: nullTimePtr(p.FirstLoginAt),
			WatchedSeconds: p.WatchedSeconds, DueAt: nullTimePtr(p.DueAt), WrittenAt: nullTimePtr(p.WrittenAt), LastError: p.LastError}
	}
	return nil
}

func nullTimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

func toAttendeeJSON(a *directory.Attendee) attendeeJSON {
	return attendeeJSON{
		InviteeID: a.InviteeID, ContactID: a.ContactID, Email: a.Email, FirstName: a.FirstName, LastName: a.LastName,
		Company: a.Company, Title: a.Title, ProfileImageURL: a.ProfileImageURL, RegistrationType: a.RegistrationType,
		CventStatus: a.CventStatus, Access: a.Access, IsGuest: a.IsGuest, PrimaryInviteeID: a.PrimaryInviteeID,
		Groups: a.AccessGroups, Profile: a.Profile, CustomFields: a.CustomFields, SourceTime: a.SourceTime, UpdatedAt: a.UpdatedAt,
	}
}

func (s *Server) listAttendees(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	f, err := parseAttendeeQuery(c.Request.URL.Query())
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	list, err := s.opts.Store.ListAttendees(c, in.ID, f)
	if err != nil {
		s.internalError(c, "list attendees", err)
		return
	}
	out := make([]attendeeJSON, len(list))
	for i := range list {
		out[i] = toAttendeeJSON(&list[i])
	}
	if err := s.withParticipation(c, in.ID, out); err != nil {
		s.internalError(c, "list participation", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"attendees": out})
}

// loadAttendee loads the attendee named in the path, answering 404 or 500
// itself when it cannot.
func (s *Server) loadAttendee(c *gin.Context, in *store.Integration) (*directory.Attendee, bool) {
	a, err := s.opts.Store.GetAttendee(c, in.ID, c.Param("inviteeId"))
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no attendee with invitee id "+c.Param("inviteeId"))
		return nil, false
	}
	if err != nil {
		s.internalError(c, "load attendee", err)
		return nil, false
	}
	return a, true
}

func (s *Server) getAttendee(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	a, ok := s.loadAttendee(c, in)
	if !ok {
		return
	}
	out := []attendeeJSON{toAttendeeJSON(a)}
	if err := s.withParticipation(c, in.ID, out); err != nil {
		s.internalError(c, "get participation", err)
		return
	}
	c.JSON(http.StatusOK, out[0])
}

func (s *Server) listSessions(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	list, err := s.opts.Store.ListSessions(c, in.ID, c.Query("includeDeleted") == "true")
	if err != nil {
		s.internalError(c, "list sessions", err)
		return
	}
	type sessionJSON struct {
		SessionID   string     `json:"sessionId"`
		Name        string     `json:"name"`
		Code        string     `json:"code"`
		Description string     `json:"description"`
		StartsAt    *time.Time `json:"startsAt,omitempty"`
		EndsAt      *time.Time `json:"endsAt,omitempty"`
		Timezone    string     `json:"timezone"`
		Deleted     bool       `json:"deleted"`
		UpdatedAt   time.Time  `json:"updatedAt"`
	}
	out := make([]sessionJSON, len(list))
	for i, se := range list {
		out[i] = sessionJSON{SessionID: se.SessionID, Name: se.Name, Code: se.Code, Description: se.Description,
			StartsAt: timePtr(se.StartsAt), EndsAt: timePtr(se.EndsAt), Timezone: se.Timezone, Deleted: se.Deleted, UpdatedAt: se.UpdatedAt}
	}
	c.JSON(http.StatusOK, gin.H{"sessions": out})
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) internalError(c *gin.Context, what string, err error) {
	s.log.Error(what, "error", err, "path", c.Request.URL.Path)
	abort(c, http.StatusInternalServerError, what+" failed; see the gateway log")
}
