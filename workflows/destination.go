package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
)

// DestinationWorkflowID names a destination's delivery workflow: one per
// destination, so its changes go out in order.
func DestinationWorkflowID(destinationID string) string { return "destination/" + destinationID }

// DestinationInput names the destination to deliver to.
type DestinationInput struct {
	DestinationID string
}

// DestinationWakeSignal tells a destination's workflow that it was enabled
// or replayed: the gateway signals-with-start, so a workflow about to end
// (it saw the destination disabled) looks again instead.
const DestinationWakeSignal = "wake"

// destinationRunsPerHistory bounds a run's history: each DeliverChanges
// lasts minutes, so a run covers hours before continuing as new.
const destinationRunsPerHistory = 100

// DestinationMaxRetryInterval caps the wait between two attempts at a
// failing destination. Delivery is ordered, so a failing destination has
// one message to retry, the head of its queue, whatever its backlog: a
// receiver that is down gets one small POST per interval, and one that
// comes back gets the head, then the backlog, at most this long after. The
// usual webhook schedule (growing to hours) would leave every change behind
// the head waiting that long too: with a 10-minute cap, a platform down for
// five minutes waited three and a half more.
const DestinationMaxRetryInterval = 15 * time.Second

// destinationRetry paces a failing DeliverChanges: 1 s, 2 s, 4 s, 8 s, then
// every DestinationMaxRetryInterval, until the destination is disabled
// (410, failing for three days, cursor expired). A 429's Retry-After sets
// the next delay instead (activities.Outbound).
var destinationRetry = &temporal.RetryPolicy{
	InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: DestinationMaxRetryInterval,
	NonRetryableErrorTypes: activities.DisablingErrorTypes,
}

// Destination delivers the change log to one platform destination. The
// DeliverChanges activity does the following and the posting; this workflow
// keeps it running, and Temporal's retry policy paces the retries of a
// failing destination (destinationRetry, for as long as it takes).
// A destination that answers 410, has failed for three days or whose
// cursor expired is disabled with the reason, and the workflow ends; a
// deleted or disabled destination ends it too. Enabling or replaying starts
// it again.
func Destination(ctx workflow.Context, in *DestinationInput) (*activities.DeliverResult, error) {
	if in == nil || in.DestinationID == "" {
		return nil, temporal.NewNonRetryableApplicationError("destination id is required", "BadInput", nil)
	}
	var a *activities.Outbound
	deliver := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         destinationRetry,
	})
	total := &activities.DeliverResult{}
	wake := workflow.GetSignalChannel(ctx, DestinationWakeSignal)
	for i := 0; i < destinationRunsPerHistory; i++ {
		// Wakes up to now are answered by the run below, which reads the
		// destination afresh; only later ones keep an ending workflow going.
		drain(wake)
		var res activities.DeliverResult
		err := workflow.ExecuteActivity(deliver, a.DeliverChanges, &activities.DeliverInput{DestinationID: in.DestinationID}).Get(ctx, &res)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && isDisabling(appErr.Type()) {
			short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 30 * time.Second,
				RetryPolicy:         &temporal.RetryPolicy{MaximumInterval: time.Minute},
			})
			reason := appErr.Message()
			if err := workflow.ExecuteActivity(short, a.DisableDestination,
				&activities.DisableInput{DestinationID: in.DestinationID, Reason: reason}).Get(ctx, nil); err != nil {
				return nil, err
			}
			total.Stopped, total.Reason = true, "disabled: "+reason
			if drain(wake) {
				continue
			}
			return total, nil
		}
		if err != nil {
			return nil, err
		}
		total.Delivered += res.Delivered
		if res.Stopped {
			total.Stopped, total.Reason = true, res.Reason
			if drain(wake) {
				continue
			}
			return total, nil
		}
	}
	drain(wake) // a wake is a hint: the next run reads the destination anyway
	return nil, workflow.NewContinueAsNewError(ctx, Destination, in)
}

// drain consumes the pending wakes and reports whether there were any.
func drain(ch workflow.ReceiveChannel) bool {
	got := false
	for ch.ReceiveAsync(nil) {
		got = true
	}
	return got
}

func isDisabling(errType string) bool {
	for _, t := range activities.DisablingErrorTypes {
		if t == errType {
			return true
		}
	}
	return false
}
