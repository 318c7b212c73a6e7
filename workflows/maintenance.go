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
// recreates missing polling schedules.
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
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if err != nil && !errors.As(err, &started) {
			workflow.GetLogger(ctx).Warn("maintenance could not start a workflow", "error", err)
		}
	}
	return &work, nil
}
