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

// MaxBatch bounds how many deliveries one batch workflow applies.
const MaxBatch = 100

type startJob struct {
	in *store.Integration
	d  *store.Delivery
}

// enqueue hands a stored delivery to the starters without waiting for
// Temporal, so Cvent's request is answered as soon as PostgreSQL has it. A
// full queue is fine: the dispatcher finds the delivery in the outbox.
func (s *Server) enqueue(in *store.Integration, d *store.Delivery) {
	select {
	case s.starts <- startJob{in: in, d: d}:
	default:
		s.log.Warn("start queue full; the dispatcher will start the delivery", "deliveryId", d.ID)
	}
}

// runStarters starts workflows for queued deliveries. A starter that finds
// more deliveries waiting takes up to MaxBatch of them into one batch
// workflow: under a burst, work is batched; alone, a delivery gets its own
// workflow and the lowest latency.
func (s *Server) runStarters(ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		go func() {
			for {
				var first startJob
				select {
				case <-ctx.Done():
					return
				case first = <-s.starts:
				}
				jobs := []startJob{first}
			gather:
				for len(jobs) < MaxBatch {
					select {
					case j := <-s.starts:
						jobs = append(jobs, j)
					default:
						break gather
					}
				}
				s.startJobs(ctx, jobs)
			}
		}()
	}
}

func (s *Server) startJobs(ctx context.Context, jobs []startJob) {
	byIntegration := map[string][]startJob{}
	var order []string
	for _, j := range jobs {
		if _, ok := byIntegration[j.in.ID]; !ok {
			order = append(order, j.in.ID)
		}
		byIntegration[j.in.ID] = append(byIntegration[j.in.ID], j)
	}
	for _, id := range order {
		group := byIntegration[id]
		if len(group) == 1 {
			_ = s.dispatch(ctx, group[0].in, group[0].d)
			continue
		}
		ds := make([]*store.Delivery, len(group))
		for i, j := range group {
			ds[i] = j.d
		}
		_ = s.dispatchBatch(ctx, group[0].in, ds)
	}
}

// dispatchBatch starts one workflow for several deliveries of an integration.
func (s *Server) dispatchBatch(ctx context.Context, in *store.Integration, ds []*store.Delivery) error {
	if s.temporalLikelyDown() {
		return errors.New("temporal unreachable")
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	wid := workflows.DeliveryBatchWorkflowID(in.ID, ids[0], ids[len(ids)-1])
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := s.opts.Temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID:                       wid,
		TaskQueue:                s.opts.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.IntegrationID.ValueSet(in.ID),
			searchattr.EventID.ValueSet(in.CventEventID),
			searchattr.EventType.ValueSet(ds[0].EventType),
		),
	}, workflows.DeliveryBatch, &workflows.DeliveryBatchInput{IntegrationID: in.ID, DeliveryIDs: ids})
	if err != nil {
		s.noteTemporalDown()
		s.log.Warn("temporal did not take the delivery batch; it stays queued", "deliveries", len(ids), "error", err)
		return fmt.Errorf("start batch workflow: %w", err)
	}
	if err := s.opts.Store.MarkDispatchedMany(context.WithoutCancel(ctx), ids, wid); err != nil {
		s.log.Error("could not record dispatch", "workflowId", wid, "error", err)
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
			if tick%150 == 0 {
				s.sweepSchedules(ctx)
			}
		}
	}
}

func (s *Server) dispatchPending(ctx context.Context) {
	pending, err := s.opts.Store.Undispatched(ctx, time.Now().Add(-2*time.Second), 1000)
	if err != nil {
		s.log.Error("dispatcher: list pending deliveries", "error", err)
		return
	}
	if len(pending) == 0 {
		return
	}
	s.temporalDownUntil.Store(0) // probe for real instead of trusting the last failure
	integrations := map[string]*store.Integration{}
	var jobs []startJob
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
		jobs = append(jobs, startJob{in: in, d: d})
	}
	for len(jobs) > 0 {
		n := min(len(jobs), MaxBatch)
		s.startJobs(ctx, jobs[:n])
		jobs = jobs[n:]
		if s.temporalLikelyDown() {
			return // try again next tick
		}
	}
	s.log.Info("dispatcher: started queued deliveries", "deliveries", len(pending))
}
