package activities

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/store"
)

// DrainInput bounds one drain of an integration's small deliveries.
type DrainInput struct {
	IntegrationID string
	// Batch bounds: a batch is recorded as one IngestBatch workflow once it
	// has touched MaxInvitees attendees (so its search attribute lists them
	// all), holds MaxDeliveries deliveries, is MaxBatchTime old, or nothing
	// arrived for Linger.
	MaxInvitees   int
	MaxDeliveries int
	MaxBatchTime  time.Duration
	Linger        time.Duration
	// IdleTimeout ends the drain when nothing arrives for this long: the
	// lease is given up and the workflow may end.
	IdleTimeout time.Duration
	// MaxRunTime ends the drain after this long even if busy, so the
	// workflow continues as new with a short history.
	MaxRunTime time.Duration
}

// DrainResult is what one drain did.
type DrainResult struct {
	Deliveries int
	Failed     int
	Batches    int
	// Idle: nothing arrived for IdleTimeout; the drainer gave its lease up.
	Idle bool
}

// BatchRecord lists one batch of drained deliveries: the input (and result)
// of its IngestBatch workflow, so the Web UI finds the batch by integration,
// invitee and event type, and shows which deliveries it applied or failed.
type BatchRecord struct {
	WorkflowID    string
	IntegrationID string
	DeliveryIDs   []int64
	Failed        []store.FailedDelivery `json:",omitempty"`
	InviteeIDs    []string               `json:",omitempty"`
	EventTypes    []string               `json:",omitempty"`
	Written       int
	Stale         int
	FirstAt       time.Time
	LastAt        time.Time
}

// BatchRecorder starts the IngestBatch workflow that records a batch. It
// runs off the path of the deliveries: they are applied before it is called.
type BatchRecorder interface {
	RecordBatch(ctx context.Context, b *BatchRecord) error
}

// BatchWorkflowID names the record of the batch that opened with delivery first.
func BatchWorkflowID(integrationID string, first int64) string {
	return fmt.Sprintf("batch/%s/%d", integrationID, first)
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

// Drain applies an integration's small deliveries the moment they are
// stored. It holds the integration's lease, wakes on the notification each
// stored delivery sends, claims what waits (FOR UPDATE SKIP LOCKED) and
// applies it in one transaction per claim, a savepoint per delivery: a
// delivery the store or the rules cannot take fails alone, with its reason,
// and the rest is applied. No Temporal round trip lies between a stored
// delivery and its effect; batches are recorded as IngestBatch workflows on
// the side. After IdleTimeout without work it gives the lease up, claims one
// last time, and reports Idle.
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
	ctx, stop, detached := outlastTemporal(ctx, d.logger(), in.IntegrationID)
	defer stop(nil)
	res := &DrainResult{}
	var batch *BatchRecord
	closeBatch := func() {
		if batch == nil {
			return
		}
		res.Batches++
		d.record(ctx, batch)
		batch = nil
	}
	defer closeBatch()
	started := time.Now()
	lastWork, lastRenew := started, started
	for {
		n, err := d.drainOnce(ctx, in, &batch, info.WorkflowExecution.RunID)
		if err != nil {
			return nil, err
		}
		res.Deliveries += n
		if !detached() {
			activity.RecordHeartbeat(ctx, res.Deliveries)
		}
		now := time.Now()
		if n > 0 {
			lastWork = now
		}
		if batch != nil && (len(batch.DeliveryIDs) >= in.MaxDeliveries || len(batch.InviteeIDs) >= in.MaxInvitees ||
			now.Sub(batch.FirstAt) >= in.MaxBatchTime || now.Sub(lastWork) >= in.Linger) {
			closeBatch()
		}
		if n > 0 {
			continue // more may be waiting
		}
		// Detached, the drainer cannot continue as new: it goes on.
		if now.Sub(started) >= in.MaxRunTime && !detached() {
			return res, nil
		}
		if batch == nil && now.Sub(lastWork) >= in.IdleTimeout {
			return d.stopDraining(ctx, in, res, &batch, holder)
		}
		if now.Sub(lastRenew) >= renewLease {
			mine, err := d.Store.RenewLease(ctx, in.IntegrationID, holder, leaseTTL)
			if err != nil {
				return nil, err
			}
			if !mine {
				// A newer attempt took over (Temporal timed this one out).
				return res, nil
			}
			lastRenew = now
		}
		wait := time.Second
		if batch != nil {
			wait = in.Linger - now.Sub(lastWork)
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

// errWorkerStopping ends a drain whose worker is shutting down.
var errWorkerStopping = errors.New("the worker is stopping")

// outlastTemporal gives the drainer a context that Temporal's absence does
// not end. The SDK cancels an activity whose heartbeat cannot reach the
// server, but the drainer needs only PostgreSQL: while Temporal is down it
// goes on applying deliveries (detached), with its lease renewed, until a
// newer attempt takes the lease over once Temporal is back, it goes idle, or
// the worker stops. Any other cancellation (the workflow's, the worker's)
// ends it as before.
func outlastTemporal(ctx context.Context, log interface{ Warn(string, ...any) }, integrationID string) (
	work context.Context, stop context.CancelCauseFunc, detached func() bool) {
	work, stop = context.WithCancelCause(context.WithoutCancel(ctx))
	var away atomic.Bool
	stopping := activity.GetWorkerStopChannel(ctx)
	go func() {
		select {
		case <-work.Done():
			return
		case <-stopping:
			stop(errWorkerStopping)
			return
		case <-ctx.Done():
		}
		if cause := context.Cause(ctx); !temporalUnreachable(cause) {
			stop(cause)
			return
		}
		away.Store(true)
		log.Warn("Temporal unreachable: the drainer goes on applying deliveries without it", "integrationId", integrationID,
			"error", context.Cause(ctx))
		select {
		case <-work.Done():
		case <-stopping:
			stop(errWorkerStopping)
		}
	}()
	return work, stop, away.Load
}

// temporalUnreachable reports whether the SDK cancelled an activity because
// the server did not answer its heartbeat (rather than cancelling it).
func temporalUnreachable(err error) bool {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// stopDraining gives the lease up and then claims once more: a delivery
// stored while the gateway still saw the lease live is applied here, one
// stored after it makes the gateway start a new drainer.
func (d *Directory) stopDraining(ctx context.Context, in *DrainInput, res *DrainResult, batch **BatchRecord, holder string) (*DrainResult, error) {
	if err := d.Store.ReleaseLease(ctx, in.IntegrationID, holder); err != nil {
		return nil, err
	}
	n, err := d.drainOnce(ctx, in, batch, activity.GetInfo(ctx).WorkflowExecution.RunID)
	if err != nil {
		return nil, err
	}
	res.Deliveries += n
	res.Idle = n == 0
	return res, nil
}

// drainOnce claims and applies what waits, within the open batch's bounds,
// and adds it to the batch (opening one if needed). It returns how many
// deliveries it settled.
func (d *Directory) drainOnce(ctx context.Context, in *DrainInput, batch **BatchRecord, runID string) (int, error) {
	limit := claimSize
	if b := *batch; b != nil {
		limit = min(limit, in.MaxDeliveries-len(b.DeliveryIDs), in.MaxInvitees-len(b.InviteeIDs))
	} else {
		limit = min(limit, in.MaxDeliveries, in.MaxInvitees)
	}
	ids, err := d.Store.PendingDeliveryIDs(ctx, in.IntegrationID, max(limit, 1))
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	b := *batch
	if b == nil {
		b = &BatchRecord{WorkflowID: BatchWorkflowID(in.IntegrationID, ids[0]), IntegrationID: in.IntegrationID, FirstAt: time.Now()}
		*batch = b
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
	apply := func(ctx context.Context, tx *store.Tx, dels []*store.Delivery) (results []any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = &applyPanic{value: p, stack: string(debug.Stack())}
			}
		}()
		ds := make([]ingest.Delivery, len(dels))
		for i, del := range dels {
			ds[i] = ingest.Delivery{ID: del.ID, IntegrationID: del.IntegrationID, Body: del.Body,
				ReceivedAt: del.ReceivedAt, Mapping: cfg, Extras: extras[del.ID]}
		}
		rs, err := ingest.ApplyMany(ctx, tx, ds)
		if err != nil {
			return nil, err
		}
		results = make([]any, len(rs))
		for i, r := range rs {
			results[i] = r
		}
		return results, nil
	}
	out, err := d.Store.ApplyBatch(ctx, ids, b.WorkflowID, runID, apply, permanentApplyError)
	if err != nil {
		return 0, fmt.Errorf("apply deliveries of %s: %w", in.IntegrationID, err)
	}
	b.add(out)
	for _, del := range out.Applied {
		metrics.DeliveryApplied(del.ReceivedAt, false)
		activity.GetLogger(ctx).Info("delivery applied", "integrationId", in.IntegrationID, "deliveryId", del.ID,
			"eventType", del.EventType, "requestId", del.RequestID, "batch", b.WorkflowID)
	}
	for _, f := range out.Failed {
		metrics.DeliveryFailed()
		d.logger().Warn("delivery failed", "integrationId", in.IntegrationID, "deliveryId", f.ID, "reason", f.Reason)
	}
	return len(out.Applied) + len(out.Failed), nil
}

// add records what one claim applied and failed.
func (b *BatchRecord) add(out *store.BatchOutcome) {
	seen := make(map[string]bool, len(b.InviteeIDs))
	for _, id := range b.InviteeIDs {
		seen[id] = true
	}
	types := make(map[string]bool, len(b.EventTypes))
	for _, t := range b.EventTypes {
		types[t] = true
	}
	note := func(del *store.Delivery, invitees []string) {
		b.DeliveryIDs = append(b.DeliveryIDs, del.ID)
		if !types[del.EventType] {
			types[del.EventType] = true
			b.EventTypes = append(b.EventTypes, del.EventType)
		}
		for _, id := range invitees {
			if !seen[id] {
				seen[id] = true
				b.InviteeIDs = append(b.InviteeIDs, id)
			}
		}
	}
	for i, del := range out.Applied {
		r := out.Results[i].(*ingest.Result)
		b.Written += r.Written
		b.Stale += r.Stale
		note(del, r.InviteeIDs)
	}
	for _, f := range out.Failed {
		note(f.Delivery, f.Delivery.InviteeIDs) // a failed registration is found by its person too
		b.Failed = append(b.Failed, store.FailedDelivery{ID: f.ID, Reason: f.Reason})
	}
	b.LastAt = time.Now()
}

// record starts the batch's IngestBatch workflow. The deliveries are applied
// already; a record that cannot be started (Temporal down) is logged and
// the deliveries keep their batch id in PostgreSQL.
func (d *Directory) record(ctx context.Context, b *BatchRecord) {
	if d.Batches == nil {
		return
	}
	if err := d.Batches.RecordBatch(context.WithoutCancel(ctx), b); err != nil {
		d.logger().Warn("could not record a batch in Temporal; its deliveries are applied", "batch", b.WorkflowID, "error", err)
	}
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
