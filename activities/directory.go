// Package activities holds cventsync's Temporal activities: the I/O steps
// workflows orchestrate. Activities are methods on structs that hold their
// dependencies, so workflows refer to them without string names.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/store"
)

// Directory applies Cvent data to the attendee directory in PostgreSQL.
type Directory struct {
	Store *store.Store
	// Accounts, when set, fetches REST records for mappings that need them
	// (registration question answers, REST-only fields).
	Accounts RESTAccounts
	// Notifier wakes a drainer as soon as a delivery of its integration is
	// stored; without it the drainer looks every DrainPollInterval.
	Notifier *store.Notifier
	// Batches records each drained batch as a workflow, for the Web UI.
	Batches BatchRecorder
	Logger  *slog.Logger
}

// ApplyDeliveryInput names the stored delivery to apply.
type ApplyDeliveryInput struct {
	DeliveryID int64
}

// ApplyDeliveryResult is what applying did.
type ApplyDeliveryResult = ingest.Result

// ErrTypeMalformed is the application error type for a delivery whose body
// cannot be applied; retrying cannot help.
const ErrTypeMalformed = "MalformedDelivery"

// ChunkItems is how many items of a large delivery one transaction applies.
const ChunkItems = 1000

// FirstChunkItems is the size of an attempt's first chunk: small, so that
// writing begins as soon as a few items are decoded, and the next chunk
// decodes while it is written.
const FirstChunkItems = 100

// ApplyDelivery applies a stored delivery in chunks of ChunkItems, each in
// its own transaction together with the progress it makes, heartbeating
// after each. A retried attempt (another worker, after this one died)
// resumes after the last committed chunk, so no item is applied twice and a
// dead worker costs one heartbeat timeout, not the whole sync.
func (d *Directory) ApplyDelivery(ctx context.Context, in *ApplyDeliveryInput) (*ApplyDeliveryResult, error) {
	del, err := d.Store.GetDelivery(ctx, in.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("delivery %d does not exist", in.DeliveryID), "NotFound", err)
	}
	if err != nil {
		return nil, err
	}
	if del.Status != store.DeliveryReceived {
		var done ingest.Result
		_ = json.Unmarshal(del.Result, &done)
		return &done, nil // applied (or given up) by an earlier attempt or run
	}
	integ, err := d.Store.GetIntegration(ctx, del.IntegrationID)
	if err != nil {
		return nil, fmt.Errorf("load integration: %w", err)
	}
	cfg, err := ingest.MappingConfig(integ.Settings)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadSettings", err)
	}
	// REST look-ups happen before any transaction: no Cvent call holds row locks.
	var extras map[string]*mapping.Extra
	if cfg.NeedsREST() && d.Accounts != nil {
		_, ids, err := cventpush.ScanEnvelope(d.Store.OpenBody(ctx, del), math.MaxInt)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeMalformed, err)
		}
		if extras, err = d.restExtrasFor(ctx, integ, del.EventType, ids.InviteeIDs); err != nil {
			return nil, err
		}
	}
	progress, err := d.Store.LargeDeliveryProgress(ctx, del.ID)
	if err != nil {
		return nil, err
	}
	// The envelope as received: a clamped messageTime stays clamped.
	env := &cventpush.Envelope{EventType: cventpush.String(del.EventType), MessageTime: cventpush.Time{Time: del.MessageTime.Time}}
	delivery := ingest.Delivery{ID: del.ID, IntegrationID: del.IntegrationID, ReceivedAt: del.ReceivedAt, Mapping: cfg, Extras: extras}
	// The items stream out of PostgreSQL one at a time: those applied by an
	// earlier attempt are skipped, the rest decoded ChunkItems at a time
	// while the chunks before are written.
	chunks := make(chan decodedChunk, 1)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	streamErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		streamErr <- decodeChunks(sctx, d.Store.OpenBody(sctx, del), env, progress.AppliedItems, chunks)
	}()
	total, done, err := d.applyChunks(ctx, del, delivery, env, chunks)
	stop()
	for range chunks { // let the decoder stop
	}
	if serr := <-streamErr; err == nil && !done {
		err = serr
		if err == nil || errors.Is(err, context.Canceled) {
			err = fmt.Errorf("apply delivery %d: the items stopped before the end (%v)", del.ID, ctx.Err())
		}
	}
	if err != nil {
		if permanentApplyError(err) {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeMalformed, err)
		}
		return nil, err
	}
	if total == nil { // the last chunk was applied by another attempt
		now, err := d.Store.LargeDeliveryProgress(ctx, del.ID)
		if err != nil {
			return nil, err
		}
		total = &ingest.Result{}
		_ = json.Unmarshal(now.Result, total)
	}
	metrics.DeliveryApplied(del.ReceivedAt, true)
	activity.GetLogger(ctx).Info("delivery applied", "deliveryId", del.ID, "eventType", del.EventType,
		"items", total.Items, "written", total.Written, "stale", total.Stale, "resumedAt", progress.AppliedItems,
		"requestId", del.RequestID)
	return total, nil
}

// chunksInFlight is how many chunk transactions of one delivery run side
// by side: while one commits (or waits for the one before), the next works.
const chunksInFlight = 2

// decodedChunk is a run of a large delivery's items, decoded.
type decodedChunk struct {
	from, n int
	items   *ingest.Decoded
	err     error // the chunk's items could not be decoded
	last    bool
}

// decodeChunks reads a large delivery's items from body, skips the first
// skip, and sends the rest FirstChunkItems and then ChunkItems at a time,
// decoded, the last one marked (possibly empty).
func decodeChunks(ctx context.Context, body io.Reader, env *cventpush.Envelope, skip int, out chan<- decodedChunk) error {
	send := func(from int, raw []json.RawMessage, last bool) error {
		c := decodedChunk{from: from, n: len(raw), last: last}
		c.items, c.err = ingest.Decode(env, raw)
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// A full chunk waits for the next item: without one, it is the last.
	var raw, full []json.RawMessage
	index, from := 0, skip
	err := cventpush.StreamItems(body, func(item json.RawMessage) error {
		if index++; index <= skip {
			return nil
		}
		if full != nil {
			if err := send(from, full, false); err != nil {
				return err
			}
			from, full = from+len(full), nil
		}
		size := ChunkItems
		if from == skip {
			size = FirstChunkItems
		}
		if raw = append(raw, item); len(raw) == size {
			full, raw = raw, nil
		}
		return nil
	})
	if err != nil {
		return err
	}
	if full != nil { // then no item came after it
		return send(from, full, true)
	}
	return send(from, raw, true)
}

// applyChunks applies the chunks as they come, chunksInFlight transactions
// at a time, committing in order (store.BeginChunk), and heartbeats the
// progress after each commit. It answers the delivery's result after the
// last chunk landed (nil when another attempt applied that one) and
// whether it got to the last chunk.
func (d *Directory) applyChunks(ctx context.Context, del *store.Delivery, delivery ingest.Delivery, env *cventpush.Envelope,
	chunks <-chan decodedChunk) (*ingest.Result, bool, error) {
	info := activity.GetInfo(ctx)
	type flight struct {
		chunk  decodedChunk
		done   chan error
		result *ingest.Result // the running result after it, once done; nil when skipped
	}
	var (
		inFlight []*flight
		total    *ingest.Result
		done     bool
		err      error
	)
	land := func() error {
		f := inFlight[0]
		inFlight = inFlight[1:]
		if err := <-f.done; err != nil {
			return err
		}
		activity.RecordHeartbeat(ctx, f.chunk.from+f.chunk.n)
		total, done = f.result, f.chunk.last // nil when another attempt applied it
		return nil
	}
	after := -1
	for c := range chunks {
		if c.err != nil {
			err = fmt.Errorf("apply delivery %d, items %d to %d: %w", del.ID, c.from, c.from+c.n, c.err)
			break
		}
		var chunk *store.Chunk
		if chunk, err = d.Store.BeginChunk(ctx, del.ID, del.IntegrationID, c.from, c.from+c.n, after); err != nil {
			break
		}
		after = c.from
		f := &flight{chunk: c, done: make(chan error, 1)}
		inFlight = append(inFlight, f)
		go func() {
			f.done <- d.writeChunk(ctx, chunk, del, delivery, env, c, &f.result, info.WorkflowExecution.ID, info.WorkflowExecution.RunID)
		}()
		if len(inFlight) == chunksInFlight {
			if err = land(); err != nil {
				break
			}
		}
	}
	for len(inFlight) > 0 { // after a failed chunk, the next fails too: out of turn
		if lerr := land(); err == nil {
			err = lerr
		}
	}
	return total, done, err
}

// writeChunk writes one chunk's items in its transaction and commits it,
// setting *result to the delivery's running result after it.
func (d *Directory) writeChunk(ctx context.Context, chunk *store.Chunk, del *store.Delivery, delivery ingest.Delivery,
	env *cventpush.Envelope, c decodedChunk, result **ingest.Result, workflowID, runID string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			chunk.Rollback()
			err = &applyPanic{value: p, stack: string(debug.Stack())}
		}
		if err != nil {
			err = fmt.Errorf("apply delivery %d, items %d to %d: %w", del.ID, chunk.From, chunk.To, err)
		}
	}()
	r, err := ingest.ApplyDecoded(ctx, chunk.Tx(), delivery, env, c.items)
	if err != nil {
		chunk.Rollback()
		return err
	}
	_, err = chunk.Commit(ctx, c.last, func(running json.RawMessage) (any, error) {
		total := &ingest.Result{EventType: del.EventType, Items: del.ItemCount}
		if len(running) > 0 {
			_ = json.Unmarshal(running, total)
		}
		total.Add(r)
		*result = total
		return total, nil
	}, workflowID, runID)
	return err
}

// permanentApplyError reports whether applying failed because of the
// delivery itself (a body that is not a Cvent envelope, a value PostgreSQL
// refuses) rather than the database being unreachable: retrying cannot help.
func permanentApplyError(err error) bool {
	var panicked *applyPanic
	return errors.Is(err, cventpush.ErrMalformed) || store.IsDataError(err) || errors.As(err, &panicked)
}

// MarkDeliveryFailedInput says which delivery failed and why.
type MarkDeliveryFailedInput struct {
	DeliveryID int64
	Reason     string
}

// MarkDeliveryFailed records a delivery that could not be applied, so
// operators see it in the delivery log and can replay it.
func (d *Directory) MarkDeliveryFailed(ctx context.Context, in *MarkDeliveryFailedInput) error {
	if err := d.Store.MarkFailed(ctx, in.DeliveryID, in.Reason); err != nil {
		return err
	}
	metrics.DeliveryFailed()
	activity.GetLogger(ctx).Warn("delivery failed", "deliveryId", in.DeliveryID, "reason", in.Reason)
	return nil
}

// ApplyDeliveriesInput names stored deliveries to apply in order.
type ApplyDeliveriesInput struct {
	DeliveryIDs []int64
}

// ApplyDeliveriesResult is what applying a batch did.
type ApplyDeliveriesResult struct {
	Applied    int
	Failed     int
	Written    int
	Stale      int
	InviteeIDs []string
}

// ApplyDeliveries applies a batch of deliveries, each in its own
// transaction, so one malformed delivery does not hold back the others. A
// burst of webhooks becomes a few of these instead of one workflow each.
func (d *Directory) ApplyDeliveries(ctx context.Context, in *ApplyDeliveriesInput) (*ApplyDeliveriesResult, error) {
	out := &ApplyDeliveriesResult{}
	for i, id := range in.DeliveryIDs {
		r, err := d.ApplyDelivery(ctx, &ApplyDeliveryInput{DeliveryID: id})
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.NonRetryable() {
			if ferr := d.Store.MarkFailed(ctx, id, err.Error()); ferr != nil {
				return nil, ferr
			}
			out.Failed++
			continue
		}
		if err != nil {
			return nil, err // transient: the whole batch is retried; applying is idempotent
		}
		out.Applied++
		out.Written += r.Written
		out.Stale += r.Stale
		if len(out.InviteeIDs)+len(r.InviteeIDs) <= ingest.MaxListedInvitees {
			out.InviteeIDs = append(out.InviteeIDs, r.InviteeIDs...)
		}
		activity.RecordHeartbeat(ctx, i)
	}
	return out, nil
}

// restLookupsOneByOne is how many attendees are fetched one by one; above
// it, one paged listing of the event is cheaper in Cvent calls.
const restLookupsOneByOne = 20

// restExtras fetches the REST records (with question answers) of a
// delivery's attendees when the mapping needs fields webhooks do not carry.
func (d *Directory) restExtras(ctx context.Context, integ *store.Integration, cfg *mapping.Config, body []byte) (map[string]*mapping.Extra, error) {
	if !cfg.NeedsREST() || d.Accounts == nil {
		return nil, nil
	}
	ids, err := ingest.InviteeIDs(body)
	if err != nil || len(ids) == 0 {
		return nil, nil // not an attendee delivery, or the apply step reports the problem
	}
	return d.restExtrasFor(ctx, integ, "", ids)
}

// restExtrasFor fetches the REST records of the given attendees; eventType,
// when known, skips deliveries that carry no attendees.
func (d *Directory) restExtrasFor(ctx context.Context, integ *store.Integration, eventType string, ids []string) (map[string]*mapping.Extra, error) {
	if len(ids) == 0 || (eventType != "" && cventpush.KindOf(eventType) != cventpush.KindAttendee) {
		return nil, nil
	}
	client, err := d.Accounts.For(integ)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("the mapping needs Cvent's REST API: "+err.Error(), ErrTypeNotConfigured, err)
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	const expand = "answers.question"
	out := make(map[string]*mapping.Extra, len(ids))
	if len(ids) <= restLookupsOneByOne {
		for _, id := range ids {
			a, err := client.GetAttendee(ctx, id, expand)
			if kind, _ := cvent.Classify(err); err != nil && kind == cvent.Permanent {
				continue // e.g. not visible to this application: map without it
			}
			if err != nil {
				return nil, cvent.ToTemporal(err, attempt)
			}
			out[id] = mapping.ExtraFromREST(a)
			activity.RecordHeartbeat(ctx, "rest look-ups")
		}
		return out, nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for a, err := range client.Attendees(cvent.ListOptions{Filter: cvent.EventFilter(integ.CventEventID), Expand: expand, Limit: 200}).All(ctx) {
		if err != nil {
			return nil, cvent.ToTemporal(err, attempt)
		}
		if id := strings.ToLower(a.ID); want[id] {
			out[id] = mapping.ExtraFromREST(&a)
		}
		activity.RecordHeartbeat(ctx, "rest look-ups")
	}
	return out, nil
}
