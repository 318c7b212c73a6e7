package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/searchattr"
)

// IngestWorkflowID names an integration's ingest workflow: at most one runs,
// so at most one drainer applies the integration's small deliveries.
func IngestWorkflowID(integrationID string) string { return "ingest/" + integrationID }

// IngestWakeSignal tells a running Ingest workflow that deliveries wait and
// no drainer held the lease when they were stored.
const IngestWakeSignal = "wake"

// IngestInput names the integration whose deliveries are drained.
type IngestInput struct {
	IntegrationID string
}

// Drain bounds: a batch is recorded as one IngestBatch workflow, findable by
// its invitees' ids; a run drains for up to ingestRunTime, then continues as
// new with a fresh history.
const (
	batchMaxDeliveries = 500
	batchMaxTime       = time.Second
	batchLinger        = 200 * time.Millisecond
	// ingestIdle is how long a drainer waits for work before the workflow ends.
	ingestIdle    = 30 * time.Second
	ingestRunTime = 10 * time.Minute
)

// Ingest applies an integration's small webhook deliveries (registrations,
// cancellations, session changes) the moment they are stored: its Drain
// activity wakes on PostgreSQL's notification and applies them, so no
// Temporal round trip lies on the path of a registration, and hundreds a
// second cost one activity. Each batch it applies is recorded as an
// IngestBatch workflow (batch/<integration>/<first delivery>) that lists
// the deliveries and carries their invitees' ids. After a quiet spell the
// workflow ends; the gateway starts it again with the next delivery.
func Ingest(ctx workflow.Context, in *IngestInput) (*activities.DrainResult, error) {
	if in == nil || in.IntegrationID == "" {
		return nil, temporal.NewNonRetryableApplicationError("integration id is required", "BadInput", nil)
	}
	var a *activities.Directory
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: ingestRunTime + time.Minute,
		// A dead worker is noticed in seconds: another attempt takes over and
		// finds the deliveries the dead one had not committed still waiting.
		HeartbeatTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 200 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
		},
	})
	var res activities.DrainResult
	err := workflow.ExecuteActivity(actx, a.Drain, &activities.DrainInput{
		IntegrationID: in.IntegrationID, MaxInvitees: searchattr.MaxInviteeIDs, MaxDeliveries: batchMaxDeliveries,
		MaxBatchTime: batchMaxTime, Linger: batchLinger, IdleTimeout: ingestIdle, MaxRunTime: ingestRunTime,
	}).Get(ctx, &res)
	if err != nil {
		return nil, err
	}
	// A wake-up sent while this run was winding down means a delivery was
	// stored after the drainer gave its lease up: drain once more.
	woken := workflow.GetSignalChannel(ctx, IngestWakeSignal).ReceiveAsync(nil)
	for workflow.GetSignalChannel(ctx, IngestWakeSignal).ReceiveAsync(nil) {
	}
	if res.Idle && !woken {
		return &res, nil
	}
	return nil, workflow.NewContinueAsNewError(ctx, Ingest, in)
}

// IngestBatch records one batch of drained deliveries: it does nothing but
// exist, with the batch as its input and result and the batch's invitees,
// integration and event type as search attributes from its start.
func IngestBatch(_ workflow.Context, b *activities.BatchRecord) (*activities.BatchRecord, error) {
	return b, nil
}
