package workflows

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cventsync/cventsync/activities"
)

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Delivery)
	env.RegisterActivity(&activities.Directory{})
	return env
}

func TestDeliveryAppliesOnceAndTagsInvitees(t *testing.T) {
	env := newEnv(t)
	var a *activities.Directory
	env.OnActivity(a.ApplyDelivery, mock.Anything, &activities.ApplyDeliveryInput{DeliveryID: 7}).
		Return(&activities.ApplyDeliveryResult{EventType: "InviteeOrGuestAccepted", Items: 1, Written: 1, InviteeIDs: []string{"abc"}}, nil).Once()
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Once()

	env.ExecuteWorkflow(Delivery, &DeliveryInput{DeliveryID: 7, IntegrationID: "i", EventType: "InviteeOrGuestAccepted", MessageStub: "s"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DeliveryResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 1, res.Written)
	env.AssertExpectations(t)
}

func TestDeliveryRetriesTransientErrors(t *testing.T) {
	env := newEnv(t)
	var a *activities.Directory
	env.OnActivity(a.ApplyDelivery, mock.Anything, mock.Anything).Return(nil, errors.New("connection reset")).Twice()
	env.OnActivity(a.ApplyDelivery, mock.Anything, mock.Anything).Return(&activities.ApplyDeliveryResult{Written: 3}, nil).Once()

	env.ExecuteWorkflow(Delivery, &DeliveryInput{DeliveryID: 1})

	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

func TestMalformedDeliveryIsMarkedFailedWithoutRetry(t *testing.T) {
	env := newEnv(t)
	var a *activities.Directory
	env.OnActivity(a.ApplyDelivery, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("item 0: bad", activities.ErrTypeMalformed, nil)).Once()
	env.OnActivity(a.MarkDeliveryFailed, mock.Anything, mock.MatchedBy(func(in *activities.MarkDeliveryFailedInput) bool {
		return in.DeliveryID == 9 && in.Reason != ""
	})).Return(nil).Once()

	env.ExecuteWorkflow(Delivery, &DeliveryInput{DeliveryID: 9})

	require.Error(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

func TestDeliveryRejectsMissingInput(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(Delivery, &DeliveryInput{})
	require.Error(t, env.GetWorkflowError())
}
