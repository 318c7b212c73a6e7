package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
)

// ContactUpdateWorkflowID names the workflow pushing one platform edit.
func ContactUpdateWorkflowID(integrationID, inviteeID string, updateID int64) string {
	return fmt.Sprintf("contact-update/%s/%s/%d", integrationID, inviteeID, updateID)
}

// ContactUpdateInput names a queued platform edit.
type ContactUpdateInput struct {
	UpdateID int64
}

// ContactUpdate pushes one platform profile edit to the Cvent contact,
// retrying through Cvent's rate limits for up to a day.
func ContactUpdate(ctx workflow.Context, in *ContactUpdateInput) error {
	var a *activities.Contacts
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: 10 * time.Minute},
	})
	return workflow.ExecuteActivity(ctx, a.PushContactUpdate, &activities.PushContactUpdateInput{UpdateID: in.UpdateID}).Get(ctx, nil)
}
