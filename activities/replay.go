package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/cventsync/cventsync/internal/store"
)

// Replay puts stored deliveries back in the queue for an operator's bulk
// replay (workflows.BulkReplay), a page at a time.
type Replay struct {
	Store *store.Store
}

// ReplayFilter selects the deliveries of a bulk replay.
type ReplayFilter struct {
	IntegrationID string
	Status        string
	Since         time.Time
	EventType     string
	InviteeID     string
	// InviteeIDs are those of an e-mail address, resolved when the replay
	// was asked for.
	InviteeIDs []string
}

// ReplayPageInput is one page: the filter, below BeforeID (0: newest), at
// most Max deliveries.
type ReplayPageInput struct {
	Filter   ReplayFilter
	BeforeID int64
	Max      int
}

// ReplayedDelivery is a delivery put back in the queue.
type ReplayedDelivery struct {
	ID         int64
	Large      bool
	WorkflowID string `json:",omitempty"` // a large one's workflow, to start again
	EventType  string `json:",omitempty"`
	Stub       string `json:",omitempty"`
}

// ReplayPageResult is what one page replayed.
type ReplayPageResult struct {
	Replayed []ReplayedDelivery
	// Skipped were no longer replayable when their turn came.
	Skipped int
	// NextBeforeID continues below the page; Done: nothing more matches.
	NextBeforeID int64
	Done         bool
}

// ReplayPage lists a page of matching deliveries, newest first, and puts
// each back in the queue (small ones wake their integration's drainer).
// Marking twice is harmless: a retried page replays its deliveries again,
// and replays are idempotent.
func (r *Replay) ReplayPage(ctx context.Context, in *ReplayPageInput) (*ReplayPageResult, error) {
	f := in.Filter
	size := min(max(in.Max, 1), 500)
	page, err := r.Store.ListDeliveries(ctx, f.IntegrationID, store.DeliveryFilter{Status: f.Status, InviteeID: f.InviteeID,
		InviteeIDs: f.InviteeIDs, EventType: f.EventType, Since: f.Since, BeforeID: in.BeforeID, Limit: size})
	if err != nil {
		return nil, err
	}
	out := &ReplayPageResult{Done: len(page) < size}
	for i := range page {
		d, err := r.Store.MarkForReplay(ctx, page[i].ID)
		if errors.Is(err, store.ErrNotFound) {
			out.Skipped++
			continue
		}
		if err != nil {
			return nil, err
		}
		rd := ReplayedDelivery{ID: d.ID, Large: d.Large}
		if d.Large {
			rd.WorkflowID, rd.EventType, rd.Stub = d.WorkflowID, d.EventType, d.MessageStub.String
		}
		out.Replayed = append(out.Replayed, rd)
		activity.RecordHeartbeat(ctx, i)
	}
	if len(page) > 0 {
		out.NextBeforeID = page[len(page)-1].ID
	}
	activity.GetLogger(ctx).Info("replayed a page of deliveries", "integrationId", f.IntegrationID,
		"replayed", len(out.Replayed), "skipped", out.Skipped)
	return out, nil
}
