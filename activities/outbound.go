package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/whsign"
)

// Outbound pushes the change log to the platform's destinations as Standard
// Webhooks, and prunes the log.
type Outbound struct {
	Store *store.Store
	// Notifier wakes a caught-up deliverer as soon as changes are logged;
	// without it the deliverer looks every IdlePoll.
	Notifier *store.Notifier
	// Client makes the POSTs: an SSRF-safe client (internal/safehttp) under
	// the configured outbound policy, with a per-request timeout.
	Client *http.Client
	// Box opens sealed signing secrets; nil when none are sealed.
	Box *secret.Box
	// Retention is how long change log entries are kept (PruneChanges).
	Retention time.Duration
	Logger    *slog.Logger

	// Tunables; zero means the default.
	FailFor  time.Duration // a destination failing this long is disabled (3 days)
	RunFor   time.Duration // one DeliverChanges returns after this, for continue-as-new (5 minutes)
	IdlePoll time.Duration // a caught-up deliverer looks again after this without a notification (5 s)
}

// Application error types that end a destination's delivery: the workflow
// disables the destination with the error's message as the reason.
const (
	ErrTypeDestinationGone           = "DestinationGone"
	ErrTypeDestinationFailingTooLong = "DestinationFailingTooLong"
	ErrTypeDestinationCursorExpired  = "DestinationCursorExpired"
)

// DisablingErrorTypes lists the error types above, for the retry policy.
var DisablingErrorTypes = []string{ErrTypeDestinationGone, ErrTypeDestinationFailingTooLong, ErrTypeDestinationCursorExpired}

// DeliverInput names the destination to deliver to.
type DeliverInput struct {
	DestinationID string
}

// DeliverResult is what one DeliverChanges run did.
type DeliverResult struct {
	Delivered int // changes acknowledged with a 2xx
	// Stopped: the destination was deleted or disabled; the workflow ends.
	Stopped bool
	Reason  string
}

// DisableInput disables a destination, saying why.
type DisableInput struct {
	DestinationID string
	Reason        string
}

// maxAnswerBytes is how much of a destination's answer an attempt keeps.
const maxAnswerBytes = 1024

func (o *Outbound) failFor() time.Duration  { return orDefault(o.FailFor, 72*time.Hour) }
func (o *Outbound) runFor() time.Duration   { return orDefault(o.RunFor, 5*time.Minute) }
func (o *Outbound) idlePoll() time.Duration { return orDefault(o.IdlePoll, 5*time.Second) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// DeliverChanges follows the change log from the destination's cursor, in
// seq order, posting signed messages; the cursor moves only after a 2xx.
// When caught up it waits for the next change, heartbeating, and returns
// after RunFor so the workflow can continue as new. A failed POST fails the
// activity (Temporal retries it with growing intervals) unless the
// destination is gone (410), has failed for FailFor, or its cursor expired:
// those fail it for good, with a disabling error type.
func (o *Outbound) DeliverChanges(ctx context.Context, in *DeliverInput) (*DeliverResult, error) {
	res := &DeliverResult{}
	d, err := o.Store.GetDestination(ctx, in.DestinationID)
	if errors.Is(err, store.ErrNotFound) {
		return &DeliverResult{Stopped: true, Reason: "destination deleted"}, nil
	}
	if err != nil {
		return nil, err
	}
	var wake <-chan struct{}
	if o.Notifier != nil {
		ch, cancel := o.Notifier.SubscribeChanges(d.IntegrationID)
		defer cancel()
		wake = ch
	}
	stopAt := time.Now().Add(o.runFor())
	for {
		activity.RecordHeartbeat(ctx, res.Delivered)
		d, err := o.Store.GetDestination(ctx, in.DestinationID)
		if errors.Is(err, store.ErrNotFound) {
			res.Stopped, res.Reason = true, "destination deleted"
			return res, nil
		}
		if err != nil {
			return nil, err
		}
		if !d.Enabled {
			res.Stopped, res.Reason = true, "destination disabled: "+d.StatusReason
			return res, nil
		}
		n, err := o.deliverWindow(ctx, d, func(n int) { activity.RecordHeartbeat(ctx, res.Delivered+n) })
		if err != nil {
			return nil, err
		}
		res.Delivered += n
		if time.Now().After(stopAt) {
			return res, nil
		}
		if n > 0 {
			continue
		}
		select {
		case <-wake:
		case <-time.After(o.idlePoll()):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// windowChanges is how many changes one read of the log takes for a
// destination (at least its BatchSize). Their messages then go out one
// after another, each after the one before was acknowledged, without
// reading the log or the destination in between: a burst of single changes
// costs one write per message, not a read of the destination, the head and
// the log, an in-flight mark, an attempt and a cursor move each. A disable,
// a delete or a new URL takes effect at the next read, a window (or
// windowTime and a message) later at most; a replay at once (the cursor
// moves by compare-and-set).
const (
	windowChanges = 100
	windowTime    = time.Second
)

// maxBatch is the largest batchSize a destination may have.
const maxBatch = 500

// deliverWindow sends the changes after the destination's cursor, a window
// of them, as messages of BatchSize changes in seq order, and returns how
// many changes were acknowledged. A message whose send failed is sent again
// exactly (same changes, same webhook-id), signed afresh: the first message
// of the next window after a failure. beat is called before each message
// with the changes delivered so far.
func (o *Outbound) deliverWindow(ctx context.Context, d *store.Destination, beat func(delivered int)) (int, error) {
	limit, upTo := max(d.BatchSize, windowChanges), int64(0)
	if d.InflightLast > d.Cursor {
		limit, upTo = maxBatch, d.InflightLast
	}
	head, changes, err := o.Store.ReadChangesAndHead(ctx, d.IntegrationID, d.Cursor, limit, d.Types)
	if errors.Is(err, store.ErrCursorExpired) {
		return 0, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"cursor %d expired: changes after it were pruned (retention); replay from a newer cursor after reading the attendee list",
			d.Cursor), ErrTypeDestinationCursorExpired, err)
	}
	if err != nil {
		return 0, err
	}
	if upTo > 0 {
		for len(changes) > 0 && changes[len(changes)-1].Seq > upTo {
			changes = changes[:len(changes)-1]
		}
	}
	if len(changes) == 0 {
		// Nothing wanted up to the head (read before the changes, so every
		// entry up to it was visible): skip the cursor past the unwanted ones.
		if upTo == 0 && head.LastSeq > d.Cursor {
			_, err := o.Store.AdvanceDestination(ctx, d.ID, d.Cursor, head.LastSeq, false)
			return 0, err
		}
		return 0, nil
	}
	secrets, err := o.secrets(d)
	if err != nil {
		return 0, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDestinationFailingTooLong, err)
	}
	msgs := [][]store.Change{changes} // the message in flight, as it was
	if upTo == 0 {
		msgs = messages(changes, d.BatchSize)
	}
	delivered, cursor := 0, d.Cursor
	until := time.Now().Add(windowTime)
	for _, msg := range msgs {
		if delivered > 0 && time.Now().After(until) {
			break // a slow destination: look at it again before going on
		}
		beat(delivered)
		ok, err := o.send(ctx, d, secrets, cursor, msg, upTo > 0)
		if err != nil || !ok {
			return delivered, err // !ok: replayed meanwhile; look again
		}
		delivered += len(msg)
		cursor = msg[len(msg)-1].Seq
	}
	return delivered, nil
}

// messages splits changes, in seq order, into messages of up to batchSize
// changes, in order.
func messages(changes []store.Change, batchSize int) [][]store.Change {
	batchSize = max(batchSize, 1)
	out := make([][]store.Change, 0, (len(changes)+batchSize-1)/batchSize)
	for len(changes) > 0 {
		n := min(batchSize, len(changes))
		out = append(out, changes[:n])
		changes = changes[n:]
	}
	return out
}

// send posts one message of changes after cursor from and, on a 2xx,
// records the attempt and moves the cursor past it in one write. False when
// the cursor moved meanwhile (a replay). Before a message of a batching
// destination goes out, its last seq is marked in flight, so a retry sends
// the same changes even if more arrived; a single change is the same
// message whatever arrives, so it is marked only when its send fails (in
// case the batch size changes before the retry). resend: the mark is there.
func (o *Outbound) send(ctx context.Context, d *store.Destination, secrets []string, from int64, changes []store.Change, resend bool) (bool, error) {
	last := changes[len(changes)-1].Seq
	marked := resend
	if !marked && d.BatchSize > 1 {
		ok, err := o.Store.SetDestinationInflight(ctx, d.ID, from, last)
		if err != nil || !ok {
			return false, err
		}
		marked = true
	}
	msgID, body, err := message(d.ID, changes)
	if err != nil {
		return false, err
	}
	ans, attempt, err := o.post(ctx, d, secrets, msgID, body, changes)
	if err == nil && ans.status >= 200 && ans.status <= 299 {
		metrics.OutboundAttempt("delivered", time.Duration(attempt.LatencyMS)*time.Millisecond)
		return o.Store.RecordDelivery(context.WithoutCancel(ctx), attempt, from, last)
	}
	if !marked && ctx.Err() == nil {
		if _, merr := o.Store.SetDestinationInflight(context.WithoutCancel(ctx), d.ID, from, last); merr != nil && o.Logger != nil {
			o.Logger.Warn("mark destination message in flight", "destination", d.ID, "error", merr)
		}
	}
	if err != nil {
		return false, err
	}
	o.record(ctx, attempt)
	return false, o.failed(ctx, d, ans.status, ans.body, ans.retryAfter)
}

// message builds the webhook-id and body of changes: one change as its own
// message, several as a batch. Both depend only on the changes, so a
// redelivery carries the same id and body.
func message(destinationID string, changes []store.Change) (string, []byte, error) {
	first, last := changes[0], changes[len(changes)-1]
	var env any
	id := fmt.Sprintf("%s_%d", destinationID, first.Seq)
	if len(changes) == 1 {
		env = map[string]any{"type": first.Type, "timestamp": first.At.UTC(), "data": first}
	} else {
		id = fmt.Sprintf("%s_%d-%d", destinationID, first.Seq, last.Seq)
		env = map[string]any{"type": "batch", "timestamp": last.At.UTC(), "data": map[string]any{"changes": changes}}
	}
	body, err := json.Marshal(env)
	if err != nil {
		return "", nil, fmt.Errorf("encode message: %w", err)
	}
	return id, body, nil
}

// answer is what a destination answered.
type answer struct {
	status     int
	body       string // the first maxAnswerBytes
	retryAfter string
}

// post sends one attempt, signed with secrets (the current one, and the
// previous one during a rotation) at this attempt's time. It answers what
// came back and the attempt, for the caller to record. When no answer
// comes, it records the attempt and the error is the failure to retry.
func (o *Outbound) post(ctx context.Context, d *store.Destination, secrets []string, msgID string, body []byte, changes []store.Change) (*answer, *store.Attempt, error) {
	started := time.Now()
	h, err := whsign.Headers(msgID, started, body, secrets...)
	if err != nil {
		return nil, nil, fmt.Errorf("sign message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return nil, nil, temporal.NewNonRetryableApplicationError("destination url: "+err.Error(), ErrTypeDestinationGone, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cventsync")
	attempt := &store.Attempt{DestinationID: d.ID, WebhookID: msgID, FirstSeq: changes[0].Seq,
		LastSeq: changes[len(changes)-1].Seq, Changes: len(changes)}
	resp, err := o.Client.Do(req)
	attempt.LatencyMS = int(time.Since(started).Milliseconds())
	if err != nil {
		attempt.Error = err.Error()
		o.record(ctx, attempt)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, o.failed(ctx, d, 0, err.Error(), "")
	}
	got, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	resp.Body.Close()
	attempt.Status, attempt.Response = resp.StatusCode, string(got)
	return &answer{status: resp.StatusCode, body: string(got), retryAfter: resp.Header.Get("Retry-After")}, attempt, nil
}

func (o *Outbound) record(ctx context.Context, a *store.Attempt) {
	outcome := "failed"
	switch {
	case a.Status >= 200 && a.Status < 300:
		outcome = "delivered"
	case a.Status == http.StatusGone:
		outcome = "gone"
	}
	metrics.OutboundAttempt(outcome, time.Duration(a.LatencyMS)*time.Millisecond)
	if err := o.Store.RecordAttempt(context.WithoutCancel(ctx), a); err != nil && o.Logger != nil {
		o.Logger.Warn("record destination attempt", "destination", a.DestinationID, "error", err)
	}
}

// failed turns a failed attempt into the activity's error: 410 disables at
// once; otherwise (429, 5xx, any other non-2xx, no answer) the destination
// is marked failing and the error is retryable, until it has failed for
// FailFor. A Retry-After in seconds sets the next retry's delay.
func (o *Outbound) failed(ctx context.Context, d *store.Destination, status int, answer, retryAfter string) error {
	reason := fmt.Sprintf("POST %s answered %d: %s", d.URL, status, store.CleanText(answer, 200))
	if status == 0 {
		reason = fmt.Sprintf("POST %s failed: %s", d.URL, store.CleanText(answer, 200))
	}
	if status == http.StatusGone {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the destination answered 410 Gone at %s; enable it again (PATCH enabled=true) once it accepts changes",
				time.Now().UTC().Format(time.RFC3339)), ErrTypeDestinationGone, nil)
	}
	since, err := o.Store.MarkDestinationFailing(context.WithoutCancel(ctx), d.ID, reason)
	if err != nil {
		return err
	}
	if time.Since(since) >= o.failFor() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("failing since %s (%s): %s; enable it again (PATCH enabled=true) to resume from where it stopped",
			since.UTC().Format(time.RFC3339), o.failFor(), reason), ErrTypeDestinationFailingTooLong, nil)
	}
	if secs, err := strconv.Atoi(retryAfter); err == nil && secs > 0 && secs <= 3600 {
		return temporal.NewApplicationErrorWithOptions(reason, "DestinationRateLimited",
			temporal.ApplicationErrorOptions{NextRetryDelay: time.Duration(secs) * time.Second})
	}
	return temporal.NewApplicationError(reason, "DestinationFailing")
}

// secrets opens the signing secrets: the current one, and the previous one
// while its rotation grace period lasts.
func (o *Outbound) secrets(d *store.Destination) ([]string, error) {
	cur, err := store.OpenSecret(o.Box, d.Secret)
	if err != nil {
		return nil, fmt.Errorf("destination secret: %w", err)
	}
	out := []string{cur}
	if d.OldSecret != "" && d.OldSecretUntil.Valid && time.Now().Before(d.OldSecretUntil.Time) {
		old, err := store.OpenSecret(o.Box, d.OldSecret)
		if err != nil {
			return nil, fmt.Errorf("previous destination secret: %w", err)
		}
		out = append(out, old)
	}
	return out, nil
}

// DisableDestination stops deliveries to a destination, with the reason
// operators will see in its status.
func (o *Outbound) DisableDestination(ctx context.Context, in *DisableInput) error {
	return o.Store.DisableDestination(ctx, in.DestinationID, in.Reason)
}

// PruneResult is what PruneChanges deleted.
type PruneResult struct {
	Deleted int64
}

// pruneBatch bounds one delete statement.
const pruneBatch = 5000

// PruneChanges deletes change log entries older than Retention, in batches
// of pruneBatch per statement (each short, so no heartbeat is needed).
// Cursors that pointed into the pruned range answer 410 afterwards.
func (o *Outbound) PruneChanges(ctx context.Context) (*PruneResult, error) {
	retention := orDefault(o.Retention, 30*24*time.Hour)
	n, err := o.Store.PruneChanges(ctx, time.Now().Add(-retention), pruneBatch)
	if err != nil {
		return nil, err
	}
	return &PruneResult{Deleted: n}, nil
}

// EnabledDestinations lists the enabled destinations, for the maintenance
// sweep to (re)start their workflows (starting a running one is a no-op).
func (o *Outbound) EnabledDestinations(ctx context.Context) ([]store.EnabledDestination, error) {
	return o.Store.EnabledDestinations(ctx)
}
