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

// Batch bounds: a run is one batch, listed in its Drain activity's result
// and findable by its invitees' ids.
const (
	batchMaxDeliveries = 500
	batchMaxTime       = time.Second
	batchLinger        = 200 * time.Millisecond
	// ingestIdle is how long a drainer waits for work before the workflow ends.
	ingestIdle = 30 * time.Second
)

// Ingest applies an integration's small webhook deliveries (registrations,
// cancellations, session changes) as they are stored. Each run drains one
// batch in a Drain activity and continues as new, so every run is a batch:
// its history lists the deliveries, its search attributes the invitees.
// Under a steady stream a batch forms while the previous one is recorded,
// so hundreds of registrations a second cost a few workflow runs, and a lone
// registration is applied the moment it is stored. After a quiet spell the
// workflow ends; the gateway starts it again with the next delivery.
func Ingest(ctx workflow.Context, in *IngestInput) (*activities.DrainResult, error) {
	if in == nil || in.IntegrationID == "" {
		return nil, temporal.NewNonRetryableApplicationError("integration id is required", "BadInput", nil)
	}
	var a *activities.Directory
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
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
		MaxBatchTime: batchMaxTime, Linger: batchLinger, IdleTimeout: ingestIdle,
	}).Get(ctx, &res)
	if err != nil {
		return nil, err
	}
	updates := []temporal.SearchAttributeUpdate{searchattr.IntegrationID.ValueSet(in.IntegrationID)}
	if len(res.InviteeIDs) > 0 {
		updates = append(updates, searchattr.InviteeIDs.ValueSet(searchattr.FitInviteeIDs(res.InviteeIDs)))
	} else {
		updates = append(updates, searchattr.InviteeIDs.ValueUnset())
	}
	if len(res.EventTypes) == 1 {
		updates = append(updates, searchattr.EventType.ValueSet(res.EventTypes[0]))
	} else {
		updates = append(updates, searchattr.EventType.ValueUnset())
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
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
