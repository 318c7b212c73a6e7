package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/internal/store"
)

// Maintenance finds work whose workflow is gone, for the Maintenance
// workflow to start again, and keeps polling schedules in place.
type Maintenance struct {
	Store *store.Store
	// Schedules, when set, recreates missing polling schedules.
	Schedules client.ScheduleClient
	TaskQueue string
	// EnsurePoll makes one integration's polling schedule match its settings.
	EnsurePoll func(ctx context.Context, sc client.ScheduleClient, taskQueue string, in *store.Integration) error
}

// How old waiting work must be before the sweep takes it for abandoned.
// Small deliveries are drained within a second; a large one may legitimately
// run for minutes, and restarting its running workflow is a no-op anyway.
const (
	staleSmallDelivery  = 10 * time.Second
	staleLargeDelivery  = 2 * time.Minute
	staleContactUpdate  = 30 * time.Second
	maxStaleLargePerRun = 100
	abandonedUpload     = time.Hour
)

// StaleLarge is a large delivery whose workflow must be started again.
type StaleLarge struct {
	DeliveryID    int64
	IntegrationID string
	EventType     string
	MessageStub   string
	WorkflowID    string
}

// StaleContactUpdate is a platform edit whose workflow never started.
type StaleContactUpdate struct {
	UpdateID      int64
	IntegrationID string
	InviteeID     string
}

// StaleWork is what the sweep found.
type StaleWork struct {
	// Drain lists integrations with deliveries waiting and no live drainer.
	Drain          []string
	Large          []StaleLarge
	ContactUpdates []StaleContactUpdate
	// Participation lists integrations with check-ins due.
	Participation []string
	// PollSchedules counts the polling schedules checked.
	PollSchedules int
	// AbandonedUploads counts partly received bodies removed.
	AbandonedUploads int64
}

// StaleWorkInput overrides how old waiting work must be to count as
// abandoned; zero values take the defaults.
type StaleWorkInput struct {
	SmallDeliveryAge time.Duration
	LargeDeliveryAge time.Duration
}

// FindStaleWork lists the work the Maintenance workflow must (re)start.
func (m *Maintenance) FindStaleWork(ctx context.Context, in *StaleWorkInput) (*StaleWork, error) {
	now := time.Now()
	small, large := staleSmallDelivery, staleLargeDelivery
	if in != nil && in.SmallDeliveryAge > 0 {
		small = in.SmallDeliveryAge
	}
	if in != nil && in.LargeDeliveryAge > 0 {
		large = in.LargeDeliveryAge
	}
	w := &StaleWork{}
	var err error
	if w.Drain, err = m.Store.IntegrationsNeedingDrain(ctx, now.Add(-small)); err != nil {
		return nil, err
	}
	stale, err := m.Store.StaleLargeDeliveries(ctx, now.Add(-large), maxStaleLargePerRun)
	if err != nil {
		return nil, err
	}
	for _, d := range stale {
		w.Large = append(w.Large, StaleLarge{DeliveryID: d.ID, IntegrationID: d.IntegrationID, EventType: d.EventType,
			MessageStub: d.MessageStub.String, WorkflowID: d.WorkflowID})
	}
	// A body whose sender vanished mid-upload was never acknowledged: Cvent
	// sends it again, and the partial copy goes.
	if w.AbandonedUploads, err = m.Store.DeleteAbandonedUploads(ctx, now.Add(-abandonedUpload)); err != nil {
		return nil, err
	}
	updates, err := m.Store.PendingContactUpdates(ctx, now.Add(-staleContactUpdate), 100)
	if err != nil {
		return nil, err
	}
	for _, u := range updates {
		w.ContactUpdates = append(w.ContactUpdates, StaleContactUpdate{UpdateID: u.ID, IntegrationID: u.IntegrationID, InviteeID: u.InviteeID})
	}
	if w.Participation, err = m.Store.IntegrationsWithDueParticipation(ctx, now); err != nil {
		return nil, err
	}
	if m.Schedules != nil && m.EnsurePoll != nil {
		list, err := m.Store.ListIntegrations(ctx)
		if err != nil {
			return nil, err
		}
		for i := range list {
			if err := m.EnsurePoll(ctx, m.Schedules, m.TaskQueue, &list[i]); err != nil {
				return nil, err
			}
			w.PollSchedules++
		}
	}
	return w, nil
}
