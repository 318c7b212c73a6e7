package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

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
	Status      string  `json:"status"` // replaying | queued | dry-run
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
