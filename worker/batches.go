package worker

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/workflows"
)

// batchRecorder starts the IngestBatch workflows that record drained
// batches. Starts run in the background, a bounded number at once, so a slow
// Temporal never slows the drain: the deliveries are applied already.
type batchRecorder struct {
	c         client.Client
	taskQueue string
	inFlight  chan struct{}
}

func newBatchRecorder(c client.Client, taskQueue string) *batchRecorder {
	return &batchRecorder{c: c, taskQueue: taskQueue, inFlight: make(chan struct{}, 32)}
}

// RecordBatch implements activities.BatchRecorder.
func (r *batchRecorder) RecordBatch(ctx context.Context, b *activities.BatchRecord) error {
	select {
	case r.inFlight <- struct{}{}:
	default:
		return fmt.Errorf("%d batch records already being started", cap(r.inFlight))
	}
	go func() {
		defer func() { <-r.inFlight }()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		attrs := []temporal.SearchAttributeUpdate{searchattr.IntegrationID.ValueSet(b.IntegrationID)}
		if ids := searchattr.FitInviteeIDs(b.InviteeIDs); len(ids) > 0 {
			attrs = append(attrs, searchattr.InviteeIDs.ValueSet(ids))
		}
		if len(b.EventTypes) == 1 {
			attrs = append(attrs, searchattr.EventType.ValueSet(b.EventTypes[0]))
		}
		_, _ = r.c.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
			ID:                       b.WorkflowID,
			TaskQueue:                r.taskQueue,
			WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TypedSearchAttributes:    temporal.NewSearchAttributes(attrs...),
		}, workflows.IngestBatch, b)
	}()
	return nil
}
