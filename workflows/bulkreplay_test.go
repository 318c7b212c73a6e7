package workflows

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/cventsync/cventsync/activities"
)

// A bulk replay pages through the matching deliveries until none is left,
// starts the drainer once for the small ones and the Delivery workflow of
// each large one, and reports what it replayed.
func TestBulkReplayPagesAndStartsWork(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(BulkReplay)
	env.RegisterWorkflow(Ingest)
	env.RegisterWorkflow(Delivery)
	var a *activities.Replay
	env.RegisterActivity(a)
	env.OnActivity(a.ReplayPage, mock.Anything, mock.MatchedBy(func(in *activities.ReplayPageInput) bool { return in.BeforeID == 0 })).
		Return(&activities.ReplayPageResult{Replayed: []activities.ReplayedDelivery{{ID: 9}, {ID: 8}}, NextBeforeID: 8}, nil).Once()
	env.OnActivity(a.ReplayPage, mock.Anything, mock.MatchedBy(func(in *activities.ReplayPageInput) bool { return in.BeforeID == 8 })).
		Return(&activities.ReplayPageResult{Replayed: []activities.ReplayedDelivery{
			{ID: 5, Large: true, WorkflowID: "delivery/int-1/stub", EventType: "AttendeeManualSynced", Stub: "stub"}},
			Skipped: 1, Done: true}, nil).Once()
	env.OnWorkflow(Ingest, mock.Anything, mock.MatchedBy(func(in *IngestInput) bool { return in.IntegrationID == "int-1" })).
		Return(&activities.DrainResult{}, nil).Once()
	env.OnWorkflow(Delivery, mock.Anything, mock.MatchedBy(func(in *DeliveryInput) bool { return in.DeliveryID == 5 && in.MessageStub == "stub" })).
		Return(&DeliveryResult{}, nil).Once()
	env.ExecuteWorkflow(BulkReplay, &BulkReplayInput{IntegrationID: "int-1", Limit: 1000, Matched: 4,
		Filter: activities.ReplayFilter{IntegrationID: "int-1", Status: "failed"}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var got BulkReplayProgress
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if !got.Done || got.Replayed != 3 || got.Skipped != 1 || got.Matched != 4 || len(got.DeliveryIDs) != 3 {
		t.Errorf("progress %+v", got)
	}
	env.AssertExpectations(t)
}
