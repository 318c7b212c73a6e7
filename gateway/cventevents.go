package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/store"
)

// maxAccountEvents bounds GET …/cvent/events.
const maxAccountEvents = 5000

// listCventEvents answers GET /integrations/{id}/cvent/events?q=: the Cvent
// account's events read with the integration's credentials, inactive, past
// and cancelled ones included, filtered by q in the title or the event code.
func (s *Server) listCventEvents(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	if s.opts.Cvent == nil {
		abort(c, http.StatusServiceUnavailable, "this gateway has no Cvent client")
		return
	}
	client, err := s.opts.Cvent.For(in)
	if errors.Is(err, connection.ErrNoCredentials) {
		abort(c, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.internalError(c, "Cvent client", err)
		return
	}
	s.answerEvents(c, client, c.Query("q"))
}

// answerEvents lists the account's events matching q in the title or code.
func (s *Server) answerEvents(c *gin.Context, client *cvent.Client, q string) {
	q = strings.ToLower(strings.TrimSpace(q))
	out := []cvent.EventSummary{}
	n := 0
	for e, err := range client.Events("").All(c) {
		if err != nil {
			abort(c, http.StatusBadGateway, "Cvent: "+err.Error())
			return
		}
		if n++; n > maxAccountEvents {
			break
		}
		if q == "" || strings.Contains(strings.ToLower(e.Title), q) || strings.Contains(strings.ToLower(e.Code), q) {
			out = append(out, e)
		}
	}
	c.JSON(http.StatusOK, gin.H{"events": out})
}

var eventIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// isEventID reports whether v is a Cvent event id (a GUID, lower case).
func isEventID(v string) bool { return eventIDPattern.MatchString(v) }

// hasCventCredentials reports whether settings carry Cvent REST credentials.
func hasCventCredentials(settings json.RawMessage) bool {
	conn, err := connection.Decode(settings)
	return err == nil && conn.HasCredentials()
}

// eventCode is cventEventId as given (the integration's fields are
// lower-cased; an event code keeps its case).
func eventCode(base map[string]json.RawMessage) string {
	var v string
	_ = json.Unmarshal(base["cventEventId"], &v)
	return strings.TrimSpace(v)
}

// resolveEventCode finds the id of the account's event with this event
// code, with the credentials in the new integration's settings. On failure
// it answers the HTTP status to give: 400 when no event has the code, 502
// when Cvent did not answer.
func (s *Server) resolveEventCode(ctx context.Context, integrationID, environment, region string, settings json.RawMessage,
	code string) (string, int, error) {
	if s.opts.Cvent == nil {
		return "", http.StatusBadRequest, fmt.Errorf("cventEventId %q is not an event id, and this gateway cannot look event codes up in Cvent", code)
	}
	client, err := s.opts.Cvent.For(&store.Integration{ID: integrationID, Environment: environment, Region: region, Settings: settings})
	if err != nil {
		return "", http.StatusBadRequest, fmt.Errorf("cventEventId: %w", err)
	}
	for e, err := range client.Events(cvent.EventCodeFilter(code)).All(ctx) {
		if err != nil {
			return "", http.StatusBadGateway, fmt.Errorf("cventEventId: could not look the event code %q up in Cvent: %w", code, err)
		}
		if strings.EqualFold(e.Code, code) {
			return strings.ToLower(e.ID), 0, nil
		}
	}
	return "", http.StatusBadRequest, fmt.Errorf("cventEventId: the Cvent account has no event with the event code %q", code)
}

// lookupEventsRequest is an account's credentials, before an integration
// holds them, and the search.
type lookupEventsRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	BaseURL      string `json:"baseUrl"`
	Environment  string `json:"environment"`
	Region       string `json:"region"`
	Q            string `json:"q"`
}

// lookupCventEvents answers POST /cvent/events: the events of the account
// the given credentials open, for picking one before the integration exists.
func (s *Server) lookupCventEvents(c *gin.Context) {
	var req lookupEventsRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.ClientID == "" || req.ClientSecret == "" {
		abort(c, http.StatusBadRequest, "body must be a JSON object with clientId and clientSecret (and baseUrl, environment, region, q)")
		return
	}
	section, _ := json.Marshal(map[string]string{"clientId": req.ClientID, "clientSecret": req.ClientSecret, "baseUrl": req.BaseURL})
	doc, err := s.mergeSettings(nil, map[string]json.RawMessage{connection.SettingsSection: section})
	if err != nil {
		s.settingsError(c, err)
		return
	}
	env, region := strings.ToLower(strings.TrimSpace(req.Environment)), strings.ToLower(strings.TrimSpace(req.Region))
	if env == "" {
		env = "production"
	}
	if region == "" {
		region = "na"
	}
	if s.opts.Cvent == nil {
		abort(c, http.StatusServiceUnavailable, "this gateway has no Cvent client")
		return
	}
	// One cached client per account, not per lookup.
	client, err := s.opts.Cvent.For(&store.Integration{ID: "lookup:" + req.ClientID, Environment: env, Region: region, Settings: doc})
	if err != nil {
		abort(c, http.StatusBadRequest, err.Error())
		return
	}
	s.answerEvents(c, client, req.Q)
}
