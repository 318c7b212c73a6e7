package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/schedules"
)

// PollScheduleID names an integration's REST polling schedule; each run is
// a Poll workflow with the same id prefix.
func PollScheduleID(integrationID string) string { return schedules.PollID(integrationID) }

// Poll reads what changed in Cvent since the last poll. A Temporal Schedule
// starts it every polling interval; overlapping runs are skipped.
func Poll(ctx workflow.Context, in *activities.PollInput) (*activities.PollResult, error) {
	var a *activities.Cvent
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
	var res activities.PollResult
	if err := workflow.ExecuteActivity(ctx, a.PollAttendees, in).Get(ctx, &res); err != nil {
		return nil, err
	}
	// Sessions and personal agendas come along with every poll.
	if err := workflow.ExecuteActivity(ctx, a.ImportSessions, in).Get(ctx, nil); err != nil {
		return &res, err
	}
	return &res, nil
}

// ResyncWorkflowID names a full re-sync.
func ResyncWorkflowID(integrationID string, resyncID int64) string {
	return "resync/" + integrationID + "/" + itoa(resyncID)
}

// ResyncInput is a full re-sync, or where one continues after continue-as-new.
type ResyncInput struct {
	IntegrationID string
	ResyncID      int64
	Token         string
	Done, Written int
}

// ResyncProgress is what the "progress" query answers.
type ResyncProgress struct {
	Done, Written, Total int
	Finished             bool
}

// ResyncProgressQuery is the query name for a re-sync's progress.
const ResyncProgressQuery = "progress"

// Pages one activity run reads (200 attendees a page), and runs per
// workflow run before continuing as new, so a 50,000-attendee event keeps a
// small history.
const (
	resyncPagesPerRun   = 10
	resyncRunsBeforeCAN = 10
)

// Resync reads every attendee of the event from the REST API and applies
// them: manual re-sync and reconciliation. It resumes from its page token.
func Resync(ctx workflow.Context, in *ResyncInput) (*ResyncProgress, error) {
	var a *activities.Cvent
	progress := &ResyncProgress{Done: in.Done, Written: in.Written}
	if err := workflow.SetQueryHandler(ctx, ResyncProgressQuery, func() (*ResyncProgress, error) { return progress, nil }); err != nil {
		return nil, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute},
	})
	token := in.Token
	for run := 0; run < resyncRunsBeforeCAN; run++ {
		var res activities.ResyncPageResult
		err := workflow.ExecuteActivity(actx, a.ResyncPages, &activities.ResyncPageInput{
			IntegrationID: in.IntegrationID, ResyncID: in.ResyncID, Token: token,
			Done: progress.Done, Written: progress.Written, MaxPages: resyncPagesPerRun,
		}).Get(ctx, &res)
		if err != nil {
			finish(ctx, in.ResyncID, "failed", err.Error())
			return progress, err
		}
		token = res.Token
		progress.Done, progress.Written, progress.Total, progress.Finished = res.Done, res.Written, res.Total, res.Finished
		if res.Finished {
			err := workflow.ExecuteActivity(actx, a.ImportSessions, &activities.PollInput{IntegrationID: in.IntegrationID}).Get(ctx, nil)
			if err != nil {
				finish(ctx, in.ResyncID, "failed", "attendees done; sessions: "+err.Error())
				return progress, err
			}
			finish(ctx, in.ResyncID, "done", "")
			return progress, nil
		}
	}
	return progress, workflow.NewContinueAsNewError(ctx, Resync, &ResyncInput{
		IntegrationID: in.IntegrationID, ResyncID: in.ResyncID, Token: token, Done: progress.Done, Written: progress.Written,
	})
}

func finish(ctx workflow.Context, resyncID int64, status, errText string) {
	var a *activities.Cvent
	fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	if err := workflow.ExecuteActivity(fctx, a.FinishResync, &activities.FinishResyncInput{ResyncID: resyncID, Status: status, Error: errText}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not record the end of a re-sync", "error", err)
	}
}
