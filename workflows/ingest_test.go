package workflows

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
)

func newIngestEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(Ingest)
	env.RegisterActivity(&activities.Directory{})
	return env
}

// A drain that ran its time while busy continues as new, with a fresh history.
func TestIngestContinuesAsNewWhileBusy(t *testing.T) {
	env := newIngestEnv()
	var a *activities.Directory
	env.OnActivity(a.Drain, mock.Anything, mock.MatchedBy(func(in *activities.DrainInput) bool {
		return in.IntegrationID == "i" && in.MaxInvitees > 0 && in.IdleTimeout > 0 && in.MaxRunTime > 0
	})).Return(&activities.DrainResult{Deliveries: 2, Batches: 1}, nil).Once()

	env.ExecuteWorkflow(Ingest, &IngestInput{IntegrationID: "i"})

	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	env.AssertExpectations(t)
}

// A drain that found nothing for its idle time ends the workflow.
func TestIngestEndsWhenIdle(t *testing.T) {
	env := newIngestEnv()
	var a *activities.Directory
	env.OnActivity(a.Drain, mock.Anything, mock.Anything).Return(&activities.DrainResult{Idle: true}, nil).Once()

	env.ExecuteWorkflow(Ingest, &IngestInput{IntegrationID: "i"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res activities.DrainResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.True(t, res.Idle)
}

// A failing drain is retried by Temporal, not given up: the deliveries wait
// in PostgreSQL until it succeeds.
func TestIngestRetriesAFailingDrain(t *testing.T) {
	env := newIngestEnv()
	var a *activities.Directory
	env.OnActivity(a.Drain, mock.Anything, mock.Anything).Return(nil, errors.New("connection refused")).Times(3)
	env.OnActivity(a.Drain, mock.Anything, mock.Anything).Return(&activities.DrainResult{Idle: true}, nil).Once()

	env.ExecuteWorkflow(Ingest, &IngestInput{IntegrationID: "i"})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

func TestIngestRejectsMissingInput(t *testing.T) {
	env := newIngestEnv()
	env.ExecuteWorkflow(Ingest, &IngestInput{})
	require.Error(t, env.GetWorkflowError())
}

// A wake-up that reached a run about to end idle makes it drain once more.
func TestIngestWokenWhileIdleDrainsAgain(t *testing.T) {
	env := newIngestEnv()
	var a *activities.Directory
	env.OnActivity(a.Drain, mock.Anything, mock.Anything).Return(&activities.DrainResult{Idle: true}, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(IngestWakeSignal, nil) }, 0)

	env.ExecuteWorkflow(Ingest, &IngestInput{IntegrationID: "i"})

	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
}

// A batch record is its own input, for the Web UI.
func TestIngestBatchRecordsItsInput(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(IngestBatch)
	in := &activities.BatchRecord{WorkflowID: "batch/i/1", IntegrationID: "i", DeliveryIDs: []int64{1, 2}, InviteeIDs: []string{"a"}}
	env.ExecuteWorkflow(IngestBatch, in)
	var out activities.BatchRecord
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, in.DeliveryIDs, out.DeliveryIDs)
}
