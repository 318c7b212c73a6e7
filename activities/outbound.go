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
		n, err := o.deliverNext(ctx, d)
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

// deliverNext sends the next message of a destination, if any change waits,
// and returns how many changes it delivered. A message whose send failed is
// sent again exactly (same changes, same webhook-id), signed afresh.
func (o *Outbound) deliverNext(ctx context.Context, d *store.Destination) (int, error) {
	head, err := o.Store.GetChangeHead(ctx, d.IntegrationID)
	if err != nil {
		return 0, err
	}
	limit, upTo := d.BatchSize, int64(0)
	if d.InflightLast > d.Cursor {
		limit, upTo = 500, d.InflightLast
	}
	changes, err := o.Store.ReadChanges(ctx, d.IntegrationID, d.Cursor, limit, d.Types)
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
	last := changes[len(changes)-1].Seq
	if upTo == 0 {
		ok, err := o.Store.SetDestinationInflight(ctx, d.ID, d.Cursor, last)
		if err != nil || !ok {
			return 0, err // !ok: replayed meanwhile; look again
		}
	}
	msgID, body, err := message(d.ID, changes)
	if err != nil {
		return 0, err
	}
	ans, err := o.post(ctx, d, msgID, body, changes)
	if err != nil {
		return 0, err
	}
	if ans.status < 200 || ans.status > 299 {
		return 0, o.failed(ctx, d, ans.status, ans.body, ans.retryAfter)
	}
	if _, err := o.Store.AdvanceDestination(ctx, d.ID, d.Cursor, last, true); err != nil {
		return 0, err
	}
	return len(changes), nil
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

// post sends one attempt, signed with the current secret (and the previous
// one during a rotation) at this attempt's time, and records it. When no
// answer comes, the error is the failure to retry.
func (o *Outbound) post(ctx context.Context, d *store.Destination, msgID string, body []byte, changes []store.Change) (*answer, error) {
	secrets, err := o.secrets(d)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDestinationFailingTooLong, err)
	}
	started := time.Now()
	h, err := whsign.Headers(msgID, started, body, secrets...)
	if err != nil {
		return nil, fmt.Errorf("sign message: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("destination url: "+err.Error(), ErrTypeDestinationGone, err)
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
			return nil, ctx.Err()
		}
		return nil, o.failed(ctx, d, 0, err.Error(), "")
	}
	got, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	resp.Body.Close()
	attempt.Status, attempt.Response = resp.StatusCode, string(got)
	o.record(ctx, attempt)
	return &answer{status: resp.StatusCode, body: string(got), retryAfter: resp.Header.Get("Retry-After")}, nil
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
