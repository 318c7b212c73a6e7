package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func deliveryWorkflowID(d *store.Delivery) string {
	return workflows.DeliveryWorkflowID(d.IntegrationID, d.MessageStub.String)
}

// startDelivery starts the delivery workflow, or joins the run in progress.
// A finished run of the same id may run again: applying a delivery is
// idempotent, and only deliveries still marked received are dispatched.
func (s *Server) startDelivery(ctx context.Context, in *store.Integration, d *store.Delivery) (client.WorkflowRun, error) {
	return s.opts.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       d.WorkflowID,
		TaskQueue:                s.opts.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.IntegrationID.ValueSet(in.ID),
			searchattr.EventID.ValueSet(in.CventEventID),
			searchattr.EventType.ValueSet(d.EventType),
		),
	}, workflows.Delivery, &workflows.DeliveryInput{
		DeliveryID: d.ID, IntegrationID: d.IntegrationID, EventType: d.EventType, MessageStub: d.MessageStub.String,
	})
}

// dispatch hands a stored delivery to Temporal and records that it did.
func (s *Server) dispatch(ctx context.Context, in *store.Integration, d *store.Delivery) error {
	if s.temporalLikelyDown() {
		return errors.New("temporal unreachable")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if _, err := s.startDelivery(sctx, in, d); err != nil {
		s.noteTemporalDown()
		s.log.Warn("temporal did not take the delivery; it stays queued", "deliveryId", d.ID, "error", err)
		return fmt.Errorf("start workflow: %w", err)
	}
	if err := s.opts.Store.MarkDispatched(context.WithoutCancel(ctx), d.ID, d.WorkflowID); err != nil {
		// The workflow runs; at worst the dispatcher starts it again, which
		// the workflow id makes a no-op.
		s.log.Error("could not record dispatch", "deliveryId", d.ID, "error", err)
	}
	return nil
}

// RunDispatcher starts, every interval, the deliveries that were stored but
// never reached Temporal, until ctx ends. This is the outbox that makes
// "stored" imply "processed eventually".
func (s *Server) RunDispatcher(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for tick := 0; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.dispatchPending(ctx)
			if tick%15 == 0 {
				s.sweepParticipation(ctx)
				s.sweepContactUpdates(ctx)
			}
		}
	}
}

func (s *Server) dispatchPending(ctx context.Context) {
	pending, err := s.opts.Store.Undispatched(ctx, time.Now().Add(-2*time.Second), 200)
	if err != nil {
		s.log.Error("dispatcher: list pending deliveries", "error", err)
		return
	}
	if len(pending) == 0 {
		return
	}
	s.temporalDownUntil.Store(0) // probe for real instead of trusting the last failure
	integrations := map[string]*store.Integration{}
	for i := range pending {
		d := &pending[i]
		in, ok := integrations[d.IntegrationID]
		if !ok {
			if in, err = s.opts.Store.GetIntegration(ctx, d.IntegrationID); err != nil {
				s.log.Error("dispatcher: load integration", "error", err)
				return
			}
			integrations[d.IntegrationID] = in
		}
		if err := s.dispatch(ctx, in, d); err != nil {
			return // Temporal still down; try again next tick
		}
		s.log.Info("dispatcher: started queued delivery", "deliveryId", d.ID, "workflowId", d.WorkflowID)
	}
}
