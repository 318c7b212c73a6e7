package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/internal/store"
)

func TestOutcomeRecords(t *testing.T) {
	records, written, failed := outcomeRecords([]string{"a", "b", "c"}, []CheckInOutcome{
		{AttendeeID: "A", OK: true},
		{AttendeeID: "b", OK: false, Error: "Attendee not found"},
	})
	want := map[string]string{"a": store.ParticipationWritten, "b": store.ParticipationFailed, "c": store.ParticipationPending}
	for _, r := range records {
		if want[r.InviteeID] != r.Status {
			t.Errorf("%s: %s, want %s", r.InviteeID, r.Status, want[r.InviteeID])
		}
	}
	if written != 1 || failed != 1 || records[1].Error != "Attendee not found" || records[2].Error == "" {
		t.Errorf("written %d failed %d records %+v", written, failed, records)
	}
}

// A Cvent call that takes longer than the heartbeat timeout keeps its
// attempt alive: the attempt heartbeats while it waits, so Temporal does
// not start a second attempt beside a call that may still act.
func TestWaitingCallHeartbeatsWhileCventIsSlow(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var beats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
	slowCall := func(ctx context.Context) (string, error) {
		return waitingCall(ctx, 5*time.Second, "check-in", func(ctx context.Context) (string, error) {
			select {
			case <-time.After(1200 * time.Millisecond): // four heartbeat timeouts
				return "207", nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		})
	}
	env.RegisterActivityWithOptions(slowCall, activity.RegisterOptions{Name: "slowCall"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute,
			HeartbeatTimeout: 300 * time.Millisecond, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
		var out string
		err := workflow.ExecuteActivity(ctx, "slowCall").Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: "slowCallWorkflow"})
	env.ExecuteWorkflow("slowCallWorkflow")
	var out string
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("the slow call's attempt did not survive: %v", err)
	}
	if err := env.GetWorkflowResult(&out); err != nil || out != "207" {
		t.Fatalf("result %q %v", out, err)
	}
	if n := beats.Load(); n < 2 {
		t.Errorf("%d heartbeats during a call of four heartbeat timeouts", n)
	}
}

func TestCallTimeoutStaysWithinTheLeaseAndTheDeadline(t *testing.T) {
	bg := context.Background()
	if d := callTimeout(bg, 0); d != maxCallTimeout {
		t.Errorf("no client timeout: %v", d)
	}
	if d := callTimeout(bg, 2*time.Second); d != 2*time.Second {
		t.Errorf("a 2 s client: %v", d)
	}
	if d := callTimeout(bg, 10*time.Minute); d != maxCallTimeout {
		t.Errorf("a 10 min client: %v", d)
	}
	ctx, cancel := context.WithTimeout(bg, 11*time.Second)
	defer cancel()
	if d := callTimeout(ctx, 0); d > 10*time.Second || d < 9*time.Second {
		t.Errorf("11 s left in the activity: %v", d)
	}
}
