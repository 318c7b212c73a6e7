// Package worker creates the Temporal worker that runs cventsync's workflows
// and activities, and prepares the namespace they need.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/safehttp"
	"github.com/cventsync/cventsync/internal/schedules"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// Deps are what the activities need.
type Deps struct {
	Store *store.Store
	// Notifier wakes drainers when deliveries are stored; nil makes them poll.
	Notifier *store.Notifier
	// Cvent gives each integration's Cvent API client.
	Cvent  *connection.Clients
	Logger *slog.Logger
	// Temporal and TaskQueue let the maintenance sweep manage schedules.
	Temporal  client.Client
	TaskQueue string
	// Outbound is what platform destinations may be (the zero Policy: https
	// to public addresses only).
	Outbound safehttp.Policy
	// ChangeRetention is how long change log entries are kept (0: 30 days).
	ChangeRetention time.Duration
	// BodyRetention is how long stored bodies of applied deliveries are kept (0: 30 days).
	BodyRetention time.Duration
}

// New creates a worker on taskQueue with every workflow and activity registered.
func New(c client.Client, taskQueue string, deps Deps) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		// Deliveries are short database transactions; allow enough in flight to
		// absorb a burst of webhooks without queueing behind each other.
		MaxConcurrentActivityExecutionSize:     64,
		MaxConcurrentWorkflowTaskExecutionSize: 64,
		// Workflow task pollers scale with the load, and the autoscaling
		// balancer keeps one poll on the normal task queue whatever the
		// sticky queue's backlog hint says. With a fixed number of pollers
		// (mixed mode) a stale positive hint sends every poll to the sticky
		// queue: in a burst of RFP workflows, sticky tasks timed out to the
		// normal queue while all four pollers long-polled an empty sticky
		// queue, and 160 new workflows' first tasks waited 60 s (the long
		// poll) for a poller.
		WorkflowTaskPollerBehavior: sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{
			InitialNumberOfPollers: 4, MinimumNumberOfPollers: 2, MaximumNumberOfPollers: 16,
		}),
		MaxConcurrentActivityTaskPollers: 4,
		// Workflow and activity loggers name the integration, delivery and
		// request they work for.
		Interceptors: []interceptor.WorkerInterceptor{LogFields()},
	})
	if deps.Temporal == nil {
		deps.Temporal = c
	}
	if deps.TaskQueue == "" {
		deps.TaskQueue = taskQueue
	}
	Register(w, deps)
	return w
}

// WorkflowRegistry is where workflows are registered: a worker, or a
// replayer in tests.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every workflow under its stable name.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.Delivery, workflow.RegisterOptions{Name: "Delivery"})
	r.RegisterWorkflowWithOptions(workflows.DeliveryBatch, workflow.RegisterOptions{Name: "DeliveryBatch"})
	r.RegisterWorkflowWithOptions(workflows.Participation, workflow.RegisterOptions{Name: "Participation"})
	r.RegisterWorkflowWithOptions(workflows.ContactUpdate, workflow.RegisterOptions{Name: "ContactUpdate"})
	r.RegisterWorkflowWithOptions(workflows.Poll, workflow.RegisterOptions{Name: "Poll"})
	r.RegisterWorkflowWithOptions(workflows.Resync, workflow.RegisterOptions{Name: "Resync"})
	r.RegisterWorkflowWithOptions(workflows.Ingest, workflow.RegisterOptions{Name: "Ingest"})
	r.RegisterWorkflowWithOptions(workflows.IngestBatch, workflow.RegisterOptions{Name: "IngestBatch"})
	r.RegisterWorkflowWithOptions(workflows.Maintenance, workflow.RegisterOptions{Name: schedules.MaintenanceWorkflow})
	r.RegisterWorkflowWithOptions(workflows.Destination, workflow.RegisterOptions{Name: "Destination"})
	r.RegisterWorkflowWithOptions(workflows.BulkReplay, workflow.RegisterOptions{Name: "BulkReplay"})
	r.RegisterWorkflowWithOptions(workflows.RFP, workflow.RegisterOptions{Name: "RFP"})
}

// Register registers every workflow and activity on r.
func Register(r sdkworker.Registry, deps Deps) {
	RegisterWorkflows(r)
	dir := &activities.Directory{Store: deps.Store, Accounts: deps.Cvent, Notifier: deps.Notifier, Logger: deps.Logger}
	if deps.Temporal != nil {
		dir.Batches = newBatchRecorder(deps.Temporal, deps.TaskQueue)
	}
	r.RegisterActivity(dir)
	m := &activities.Maintenance{Store: deps.Store, TaskQueue: deps.TaskQueue, EnsurePoll: connection.EnsurePollSchedule}
	if deps.Temporal != nil {
		m.Schedules = deps.Temporal.ScheduleClient()
	}
	r.RegisterActivity(m)
	r.RegisterActivity(&activities.Cvent{Store: deps.Store, Accounts: deps.Cvent, Logger: deps.Logger})
	r.RegisterActivity(&activities.Participation{Store: deps.Store, Accounts: deps.Cvent, Classify: connection.Classify, Logger: deps.Logger})
	r.RegisterActivity(&activities.Contacts{Store: deps.Store, Accounts: deps.Cvent})
	out := &activities.Outbound{Store: deps.Store, Notifier: deps.Notifier, Client: safehttp.NewClient(deps.Outbound, 15*time.Second),
		Retention: deps.ChangeRetention, Logger: deps.Logger}
	if deps.Cvent != nil {
		out.Box = deps.Cvent.Box
	}
	r.RegisterActivity(out)
	r.RegisterActivity(&activities.Retention{Store: deps.Store, BodyRetention: deps.BodyRetention})
	r.RegisterActivity(&activities.Replay{Store: deps.Store})
	rfp := &activities.RFP{Store: deps.Store, Logger: deps.Logger}
	if deps.Cvent != nil {
		rfp.Box = deps.Cvent.Box
		if deps.Cvent.Usage != nil {
			rfp.Calls = deps.Cvent.Usage // REST pulls count against the account's daily quota
		}
	}
	r.RegisterActivity(rfp)
}

// EnsureSearchAttributes creates cventsync's custom search attributes in the
// namespace when they are missing. Workflows set them, so a worker must not
// run without them.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range searchattr.Definitions() {
		if _, ok := have.GetCustomAttributes()[name]; ok {
			continue
		}
		v, ok := enumspb.IndexedValueType_shorthandValue[typ]
		if !ok {
			return fmt.Errorf("search attribute %s: unknown type %s", name, typ)
		}
		missing[name] = enumspb.IndexedValueType(v)
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}
