package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// ensureSchedule makes an integration's REST polling schedule match its
// settings.
func (s *Server) ensureSchedule(ctx context.Context, in *store.Integration) error {
	return connection.EnsurePollSchedule(ctx, s.opts.Temporal.ScheduleClient(), s.opts.TaskQueue, in)
}

// syncSchedule is ensureSchedule for request handlers: a failure is logged,
// and the maintenance sweep tries again.
func (s *Server) syncSchedule(ctx context.Context, in *store.Integration) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.ensureSchedule(sctx, in); err != nil {
		s.log.Warn("could not update the polling schedule; retrying later", "integrationId", in.ID, "error", err)
	}
}

// pollNow runs the integration's polling right away.
func (s *Server) pollNow(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	if conn, err := connection.Decode(in.Settings); err != nil || !conn.Polls() {
		abort(c, http.StatusConflict, `polling is off: set {"cvent":{"mode":"rest"}} or "both"`)
		return
	}
	if err := s.ensureSchedule(c, in); err != nil {
		s.internalError(c, "polling schedule", err)
		return
	}
	if err := s.opts.Temporal.ScheduleClient().GetHandle(c, workflows.PollScheduleID(in.ID)).Trigger(c, client.ScheduleTriggerOptions{}); err != nil {
		s.internalError(c, "trigger poll", err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "polling", "scheduleId": workflows.PollScheduleID(in.ID)})
}

// startResync starts a full re-sync from the REST API.
func (s *Server) startResync(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	if conn, err := connection.Decode(in.Settings); err != nil || !conn.HasCredentials() {
		abort(c, http.StatusConflict, connection.ErrNoCredentials.Error())
		return
	}
	r, err := s.opts.Store.CreateResync(c, in.ID)
	if err != nil {
		s.internalError(c, "create resync", err)
		return
	}
	wid := workflows.ResyncWorkflowID(in.ID, r.ID)
	if _, err := s.opts.Temporal.ExecuteWorkflow(c, client.StartWorkflowOptions{ID: wid, TaskQueue: s.opts.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(in.ID), searchattr.EventID.ValueSet(in.CventEventID))},
		workflows.Resync, &workflows.ResyncInput{IntegrationID: in.ID, ResyncID: r.ID}); err != nil {
		_ = s.opts.Store.FinishResync(c, r.ID, "failed", "Temporal unreachable: "+err.Error())
		abort(c, http.StatusServiceUnavailable, "Temporal is unreachable; try again shortly")
		return
	}
	_ = s.opts.Store.SetResyncWorkflow(c, r.ID, wid)
	r.WorkflowID = wid
	c.JSON(http.StatusAccepted, r)
}

func (s *Server) getResync(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("resyncId"), 10, 64)
	if err != nil {
		abort(c, http.StatusBadRequest, "resync id must be a number")
		return
	}
	r, err := s.opts.Store.GetResync(c, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.IntegrationID != c.Param("id")) {
		abort(c, http.StatusNotFound, "no resync "+c.Param("resyncId")+" for this integration")
		return
	}
	if err != nil {
		s.internalError(c, "get resync", err)
		return
	}
	c.JSON(http.StatusOK, r)
}
