package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/searchattr"
)

// DeliveryInput identifies a stored delivery; the body stays in PostgreSQL so
// a 20 MB manual sync never enters workflow history.
type DeliveryInput struct {
	DeliveryID    int64
	IntegrationID string
	EventType     string
	MessageStub   string
}

// DeliveryResult is what processing the delivery did.
type DeliveryResult = activities.ApplyDeliveryResult

// Retries of a delivery: quick at first (a database restart), then patient;
// after a day the delivery is marked failed and waits for an operator replay.
var deliveryRetry = &temporal.RetryPolicy{
	InitialInterval:        200 * time.Millisecond,
	BackoffCoefficient:     2,
	MaximumInterval:        time.Minute,
	NonRetryableErrorTypes: []string{activities.ErrTypeMalformed},
}

// Delivery applies one large Cvent webhook delivery (a manual sync) to the
// directory, in chunks. Small deliveries are drained in batches by Ingest.
func Delivery(ctx workflow.Context, in *DeliveryInput) (*DeliveryResult, error) {
	if in == nil || in.DeliveryID == 0 {
		return nil, temporal.NewNonRetryableApplicationError("delivery id is required", "BadInput", nil)
	}
	logger := workflow.GetLogger(ctx)
	var a *activities.Directory

	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		// The apply heartbeats after every chunk: a worker that dies in the
		// middle of a 100,000-attendee sync is replaced within this timeout,
		// and the new attempt resumes after the last committed chunk.
		HeartbeatTimeout:       15 * time.Second,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            deliveryRetry,
	})
	var result DeliveryResult
	err := workflow.ExecuteActivity(actx, a.ApplyDelivery, &activities.ApplyDeliveryInput{DeliveryID: in.DeliveryID}).Get(ctx, &result)
	if err != nil {
		logger.Error("delivery failed", "deliveryId", in.DeliveryID, "error", err)
		reason := err.Error()
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			reason = appErr.Error()
		}
		fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: 30 * time.Second},
		})
		if ferr := workflow.ExecuteActivity(fctx, a.MarkDeliveryFailed,
			&activities.MarkDeliveryFailedInput{DeliveryID: in.DeliveryID, Reason: reason}).Get(ctx, nil); ferr != nil {
			logger.Error("could not mark delivery failed", "error", ferr)
		}
		return nil, fmt.Errorf("apply delivery %d: %w", in.DeliveryID, err)
	}
	if len(result.InviteeIDs) > 0 {
		// Lets operators find this delivery by attendee in the Web UI.
		_ = workflow.UpsertTypedSearchAttributes(ctx, searchattr.InviteeIDs.ValueSet(searchattr.FitInviteeIDs(result.InviteeIDs)))
	}
	return &result, nil
}

// DeliveryBatchWorkflowID names a batch by its integration and delivery range.
func DeliveryBatchWorkflowID(integrationID string, first, last int64) string {
	return fmt.Sprintf("deliveries/%s/%d-%d", integrationID, first, last)
}

// DeliveryBatchInput lists stored deliveries of one integration, oldest first.
type DeliveryBatchInput struct {
	IntegrationID string
	DeliveryIDs   []int64
}

// DeliveryBatch applied a burst of deliveries in one activity. Ingest has
// replaced it; it stays registered so that runs started by an earlier
// version finish.
func DeliveryBatch(ctx workflow.Context, in *DeliveryBatchInput) (*activities.ApplyDeliveriesResult, error) {
	if in == nil || len(in.DeliveryIDs) == 0 {
		return nil, temporal.NewNonRetryableApplicationError("delivery ids are required", "BadInput", nil)
	}
	var a *activities.Directory
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Minute,
		HeartbeatTimeout:       time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            deliveryRetry,
	})
	var res activities.ApplyDeliveriesResult
	if err := workflow.ExecuteActivity(actx, a.ApplyDeliveries, &activities.ApplyDeliveriesInput{DeliveryIDs: in.DeliveryIDs}).Get(ctx, &res); err != nil {
		return nil, err
	}
	if len(res.InviteeIDs) > 0 {
		_ = workflow.UpsertTypedSearchAttributes(ctx, searchattr.InviteeIDs.ValueSet(searchattr.FitInviteeIDs(res.InviteeIDs)))
	}
	return &res, nil
}
