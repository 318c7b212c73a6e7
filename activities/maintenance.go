package activities

import (
	"context"
	"slices"
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
	// The gateway hands a PNS notification on as soon as it is stored (its
	// signal gives up after 15 s); one still not handed after this will
	// not be.
	stalePNSNotification = 30 * time.Second
	maxStalePNSPerRun    = 500
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

// StaleRFP is an RFP whose stored notifications never reached its
// workflow: the sweep signals it, or starts it when it is not running.
type StaleRFP struct {
	IntegrationID string
	RFPID         string
	// NotificationIDs are all of them, marked handed once the workflow has them.
	NotificationIDs []int64
	// Notices are what the workflow is told: the newest notification of
	// each supplier named (the legacy API is asked per supplier).
	Notices []StalePNSNotice
}

// StalePNSNotice is one notice the sweep sends an RFP's workflow.
type StalePNSNotice struct {
	NotificationID int64
	Type           string
	SupplierID     string
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
	// RFPs lists RFPs with PNS notifications stored but never handed on.
	RFPs []StaleRFP
}

// StaleWorkInput overrides how old waiting work must be to count as
// abandoned; zero values take the defaults.
type StaleWorkInput struct {
	SmallDeliveryAge time.Duration
	LargeDeliveryAge time.Duration
	// PNSNotificationAge is how old a PNS notification not handed to its
	// RFP's workflow must be (default 30 s).
	PNSNotificationAge time.Duration
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
	// A large delivery whose workflow the gateway could not start waits no
	// longer than a small one.
	stale, err := m.Store.StaleLargeDeliveries(ctx, now.Add(-large), now.Add(-min(small, large)), maxStaleLargePerRun)
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
	pnsAge := stalePNSNotification
	if in != nil && in.PNSNotificationAge > 0 {
		pnsAge = in.PNSNotificationAge
	}
	notHanded, err := m.Store.PNSNotHanded(ctx, now.Add(-pnsAge), maxStalePNSPerRun)
	if err != nil {
		return nil, err
	}
	w.RFPs = staleRFPs(notHanded)
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

// staleRFPs groups notifications not handed on by RFP, in the order the
// RFPs were first notified, each with the newest notification per supplier.
func staleRFPs(rows []store.UnhandedPNS) []StaleRFP {
	var out []StaleRFP
	at := map[[2]string]int{}
	for _, n := range rows {
		key := [2]string{n.IntegrationID, n.RFPID}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, StaleRFP{IntegrationID: n.IntegrationID, RFPID: n.RFPID})
		}
		r := &out[i]
		r.NotificationIDs = append(r.NotificationIDs, n.ID)
		notice := StalePNSNotice{NotificationID: n.ID, Type: n.EventType, SupplierID: n.SupplierID}
		j := slices.IndexFunc(r.Notices, func(x StalePNSNotice) bool { return x.SupplierID == n.SupplierID })
		switch {
		case j < 0:
			r.Notices = append(r.Notices, notice)
		case r.Notices[j].NotificationID < n.ID:
			r.Notices[j] = notice
		}
	}
	return out
}

// MarkPNSHandedInput lists notifications their RFP's workflow now has.
type MarkPNSHandedInput struct {
	NotificationIDs []int64
}

// MarkPNSHanded records that the sweep handed the notifications on.
func (m *Maintenance) MarkPNSHanded(ctx context.Context, in *MarkPNSHandedInput) error {
	return m.Store.MarkPNSHanded(ctx, in.NotificationIDs...)
}
