package activities

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/store"
)

// DrainInput bounds one batch of an integration's small deliveries.
type DrainInput struct {
	IntegrationID string
	// MaxInvitees closes the batch once it has touched this many attendees,
	// so the workflow run can list them all in its search attribute.
	MaxInvitees int
	// MaxDeliveries closes the batch after this many deliveries.
	MaxDeliveries int
	// MaxBatchTime closes the batch this long after its first delivery.
	MaxBatchTime time.Duration
	// Linger closes the batch when nothing arrived for this long.
	Linger time.Duration
	// IdleTimeout ends the drain when nothing arrives for this long before a
	// first delivery: the lease is given up and the workflow may end.
	IdleTimeout time.Duration
}

// DrainResult is one batch: the deliveries it applied or failed, and whom
// they touched.
type DrainResult struct {
	DeliveryIDs []int64
	Failed      []store.FailedDelivery `json:",omitempty"`
	InviteeIDs  []string               `json:",omitempty"`
	EventTypes  []string               `json:",omitempty"`
	Written     int
	Stale       int
	// Idle: nothing arrived; the drainer gave up its lease.
	Idle bool
}

// leaseTTL is how long a drainer's lease lasts unless renewed; renewLease how
// often it is renewed. A drainer that died stops renewing and the gateway
// starts a new one within leaseTTL (Temporal retries the activity sooner,
// after its heartbeat timeout).
const (
	leaseTTL   = 15 * time.Second
	renewLease = 5 * time.Second
)

// DrainPollInterval is how often a drainer without a Notifier looks for work.
const DrainPollInterval = 250 * time.Millisecond

// claimSize bounds the deliveries one transaction claims and applies.
const claimSize = 200

// Drain applies an integration's small deliveries as they arrive. It holds
// the integration's lease, wakes on the notification each stored delivery
// sends, claims what waits (FOR UPDATE SKIP LOCKED) and applies it in one
// transaction per claim, a savepoint per delivery: a delivery the store or
// the rules cannot take fails alone, with its reason, and the rest of the
// batch is applied. It returns when the batch is full, old or quiet, so the
// workflow can record it; after IdleTimeout without work it gives the lease
// up, claims one last time, and reports Idle.
func (d *Directory) Drain(ctx context.Context, in *DrainInput) (*DrainResult, error) {
	info := activity.GetInfo(ctx)
	holder := fmt.Sprintf("%s/%d", info.WorkflowExecution.RunID, info.Attempt)
	var wake <-chan struct{}
	if d.Notifier != nil {
		ch, cancel := d.Notifier.Subscribe(in.IntegrationID)
		defer cancel()
		wake = ch
	}
	// Listen first, then take the lease, then claim: a delivery stored after
	// the gateway saw the lease live is either claimed now or heard of.
	if err := d.Store.AcquireLease(ctx, in.IntegrationID, holder, leaseTTL); err != nil {
		return nil, err
	}
	res := &DrainResult{}
	seen := map[string]bool{}
	var firstAt time.Time
	idleSince := time.Now()
	lastRenew := time.Now()
	for {
		n, err := d.drainOnce(ctx, in, res, seen, info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
		if err != nil {
			return nil, err
		}
		activity.RecordHeartbeat(ctx, len(res.DeliveryIDs))
		now := time.Now()
		if n > 0 {
			idleSince = now
			if firstAt.IsZero() {
				firstAt = now
			}
		}
		if len(res.DeliveryIDs) > 0 && (len(res.DeliveryIDs) >= in.MaxDeliveries || len(seen) >= in.MaxInvitees ||
			now.Sub(firstAt) >= in.MaxBatchTime || now.Sub(idleSince) >= in.Linger) {
			return res, nil
		}
		if n > 0 {
			continue // more may be waiting
		}
		if len(res.DeliveryIDs) == 0 && now.Sub(idleSince) >= in.IdleTimeout {
			return d.stopDraining(ctx, in, res, seen, holder)
		}
		if now.Sub(lastRenew) >= renewLease {
			if err := d.Store.AcquireLease(ctx, in.IntegrationID, holder, leaseTTL); err != nil {
				return nil, err
			}
			lastRenew = now
		}
		wait := time.Second
		if len(res.DeliveryIDs) > 0 {
			wait = in.Linger - now.Sub(idleSince)
		}
		if wake == nil {
			wait = min(wait, DrainPollInterval)
		}
		timer := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// stopDraining gives the lease up and then claims once more: a delivery
// stored while the gateway still saw the lease live is applied here, one
// stored after it makes the gateway start a new drainer.
func (d *Directory) stopDraining(ctx context.Context, in *DrainInput, res *DrainResult, seen map[string]bool, holder string) (*DrainResult, error) {
	if err := d.Store.ReleaseLease(ctx, in.IntegrationID, holder); err != nil {
		return nil, err
	}
	info := activity.GetInfo(ctx)
	n, err := d.drainOnce(ctx, in, res, seen, info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
	if err != nil {
		return nil, err
	}
	res.Idle = n == 0
	return res, nil
}

// drainOnce claims and applies what waits, up to claimSize deliveries, and
// adds it to res. It returns how many deliveries it settled.
func (d *Directory) drainOnce(ctx context.Context, in *DrainInput, res *DrainResult, seen map[string]bool, workflowID, runID string) (int, error) {
	ids, err := d.Store.PendingDeliveryIDs(ctx, in.IntegrationID, claimSize)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	integ, err := d.Store.GetIntegration(ctx, in.IntegrationID)
	if err != nil {
		return 0, fmt.Errorf("load integration: %w", err)
	}
	cfg, err := ingest.MappingConfig(integ.Settings)
	if err != nil {
		// The settings are broken, not the deliveries: they wait for a fix and a replay.
		if ferr := d.Store.MarkFailedMany(ctx, ids, "integration settings cannot be read: "+err.Error()); ferr != nil {
			return 0, ferr
		}
		return len(ids), nil
	}
	extras := map[int64]map[string]*mapping.Extra{}
	if cfg.NeedsREST() && d.Accounts != nil {
		bodies, err := d.Store.DeliveryBodies(ctx, ids)
		if err != nil {
			return 0, err
		}
		for id, body := range bodies {
			if extras[id], err = d.restExtras(ctx, integ, cfg, body); err != nil {
				return 0, err
			}
		}
	}
	apply := func(ctx context.Context, tx *store.Tx, del *store.Delivery) (result any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = &applyPanic{value: p, stack: string(debug.Stack())}
			}
		}()
		return ingest.Apply(ctx, tx, ingest.Delivery{ID: del.ID, IntegrationID: del.IntegrationID, Body: del.Body,
			ReceivedAt: del.ReceivedAt, Mapping: cfg, Extras: extras[del.ID]})
	}
	out, err := d.Store.ApplyBatch(ctx, ids, workflowID, runID, apply, permanentApplyError)
	if err != nil {
		return 0, fmt.Errorf("apply deliveries of %s: %w", in.IntegrationID, err)
	}
	types := map[string]bool{}
	for _, t := range res.EventTypes {
		types[t] = true
	}
	for i, del := range out.Applied {
		r := out.Results[i].(*ingest.Result)
		metrics.DeliveryApplied(del.ReceivedAt, false)
		activity.GetLogger(ctx).Info("delivery applied", "integrationId", in.IntegrationID, "deliveryId", del.ID,
			"eventType", del.EventType, "requestId", del.RequestID, "written", r.Written, "stale", r.Stale)
		res.DeliveryIDs = append(res.DeliveryIDs, del.ID)
		res.Written += r.Written
		res.Stale += r.Stale
		if !types[del.EventType] {
			types[del.EventType] = true
			res.EventTypes = append(res.EventTypes, del.EventType)
		}
		for _, id := range r.InviteeIDs {
			if !seen[id] {
				seen[id] = true
				res.InviteeIDs = append(res.InviteeIDs, id)
			}
		}
	}
	for _, f := range out.Failed {
		metrics.DeliveryFailed()
		res.DeliveryIDs = append(res.DeliveryIDs, f.ID)
		res.Failed = append(res.Failed, f)
		d.logger().Warn("delivery failed", "integrationId", in.IntegrationID, "deliveryId", f.ID, "reason", f.Reason)
	}
	return len(out.Applied) + len(out.Failed), nil
}

func (d *Directory) logger() interface{ Warn(string, ...any) } {
	if d.Logger != nil {
		return d.Logger
	}
	return noLogger{}
}

type noLogger struct{}

func (noLogger) Warn(string, ...any) {}

// applyPanic is a panic while applying one delivery: a bug met by that
// delivery's data, which must fail it alone rather than the whole batch.
type applyPanic struct {
	value any
	stack string
}

func (p *applyPanic) Error() string { return fmt.Sprintf("internal error while applying: %v", p.value) }
