// Package schedules owns cventsync's Temporal Schedules: an integration's REST
// polling and the maintenance sweep. Both the gateway (when settings change)
// and the worker (at start and from the sweep) make them match what they
// should be; creating one that exists is harmless, so replicas may race.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/searchattr"
)

// PollID names an integration's REST polling schedule; each run is a Poll
// workflow with the same id prefix.
func PollID(integrationID string) string { return "poll/" + integrationID }

// PollWorkflow is the registered name of the workflow a polling schedule runs.
const PollWorkflow = "Poll"

// PollInput is the input of the Poll workflow and its activities.
type PollInput struct {
	IntegrationID string
}

// EnsurePoll makes an integration's polling schedule match its settings:
// present and running every interval when the integration polls, absent
// otherwise.
func EnsurePoll(ctx context.Context, sc client.ScheduleClient, taskQueue, integrationID string, polls bool, every time.Duration) error {
	id := PollID(integrationID)
	h := sc.GetHandle(ctx, id)
	desc, err := h.Describe(ctx)
	var notFound *serviceerror.NotFound
	exists := err == nil
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("describe schedule %s: %w", id, err)
	}
	if !polls {
		if exists {
			return h.Delete(ctx)
		}
		return nil
	}
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	if exists {
		cur := desc.Schedule.Spec
		if cur != nil && len(cur.Intervals) == 1 && cur.Intervals[0].Every == every {
			return nil
		}
		return h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(u client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			u.Description.Schedule.Spec = &spec
			return &client.ScheduleUpdate{Schedule: &u.Description.Schedule}, nil
		}})
	}
	return create(ctx, sc, client.ScheduleOptions{
		ID:                 id,
		Spec:               spec,
		Overlap:            enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		TriggerImmediately: true,
		Action: &client.ScheduleWorkflowAction{
			ID: id, Workflow: PollWorkflow, TaskQueue: taskQueue, Args: []any{&PollInput{IntegrationID: integrationID}},
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(integrationID)),
		},
	})
}

// MaintenanceID names the schedule of the maintenance sweep.
const MaintenanceID = "maintenance"

// MaintenanceWorkflow is the registered name of the sweep's workflow.
const MaintenanceWorkflow = "Maintenance"

// MaintenanceEvery is how often the sweep runs: the bound on how long a
// delivery whose workflow vanished waits before it is started again.
const MaintenanceEvery = 30 * time.Second

// EnsureMaintenance creates the maintenance schedule when it is missing.
func EnsureMaintenance(ctx context.Context, sc client.ScheduleClient, taskQueue string) error {
	return create(ctx, sc, client.ScheduleOptions{
		ID:      MaintenanceID,
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: MaintenanceEvery}}},
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Action: &client.ScheduleWorkflowAction{
			ID: MaintenanceID, Workflow: MaintenanceWorkflow, TaskQueue: taskQueue,
			Args:                     []any{struct{}{}}, // default ages
			WorkflowExecutionTimeout: 5 * time.Minute,
		},
	})
}

func create(ctx context.Context, sc client.ScheduleClient, opts client.ScheduleOptions) error {
	_, err := sc.Create(ctx, opts)
	var exists *serviceerror.AlreadyExists
	if err == nil || errors.As(err, &exists) || errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil
	}
	return fmt.Errorf("create schedule %s: %w", opts.ID, err)
}
