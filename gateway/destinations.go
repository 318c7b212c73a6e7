package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/safehttp"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/whsign"
	"github.com/cventsync/cventsync/workflows"
)

// Destinations: platform endpoints that receive the change log as signed
// webhooks. Each has one Temporal workflow, started when it is created,
// enabled or replayed.

const (
	maxBatchSize = 500
	// secretGrace is how long a rotated-out secret still signs.
	secretGrace = 24 * time.Hour
)

type destinationRequest struct {
	URL *string `json:"url"`
	// Types: absent or null leaves the filter; [] clears it (every type).
	Types     []string `json:"types"`
	BatchSize *int     `json:"batchSize"`
	Enabled   *bool    `json:"enabled"`
}

type destinationJSON struct {
	ID                       string     `json:"id"`
	IntegrationID            string     `json:"integrationId"`
	URL                      string     `json:"url"`
	Types                    []string   `json:"types"`
	BatchSize                int        `json:"batchSize"`
	Enabled                  bool       `json:"enabled"`
	Status                   string     `json:"status"`
	StatusReason             string     `json:"statusReason,omitempty"`
	Cursor                   string     `json:"cursor"`
	FailingSince             *time.Time `json:"failingSince,omitempty"`
	LastSuccessAt            *time.Time `json:"lastSuccessAt,omitempty"`
	PreviousSecretValidUntil *time.Time `json:"previousSecretValidUntil,omitempty"`
	WorkflowID               string     `json:"workflowId"`
	Lag                      *lagJSON   `json:"lag,omitempty"`
	// Secret is shown once: at creation (and by rotate-secret).
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type lagJSON struct {
	Changes int64   `json:"changes"`
	Seconds float64 `json:"seconds"`
}

func toDestinationJSON(d *store.Destination) destinationJSON {
	out := destinationJSON{ID: d.ID, IntegrationID: d.IntegrationID, URL: d.URL, Types: []string(d.Types),
		BatchSize: d.BatchSize, Enabled: d.Enabled, Status: d.Status, StatusReason: d.StatusReason,
		Cursor: formatCursor(d.Cursor), FailingSince: nullTimePtr(d.FailingSince), LastSuccessAt: nullTimePtr(d.LastSuccessAt),
		WorkflowID: workflows.DestinationWorkflowID(d.ID), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if out.Types == nil {
		out.Types = []string{}
	}
	if d.OldSecret != "" && d.OldSecretUntil.Valid && d.OldSecretUntil.Time.After(time.Now()) {
		out.PreviousSecretValidUntil = &d.OldSecretUntil.Time
	}
	return out
}

// checkDestination validates the fields a request sets, answering 400 itself.
func (s *Server) checkDestination(c *gin.Context, r *destinationRequest) bool {
	if r.URL != nil {
		if err := safehttp.ValidateURLContext(c, *r.URL, s.opts.Outbound); err != nil {
			abort(c, http.StatusBadRequest, "url: "+err.Error())
			return false
		}
	}
	for _, t := range r.Types {
		if !knownType(t) {
			abort(c, http.StatusBadRequest, "unknown change type "+strconv.Quote(t)+"; known: "+strings.Join(store.ChangeTypes, ", "))
			return false
		}
	}
	if r.BatchSize != nil && (*r.BatchSize < 1 || *r.BatchSize > maxBatchSize) {
		abort(c, http.StatusBadRequest, "batchSize must be from 1 to 500")
		return false
	}
	return true
}

func decodeDestination(c *gin.Context) (*destinationRequest, bool) {
	var r destinationRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		abort(c, http.StatusBadRequest, "body must be JSON with url, types, batchSize, enabled: "+err.Error())
		return nil, false
	}
	return &r, true
}

func newDestinationID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "dst_" + hex.EncodeToString(b)
}

func (s *Server) createDestination(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	r, ok := decodeDestination(c)
	if !ok {
		return
	}
	if r.URL == nil || *r.URL == "" {
		abort(c, http.StatusBadRequest, "url is required")
		return
	}
	if !s.checkDestination(c, r) {
		return
	}
	secret, err := whsign.NewSecret()
	if err != nil {
		s.internalError(c, "make secret", err)
		return
	}
	d := &store.Destination{ID: newDestinationID(), IntegrationID: in.ID, URL: *r.URL, Types: r.Types, BatchSize: 1,
		Enabled: true, Secret: store.SealSecret(s.opts.SecretBox, secret)}
	if r.BatchSize != nil {
		d.BatchSize = *r.BatchSize
	}
	if r.Enabled != nil {
		d.Enabled = *r.Enabled
	}
	if err := s.opts.Store.CreateDestination(c, d); err != nil {
		s.internalError(c, "create destination", err)
		return
	}
	if d.Enabled {
		s.startDestination(c, d)
	}
	out := toDestinationJSON(d)
	out.Secret = secret
	c.JSON(http.StatusCreated, out)
}

// startDestination starts the destination's workflow, or wakes the running
// one. A failure is logged: the maintenance sweep starts it later.
func (s *Server) startDestination(ctx context.Context, d *store.Destination) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Signal-with-start: a running workflow, even one about to end because
	// it saw the destination disabled, is woken instead of left to end.
	_, err := s.opts.Temporal.SignalWithStartWorkflow(sctx, workflows.DestinationWorkflowID(d.ID),
		workflows.DestinationWakeSignal, nil, client.StartWorkflowOptions{
			TaskQueue:             s.opts.TaskQueue,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(d.IntegrationID)),
		}, workflows.Destination, &workflows.DestinationInput{DestinationID: d.ID})
	if err != nil {
		s.log.Warn("could not start the destination workflow", "destination", d.ID, "error", err)
	}
}

// loadDestination loads the destination in the path, answering 404 itself
// when it is not the integration's.
func (s *Server) loadDestination(c *gin.Context) (*store.Destination, bool) {
	d, err := s.opts.Store.GetDestination(c, c.Param("destinationId"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && d.IntegrationID != c.Param("id")) {
		abort(c, http.StatusNotFound, "no destination "+c.Param("destinationId")+" in integration "+c.Param("id"))
		return nil, false
	}
	if err != nil {
		s.internalError(c, "load destination", err)
		return nil, false
	}
	return d, true
}

func (s *Server) withLag(c *gin.Context, d *store.Destination) (destinationJSON, bool) {
	out := toDestinationJSON(d)
	lag, err := s.opts.Store.GetDestinationLag(c, d)
	if err != nil {
		s.internalError(c, "destination lag", err)
		return out, false
	}
	out.Lag = &lagJSON{Changes: lag.Changes, Seconds: lag.Seconds}
	return out, true
}

func (s *Server) listDestinations(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	list, err := s.opts.Store.ListDestinations(c, in.ID)
	if err != nil {
		s.internalError(c, "list destinations", err)
		return
	}
	out := make([]destinationJSON, len(list))
	for i := range list {
		if out[i], ok = s.withLag(c, &list[i]); !ok {
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"destinations": out})
}

func (s *Server) getDestination(c *gin.Context) {
	d, ok := s.loadDestination(c)
	if !ok {
		return
	}
	if out, ok := s.withLag(c, d); ok {
		c.JSON(http.StatusOK, out)
	}
}

func (s *Server) updateDestination(c *gin.Context) {
	if _, ok := s.loadDestination(c); !ok {
		return
	}
	r, ok := decodeDestination(c)
	if !ok || !s.checkDestination(c, r) {
		return
	}
	d, err := s.opts.Store.UpdateDestination(c, c.Param("destinationId"), store.DestinationPatch{
		URL: r.URL, Types: r.Types, BatchSize: r.BatchSize, Enabled: r.Enabled})
	if err != nil {
		s.internalError(c, "update destination", err)
		return
	}
	if d.Enabled {
		s.startDestination(c, d)
		_ = s.opts.Store.NotifyChanges(c, d.IntegrationID)
	}
	if out, ok := s.withLag(c, d); ok {
		c.JSON(http.StatusOK, out)
	}
}

func (s *Server) deleteDestination(c *gin.Context) {
	if _, ok := s.loadDestination(c); !ok {
		return
	}
	// The workflow sees the destination gone at its next look and ends.
	if err := s.opts.Store.DeleteDestination(c, c.Param("destinationId")); err != nil {
		s.internalError(c, "delete destination", err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) rotateDestinationSecret(c *gin.Context) {
	d, ok := s.loadDestination(c)
	if !ok {
		return
	}
	secret, err := whsign.NewSecret()
	if err != nil {
		s.internalError(c, "make secret", err)
		return
	}
	until := time.Now().Add(secretGrace).UTC()
	if err := s.opts.Store.RotateDestinationSecret(c, d.ID, store.SealSecret(s.opts.SecretBox, secret), until); err != nil {
		s.internalError(c, "rotate secret", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"secret": secret, "previousSecretValidUntil": until})
}

func (s *Server) replayDestination(c *gin.Context) {
	d, ok := s.loadDestination(c)
	if !ok {
		return
	}
	var r struct {
		After string `json:"after"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 4<<10)).Decode(&r); err != nil {
		abort(c, http.StatusBadRequest, `body must be {"after": "<cursor>"}`)
		return
	}
	after, err := parseCursor(r.After)
	if err != nil {
		abort(c, http.StatusBadRequest, `after must be a cursor ("0" for the oldest kept change)`)
		return
	}
	head, err := s.opts.Store.GetChangeHead(c, d.IntegrationID)
	if err != nil {
		s.internalError(c, "read change head", err)
		return
	}
	if after < head.PrunedThrough {
		abort(c, http.StatusGone, "cursor "+r.After+" expired: the oldest replayable cursor is "+formatCursor(head.PrunedThrough))
		return
	}
	if after > head.LastSeq {
		abort(c, http.StatusBadRequest, "cursor "+r.After+" is past the last change ("+formatCursor(head.LastSeq)+")")
		return
	}
	if d, err = s.opts.Store.ReplayDestination(c, d.ID, after); err != nil {
		s.internalError(c, "replay destination", err)
		return
	}
	s.startDestination(c, d)
	_ = s.opts.Store.NotifyChanges(c, d.IntegrationID)
	if out, ok := s.withLag(c, d); ok {
		c.JSON(http.StatusOK, out)
	}
}

type attemptJSON struct {
	ID        int64     `json:"id"`
	WebhookID string    `json:"webhookId"`
	FirstSeq  int64     `json:"firstSeq"`
	LastSeq   int64     `json:"lastSeq"`
	Changes   int       `json:"changes"`
	Status    int       `json:"status"`
	Error     string    `json:"error,omitempty"`
	LatencyMS int       `json:"latencyMs"`
	Response  string    `json:"response"`
	At        time.Time `json:"at"`
}

func (s *Server) listDestinationAttempts(c *gin.Context) {
	d, ok := s.loadDestination(c)
	if !ok {
		return
	}
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			abort(c, http.StatusBadRequest, "limit must be a number from 1 to 500")
			return
		}
		limit = n
	}
	var before int64
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			abort(c, http.StatusBadRequest, "before must be an attempt id")
			return
		}
		before = n
	}
	list, err := s.opts.Store.ListAttempts(c, d.ID, before, limit)
	if err != nil {
		s.internalError(c, "list attempts", err)
		return
	}
	out := make([]attemptJSON, len(list))
	for i, a := range list {
		out[i] = attemptJSON{ID: a.ID, WebhookID: a.WebhookID, FirstSeq: a.FirstSeq, LastSeq: a.LastSeq, Changes: a.Changes,
			Status: a.Status, Error: a.Error, LatencyMS: a.LatencyMS, Response: a.Response, At: a.At}
	}
	c.JSON(http.StatusOK, gin.H{"attempts": out})
}
