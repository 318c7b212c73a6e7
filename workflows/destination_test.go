package workflows

import (
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
