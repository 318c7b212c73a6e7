package workflows

import (
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/searchattr"
)

// BulkReplayWorkflowID names a bulk replay: replay/<integration>/<replay id>.
func BulkReplayWorkflowID(integrationID, replayID string) string {
	return "replay/" + integrationID + "/" + replayID
}

// BulkReplayProgressQuery answers a running bulk replay's progress.
const BulkReplayProgressQuery = "progress"

// BulkReplayInput is an operator's bulk replay: a filter and a bound.
type BulkReplayInput struct {
	IntegrationID string
	Filter        activities.ReplayFilter
	// Limit bounds how many deliveries are replayed; Matched is how many
	// matched when it was asked for (the progress bar's total).
	Limit   int
	Matched int
}

// BulkReplayProgress is where a bulk replay stands, and at the end its result.
type BulkReplayProgress struct {
	Matched     int
	Replayed    int
	Skipped     int
	DeliveryIDs []int64
	Done        bool
}

// BulkReplay replays the deliveries matching a filter (by default the
// failed ones), newest first, a page at a time, as one workflow an operator
// can follow: its progress query counts what is done. Each delivery goes
// back in the queue; small ones are applied by the integration's drainer
// (started here when none runs), large ones by their Delivery workflow,
// started again here.
func BulkReplay(ctx workflow.Context, in *BulkReplayInput) (*BulkReplayProgress, error) {
	if in == nil || in.IntegrationID == "" || in.Limit <= 0 {
		return nil, temporal.NewNonRetryableApplicationError("integration id and limit are required", "BadInput", nil)
	}
	progress := &BulkReplayProgress{Matched: in.Matched, DeliveryIDs: []int64{}}
	if err := workflow.SetQueryHandler(ctx, BulkReplayProgressQuery, func() (*BulkReplayProgress, error) { return progress, nil }); err != nil {
		return nil, err
	}
	var a *activities.Replay
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var children []workflow.ChildWorkflowFuture
	start := func(id string, attrs []temporal.SearchAttributeUpdate, fn any, arg any) {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(append(attrs, searchattr.IntegrationID.ValueSet(in.IntegrationID))...),
		})
		children = append(children, workflow.ExecuteChildWorkflow(cctx, fn, arg))
	}
	drainerStarted := false
	var before int64
	for progress.Replayed+progress.Skipped < in.Limit {
		var page activities.ReplayPageResult
		err := workflow.ExecuteActivity(actx, a.ReplayPage, &activities.ReplayPageInput{Filter: in.Filter, BeforeID: before,
			Max: min(500, in.Limit-progress.Replayed-progress.Skipped)}).Get(ctx, &page)
		if err != nil {
			return progress, err
		}
		progress.Skipped += page.Skipped
		for _, d := range page.Replayed {
			progress.Replayed++
			progress.DeliveryIDs = append(progress.DeliveryIDs, d.ID)
			switch {
			case d.Large:
				start(d.WorkflowID, []temporal.SearchAttributeUpdate{searchattr.EventType.ValueSet(d.EventType)}, Delivery,
					&DeliveryInput{DeliveryID: d.ID, IntegrationID: in.IntegrationID, EventType: d.EventType, MessageStub: d.Stub})
			case !drainerStarted:
				// A running drainer heard the deliveries; a missing one starts.
				drainerStarted = true
				start(IngestWorkflowID(in.IntegrationID), nil, Ingest, &IngestInput{IntegrationID: in.IntegrationID})
			}
		}
		before = page.NextBeforeID
		if page.Done {
			break
		}
	}
	for _, f := range children {
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		if err != nil && !errors.As(err, &started) {
			workflow.GetLogger(ctx).Warn("bulk replay could not start a workflow; the maintenance sweep will", "error", err)
		}
	}
	progress.Done = true
	return progress, nil
}
