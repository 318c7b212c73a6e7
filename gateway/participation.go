package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/participation"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/workflows"
)

// MaxActivityItems bounds one activity report.
const MaxActivityItems = 10000

type activityItemError struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

type activityAnswer struct {
	Accepted int                 `json:"accepted"`
	Rejected int                 `json:"rejected"`
	Errors   []activityItemError `json:"errors"`
}

// recordActivity takes a batch of platform activity (logins, logouts, watch
// time). Invalid items are reported one by one; the valid ones count. Only
// when an attendee meets the criterion does Temporal hear about it.
func (s *Server) recordActivity(c *gin.Context) {
	in, err := s.opts.Store.GetIntegration(c, c.Param("id"))
	if err != nil {
		abort(c, http.StatusNotFound, "no integration with id "+c.Param("id"))
		return
	}
	token, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if token == "" || len(in.PlatformKeyHash) == 0 || !secret.TokenMatches(in.PlatformKeyHash, token) {
		abort(c, http.StatusUnauthorized, "missing or wrong platform key: send Authorization: Bearer <platformKey>")
		return
	}
	var cfg participation.Config
	if err := settings.Decode(in.Settings, participation.SettingsSection, &cfg); err != nil || cfg.Criterion == "" {
		abort(c, http.StatusConflict, `participation tracking is not configured for this integration: PATCH it with {"participation":{"criterion":"login"}}`)
		return
	}
	items, ok := decodeActivity(c)
	if !ok {
		return
	}
	now := time.Now().UTC()
	ans := activityAnswer{Errors: []activityItemError{}}
	events := make([]participation.Event, 0, len(items))
	index := make([]int, 0, len(items))
	var ids, emails []string
	for i := range items {
		e, err := items[i].Parse(now)
		if err != nil {
			ans.Errors = append(ans.Errors, activityItemError{Index: i, Error: err.Error()})
			continue
		}
		events, index = append(events, e), append(index, i)
		if id := strings.ToLower(strings.TrimSpace(items[i].InviteeID)); id != "" {
			ids = append(ids, id)
		} else {
			emails = append(emails, strings.ToLower(strings.TrimSpace(items[i].Email)))
		}
	}
	byID, byEmail, err := s.opts.Store.ResolveAttendees(c, in.ID, ids, emails)
	if err != nil {
		s.internalError(c, "resolve attendees", err)
		return
	}
	known := events[:0]
	for k, e := range events {
		it := items[index[k]]
		var ok bool
		if id := strings.ToLower(strings.TrimSpace(it.InviteeID)); id != "" {
			e.InviteeID, ok = byID[id]
		} else {
			e.InviteeID, ok = byEmail[strings.ToLower(strings.TrimSpace(it.Email))]
		}
		if !ok {
			ans.Errors = append(ans.Errors, activityItemError{Index: index[k], Error: "unknown attendee: no registrant with this inviteeId or email"})
			continue
		}
		known = append(known, e)
	}
	sort.Slice(ans.Errors, func(i, j int) bool { return ans.Errors[i].Index < ans.Errors[j].Index })
	ans.Accepted, ans.Rejected = len(known), len(items)-len(known)
	if len(known) == 0 {
		c.AbortWithStatusJSON(http.StatusBadRequest, ans)
		return
	}
	outcome, err := s.opts.Store.RecordActivity(c, in.ID, &cfg, known, now)
	if err != nil {
		s.internalError(c, "record activity", err)
		return
	}
	if outcome.DueNow > 0 || !outcome.NextDue.IsZero() {
		s.kicker.kick(in.ID, workflows.ParticipationKick{DueNow: outcome.DueNow > 0, NextDue: outcome.NextDue})
	}
	c.JSON(http.StatusOK, ans)
}

func decodeActivity(c *gin.Context) ([]participation.EventInput, bool) {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, 16<<20)
	var raw json.RawMessage
	if err := json.NewDecoder(body).Decode(&raw); err != nil {
		abort(c, http.StatusBadRequest, "body must be a JSON array of activity items: "+err.Error())
		return nil, false
	}
	var items []participation.EventInput
	if err := json.Unmarshal(raw, &items); err != nil {
		var wrapped struct {
			Events []participation.EventInput `json:"events"`
		}
		if err2 := json.Unmarshal(raw, &wrapped); err2 != nil || wrapped.Events == nil {
			abort(c, http.StatusBadRequest, "body must be a JSON array of {type, inviteeId or email, at, seconds, sessionId}")
			return nil, false
		}
		items = wrapped.Events
	}
	if len(items) == 0 || len(items) > MaxActivityItems {
		abort(c, http.StatusBadRequest, "send from 1 to 10000 activity items per request")
		return nil, false
	}
	return items, true
}

// rotatePlatformKey issues a new platform key; the old one stops working.
func (s *Server) rotatePlatformKey(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	key := secret.NewToken()
	if err := s.opts.Store.SetPlatformKeyHash(c, in.ID, secret.HashToken(key)); err != nil {
		s.internalError(c, "rotate platform key", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"platformKey": key})
}

// kicker tells an integration's participation workflow that attendees are
// due, at most once per interval per integration: 5,000 logins in a minute
// become a few signals, not 5,000.
type kicker struct {
	temporal  client.Client
	taskQueue string
	interval  time.Duration
	log       interface {
		Warn(msg string, args ...any)
	}

	mu      sync.Mutex
	pending map[string]*workflows.ParticipationKick // integration → merged kick waiting for its slot
	last    map[string]time.Time
}

func (k *kicker) kick(integrationID string, kick workflows.ParticipationKick) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.pending[integrationID]; ok {
		merge(p, kick)
		return
	}
	wait := k.interval - time.Since(k.last[integrationID])
	if wait < 0 {
		wait = 0
	}
	merged := kick
	k.pending[integrationID] = &merged
	time.AfterFunc(wait, func() { k.send(integrationID) })
}

func merge(into *workflows.ParticipationKick, k workflows.ParticipationKick) {
	into.DueNow = into.DueNow || k.DueNow
	if !k.NextDue.IsZero() && (into.NextDue.IsZero() || k.NextDue.Before(into.NextDue)) {
		into.NextDue = k.NextDue
	}
}

func (k *kicker) send(integrationID string) {
	k.mu.Lock()
	kick := k.pending[integrationID]
	delete(k.pending, integrationID)
	k.last[integrationID] = time.Now()
	k.mu.Unlock()
	if kick == nil {
		return
	}
	if err := k.signal(context.Background(), integrationID, *kick); err != nil {
		// The attendees are stored as due; the sweeper kicks again later.
		k.log.Warn("could not signal participation workflow", "integrationId", integrationID, "error", err)
	}
}

func (k *kicker) signal(ctx context.Context, integrationID string, kick workflows.ParticipationKick) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := k.temporal.SignalWithStartWorkflow(ctx, workflows.ParticipationWorkflowID(integrationID),
		workflows.ParticipationSignal, kick, client.StartWorkflowOptions{TaskQueue: k.taskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(integrationID))},
		workflows.Participation, &workflows.ParticipationInput{IntegrationID: integrationID})
	return err
}

// resumeParticipation ends a write-back's parking on Cvent's daily quota:
// the operator says Cvent takes calls again (the quota was raised, or has
// reset). The write-back runs now; if Cvent still refuses, it parks again.
func (s *Server) resumeParticipation(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	if err := s.kicker.signal(c, in.ID, workflows.ParticipationKick{DueNow: true, Resume: true}); err != nil {
		s.internalError(c, "signal participation workflow", err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "resumed", "workflowId": workflows.ParticipationWorkflowID(in.ID)})
}
