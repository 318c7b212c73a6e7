package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/reqid"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// bulkReplayRequest selects the deliveries to replay.
type bulkReplayRequest struct {
	deliveryQuery
	// Limit bounds how many are replayed (default 1,000, at most 10,000),
	// newest first.
	Limit int `json:"limit"`
	// DryRun lists what would be replayed without replaying it.
	DryRun bool `json:"dryRun"`
}

// bulkReplayAnswer says what was (or would be) replayed.
type bulkReplayAnswer struct {
	// running: a BulkReplay workflow replays them, follow it at ProgressURL;
	// replaying or queued (Temporal down): replayed here already; dry-run.
	Status      string  `json:"status"`
	ReplayID    string  `json:"replayId,omitempty"`
	ProgressURL string  `json:"progressUrl,omitempty"`
	Matched     int     `json:"matched"`
	Replayed    int     `json:"replayed"`
	DeliveryIDs []int64 `json:"deliveryIds"`
	// WorkflowID applies the small deliveries (the integration's drainer);
	// large ones run their own workflows again.
	WorkflowID string `json:"workflowId,omitempty"`
	// Skipped were no longer replayable when their turn came (deleted, or
	// rejected/ignored deliveries matched by a status filter).
	Skipped int `json:"skipped,omitempty"`
}

const (
	defaultBulkReplay = 1000
	maxBulkReplay     = 10000
)

// replayDeliveries replays every delivery of an integration that matches a
// filter: by default the failed ones, optionally received since a time, of
// an event type, or naming an invitee or e-mail. Each is put back in the
// queue and applied as when it arrived: small ones by the integration's
// drainer, large ones by their workflow run again. Replays are idempotent.
func (s *Server) replayDeliveries(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	var req bulkReplayRequest
	if err := c.ShouldBindJSON(&req); err != nil && !errors.Is(err, io.EOF) {
		abort(c, http.StatusBadRequest, "body must be a JSON object of filters: "+err.Error())
		return
	}
	req.Status = strings.TrimSpace(req.Status)
	if req.Status == "" {
		req.Status = store.DeliveryFailed
	}
	if req.Status != store.DeliveryFailed && req.Status != store.DeliveryProcessed && req.Status != store.DeliveryReceived {
		abort(c, http.StatusBadRequest, `status must be "failed" (the default), "processed" or "received"`)
		return
	}
	if req.Limit <= 0 {
		req.Limit = defaultBulkReplay
	}
	if req.Limit > maxBulkReplay {
		abort(c, http.StatusBadRequest, "limit must be at most 10000; replay in several steps")
		return
	}
	f := store.DeliveryFilter{Status: req.Status}
	if !s.resolveFilter(c, in.ID, req.deliveryQuery, &f) {
		return
	}
	matched, err := s.matchDeliveries(c, in.ID, f, req.Limit)
	if err != nil {
		s.internalError(c, "list deliveries to replay", err)
		return
	}
	out := bulkReplayAnswer{Status: "dry-run", Matched: len(matched), DeliveryIDs: make([]int64, 0, len(matched))}
	if req.DryRun {
		for _, d := range matched {
			out.DeliveryIDs = append(out.DeliveryIDs, d.ID)
		}
		c.JSON(http.StatusOK, out)
		return
	}
	if !s.temporalLikelyDown() {
		if s.startBulkReplay(c, in.ID, req, f, len(matched), &out) {
			c.JSON(http.StatusAccepted, out)
			return
		}
	}
	// Temporal does not answer: replay here; the deliveries wait in
	// PostgreSQL and the maintenance sweep starts their work later.
	out.Status = "replaying"
	small := false
	for _, m := range matched {
		d, err := s.opts.Store.MarkForReplay(c, m.ID)
		if errors.Is(err, store.ErrNotFound) {
			out.Skipped++
			continue
		}
		if err != nil {
			s.internalError(c, "mark delivery for replay", err)
			return
		}
		out.Replayed++
		out.DeliveryIDs = append(out.DeliveryIDs, d.ID)
		if d.Large {
			if s.startLarge(c, in, d) != nil {
				out.Status = "queued" // the maintenance sweep starts it once Temporal answers
			}
		} else {
			small = true
		}
	}
	if small {
		out.WorkflowID = workflows.IngestWorkflowID(in.ID)
		if !s.ingest.kick(c, in) {
			out.Status = "queued"
		}
	}
	s.log.InfoContext(c.Request.Context(), "bulk replay", "integrationId", in.ID, "status", req.Status, "since", req.Since,
		"eventType", req.EventType, "inviteeId", req.InviteeID, "replayed", out.Replayed)
	c.JSON(http.StatusAccepted, out)
}

// matchDeliveries pages through the deliveries matching f, newest first,
// up to limit.
func (s *Server) matchDeliveries(ctx context.Context, integrationID string, f store.DeliveryFilter, limit int) ([]store.Delivery, error) {
	var out []store.Delivery
	for len(out) < limit {
		f.Limit = min(500, limit-len(out))
		page, err := s.opts.Store.ListDeliveries(ctx, integrationID, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	return out, nil
}

// startBulkReplay starts the BulkReplay workflow that replays what f
// matches, and fills in the answer. It reports false when Temporal did not
// take it.
func (s *Server) startBulkReplay(c *gin.Context, integrationID string, req bulkReplayRequest, f store.DeliveryFilter,
	matched int, out *bulkReplayAnswer) bool {
	replayID := reqid.New()[:12]
	wid := workflows.BulkReplayWorkflowID(integrationID, replayID)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), startTimeout)
	defer cancel()
	_, err := s.opts.Temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID: wid, TaskQueue: s.opts.TaskQueue, WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(integrationID)),
	}, workflows.BulkReplay, &workflows.BulkReplayInput{IntegrationID: integrationID, Limit: req.Limit, Matched: matched,
		Filter: activities.ReplayFilter{IntegrationID: integrationID, Status: f.Status, Since: f.Since, EventType: f.EventType,
			InviteeID: f.InviteeID, InviteeIDs: f.InviteeIDs}})
	if err != nil {
		s.noteTemporalDown()
		s.log.WarnContext(c.Request.Context(), "could not start the bulk replay workflow; replaying in the gateway", "integrationId", integrationID, "error", err)
		return false
	}
	s.log.InfoContext(c.Request.Context(), "bulk replay started", "integrationId", integrationID, "workflowId", wid, "matched", matched,
		"status", req.Status, "since", req.Since, "eventType", req.EventType, "inviteeId", req.InviteeID)
	out.Status, out.ReplayID, out.WorkflowID = "running", replayID, wid
	out.ProgressURL = "/api/v1/integrations/" + integrationID + "/deliveries/replays/" + replayID
	return true
}

// bulkReplayStatus is a bulk replay's progress, and at the end its result.
type bulkReplayStatus struct {
	ReplayID    string  `json:"replayId"`
	WorkflowID  string  `json:"workflowId"`
	Status      string  `json:"status"` // running | completed | failed
	Matched     int     `json:"matched"`
	Replayed    int     `json:"replayed"`
	Skipped     int     `json:"skipped"`
	DeliveryIDs []int64 `json:"deliveryIds"`
	Error       string  `json:"error,omitempty"`
}

// getBulkReplay answers a bulk replay's progress: the running workflow's
// query, or the finished one's result.
func (s *Server) getBulkReplay(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	replayID := c.Param("replayId")
	wid := workflows.BulkReplayWorkflowID(in.ID, replayID)
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	desc, err := s.opts.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		abort(c, http.StatusNotFound, "no bulk replay "+replayID+" of this integration")
		return
	}
	if err != nil {
		abort(c, http.StatusServiceUnavailable, "Temporal did not answer: "+err.Error())
		return
	}
	out := bulkReplayStatus{ReplayID: replayID, WorkflowID: wid, Status: "running"}
	var p workflows.BulkReplayProgress
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		v, err := s.opts.Temporal.QueryWorkflow(ctx, wid, "", workflows.BulkReplayProgressQuery)
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			abort(c, http.StatusServiceUnavailable, "the bulk replay did not answer its progress query: "+err.Error())
			return
		}
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		out.Status = "completed"
		if err := s.opts.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &p); err != nil {
			s.internalError(c, "read bulk replay result", err)
			return
		}
	default:
		out.Status = "failed"
		out.Error = "workflow " + strings.ToLower(strings.TrimPrefix(desc.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
		if err := s.opts.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &p); err != nil {
			out.Error = err.Error()
		}
	}
	out.Matched, out.Replayed, out.Skipped, out.DeliveryIDs = p.Matched, p.Replayed, p.Skipped, p.DeliveryIDs
	if out.DeliveryIDs == nil {
		out.DeliveryIDs = []int64{}
	}
	c.JSON(http.StatusOK, out)
}
