package workflows

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
)

// Maintenance is the periodic sweep, run by the "maintenance" Temporal
// Schedule (so it runs once however many gateways and workers there are, and
// shows in the Web UI): it restarts the work whose workflow vanished
// (terminated, timed out, lost with a namespace reset, or never started
// because Temporal was down when the delivery arrived), kicks participation
// write-backs that are due, starts contact updates that never started, and
// recreates missing polling schedules, and hands on PNS notifications that
// never reached their RFP's workflow.
func Maintenance(ctx workflow.Context, in *activities.StaleWorkInput) (*activities.StaleWork, error) {
	var a *activities.Maintenance
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var work activities.StaleWork
	if err := workflow.ExecuteActivity(actx, a.FindStaleWork, in).Get(ctx, &work); err != nil {
		return nil, err
	}
	var futures []workflow.ChildWorkflowFuture
	// Every child carries its integration id, and what else it is known by
	// (event type, invitee), from its start.
	startWith := func(id, integrationID string, attrs []temporal.SearchAttributeUpdate, fn any, args ...any) {
		attrs = append(attrs, searchattr.IntegrationID.ValueSet(integrationID))
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
		})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, fn, args...))
	}
	start := func(id, integrationID string, fn any, args ...any) { startWith(id, integrationID, nil, fn, args...) }
	for _, id := range work.Drain {
		start(IngestWorkflowID(id), id, Ingest, &IngestInput{IntegrationID: id})
	}
	for _, d := range work.Large {
		startWith(d.WorkflowID, d.IntegrationID, []temporal.SearchAttributeUpdate{searchattr.EventType.ValueSet(d.EventType)},
			Delivery, &DeliveryInput{DeliveryID: d.DeliveryID, IntegrationID: d.IntegrationID,
				EventType: d.EventType, MessageStub: d.MessageStub})
	}
	for _, u := range work.ContactUpdates {
		startWith(ContactUpdateWorkflowID(u.IntegrationID, u.InviteeID, u.UpdateID), u.IntegrationID,
			[]temporal.SearchAttributeUpdate{searchattr.InviteeIDs.ValueSet([]string{strings.ToLower(u.InviteeID)})},
			ContactUpdate, &ContactUpdateInput{UpdateID: u.UpdateID})
	}
	// A running participation workflow is told that check-ins are due; a
	// missing one is started and finds them itself.
	signals := make([]workflow.Future, len(work.Participation))
	for i, id := range work.Participation {
		signals[i] = workflow.SignalExternalWorkflow(ctx, ParticipationWorkflowID(id), "", ParticipationSignal, ParticipationKick{DueNow: true})
	}
	for i, id := range work.Participation {
		if err := signals[i].Get(ctx, nil); err != nil {
			start(ParticipationWorkflowID(id), id, Participation, &ParticipationInput{IntegrationID: id})
		}
	}
	// Destinations whose workflow never started (Temporal was down when one
	// was created or enabled) are started; running ones are left alone.
	var o *activities.Outbound
	var dests []store.EnabledDestination
	if err := workflow.ExecuteActivity(actx, o.EnabledDestinations).Get(ctx, &dests); err != nil {
		workflow.GetLogger(ctx).Warn("maintenance could not list destinations", "error", err)
	}
	for _, d := range dests {
		start(DestinationWorkflowID(d.ID), d.IntegrationID, Destination, &DestinationInput{DestinationID: d.ID})
	}
	// The change log keeps entries for the retention time, deleted in batches.
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute, HeartbeatTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	if err := workflow.ExecuteActivity(pctx, o.PruneChanges).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("maintenance could not prune the change log", "error", err)
	}
	// Stored webhook bodies of applied deliveries expire (personal data).
	if workflow.GetVersion(ctx, "purge-bodies", workflow.DefaultVersion, 1) == 1 {
		var r *activities.Retention
		if err := workflow.ExecuteActivity(pctx, r.PurgeBodies).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("maintenance could not purge expired delivery bodies", "error", err)
		}
	}
	// Wait only until each child has started (or was found running): they
	// are abandoned and run on their own.
	for _, f := range futures {
		if err := childStarted(ctx, f); err != nil {
			workflow.GetLogger(ctx).Warn("maintenance could not start a workflow", "error", err)
		}
	}
	// PNS notifications stored but never handed to their RFP's workflow.
	if workflow.GetVersion(ctx, "pns-hand-on", workflow.DefaultVersion, 1) == 1 && len(work.RFPs) > 0 {
		handOnRFPs(ctx, actx, work.RFPs)
	}
	return &work, nil
}

// childStarted waits until a child has started; one found running counts.
func childStarted(ctx workflow.Context, f workflow.ChildWorkflowFuture) error {
	err := f.GetChildWorkflowExecution().Get(ctx, nil)
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// handOnRFPs tells each RFP's workflow of its notifications, as the gateway
// would have: a running workflow is signalled, a missing one is started
// with them pending (one started meanwhile by a newer notification pulls
// after they were stored, so it answers them too). Those handed are marked
// so; the rest wait for the next sweep.
func handOnRFPs(ctx workflow.Context, actx workflow.Context, rfps []activities.StaleRFP) {
	log := workflow.GetLogger(ctx)
	signalled := make([][]workflow.Future, len(rfps))
	for i, r := range rfps {
		for _, n := range r.Notices {
			signalled[i] = append(signalled[i], workflow.SignalExternalWorkflow(ctx, RFPWorkflowID(r.IntegrationID, r.RFPID), "", RFPSignal,
				RFPNotice{NotificationID: n.NotificationID, Type: n.Type, SupplierID: n.SupplierID}))
		}
	}
	started := make([]workflow.ChildWorkflowFuture, len(rfps))
	for i, r := range rfps {
		var err error
		for _, f := range signalled[i] {
			if e := f.Get(ctx, nil); e != nil {
				err = e
			}
		}
		if err == nil {
			continue
		}
		in := &RFPInput{IntegrationID: r.IntegrationID, RFPID: r.RFPID, Dirty: true, Pending: r.NotificationIDs,
			PullInline: true}
		for _, n := range r.Notices {
			if n.SupplierID != "" {
				in.SupplierIDs = append(in.SupplierIDs, n.SupplierID)
			}
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            RFPWorkflowID(r.IntegrationID, r.RFPID),
			ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(r.IntegrationID)),
		})
		started[i] = workflow.ExecuteChildWorkflow(cctx, RFP, in)
	}
	var handed []int64
	for i, r := range rfps {
		if started[i] != nil {
			if err := childStarted(ctx, started[i]); err != nil {
				log.Warn("maintenance could not start an rfp workflow", "rfp", r.RFPID, "error", err)
				continue
			}
		}
		handed = append(handed, r.NotificationIDs...)
	}
	if len(handed) == 0 {
		return
	}
	var a *activities.Maintenance
	if err := workflow.ExecuteActivity(actx, a.MarkPNSHanded, &activities.MarkPNSHandedInput{NotificationIDs: handed}).Get(ctx, nil); err != nil {
		// Handed all the same; the next sweep hands them again, harmlessly.
		log.Warn("maintenance could not mark pns notifications handed", "error", err)
	}
}
