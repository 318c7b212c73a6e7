package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cventsync/cventsync/activities"
)

func newDestinationEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Destination)
	env.RegisterActivity(&activities.Outbound{})
	return env
}

func TestDestinationRetriesFailuresThenEndsWhenDisabled(t *testing.T) {
	env := newDestinationEnv()
	var a *activities.Outbound
	in := &activities.DeliverInput{DestinationID: "dst_1"}
	env.OnActivity(a.DeliverChanges, mock.Anything, in).Return(nil, temporal.NewApplicationError("POST answered 503", "DestinationFailing")).Twice()
	env.OnActivity(a.DeliverChanges, mock.Anything, in).Return(&activities.DeliverResult{Delivered: 4}, nil).Once()
	env.OnActivity(a.DeliverChanges, mock.Anything, in).Return(&activities.DeliverResult{Stopped: true, Reason: "destination deleted"}, nil).Once()

	env.ExecuteWorkflow(Destination, &DestinationInput{DestinationID: "dst_1"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res activities.DeliverResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 4, res.Delivered)
	require.True(t, res.Stopped)
	env.AssertExpectations(t)
}

func TestDestinationGoneIsDisabledWithTheReason(t *testing.T) {
	env := newDestinationEnv()
	var a *activities.Outbound
	env.OnActivity(a.DeliverChanges, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("the destination answered 410 Gone", activities.ErrTypeDestinationGone, nil)).Once()
	env.OnActivity(a.DisableDestination, mock.Anything, &activities.DisableInput{DestinationID: "dst_1", Reason: "the destination answered 410 Gone"}).
		Return(nil).Once()

	env.ExecuteWorkflow(Destination, &DestinationInput{DestinationID: "dst_1"})

	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

// A wake (enable, replay) that arrives while the workflow is ending keeps it going.
func TestDestinationWokenWhileEndingDeliversAgain(t *testing.T) {
	env := newDestinationEnv()
	var a *activities.Outbound
	env.OnActivity(a.DeliverChanges, mock.Anything, mock.Anything).After(time.Minute).
		Return(&activities.DeliverResult{Stopped: true, Reason: "destination disabled"}, nil).Once()
	env.OnActivity(a.DeliverChanges, mock.Anything, mock.Anything).
		Return(&activities.DeliverResult{Stopped: true, Reason: "destination disabled"}, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(DestinationWakeSignal, nil) }, 30*time.Second)

	env.ExecuteWorkflow(Destination, &DestinationInput{DestinationID: "dst_1"})

	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

func TestDestinationRejectsMissingInput(t *testing.T) {
	env := newDestinationEnv()
	env.ExecuteWorkflow(Destination, &DestinationInput{})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, "BadInput", appErr.Type())
}

// A destination that stays down is retried with growing intervals that stop
// growing at DestinationMaxRetryInterval: however long the outage, the
// receiver gets the head message that soon after it comes back.
func TestDestinationRetriesADeadReceiverAtMostTheCapApart(t *testing.T) {
	env := newDestinationEnv()
	var a *activities.Outbound
	// The test environment allows 10 attempts; uncapped, the last interval
	// would be 2^8 s.
	const failures = 9
	var attempts []time.Time
	env.OnActivity(a.DeliverChanges, mock.Anything, mock.Anything).Return(
		func(context.Context, *activities.DeliverInput) (*activities.DeliverResult, error) {
			attempts = append(attempts, env.Now())
			if len(attempts) <= failures {
				return nil, temporal.NewApplicationError("POST answered 503", "DestinationFailing")
			}
			return &activities.DeliverResult{Delivered: 1, Stopped: true, Reason: "destination deleted"}, nil
		})

	env.ExecuteWorkflow(Destination, &DestinationInput{DestinationID: "dst_1"})

	require.NoError(t, env.GetWorkflowError())
	require.Len(t, attempts, failures+1)
	want := time.Second
	for i := 1; i < len(attempts); i++ {
		gap := attempts[i].Sub(attempts[i-1])
		require.Equal(t, want, gap, "interval before attempt %d", i+1)
		want = min(2*want, DestinationMaxRetryInterval)
	}
	require.Equal(t, DestinationMaxRetryInterval, attempts[failures].Sub(attempts[failures-1]))
}
