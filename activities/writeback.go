package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
)

// Writes to Cvent (check-ins, contact PATCHes) are exactly once by three
// rules, shared by the participation and two-way sync activities:
//
//  1. Fence. Before a call, the things it writes are claimed in PostgreSQL
//     for one attempt (its fence token) with a lease: the time by which the
//     call can no longer act. Only the claim's owner records an outcome, so
//     a replaced attempt's late answer changes nothing.
//  2. Heartbeat while waiting. A Cvent call may take longer than the
//     activity's heartbeat timeout; the attempt heartbeats while it waits,
//     so Temporal does not start a second attempt beside a live call.
//  3. Settle from Cvent's state. A claim whose outcome is unknown (no answer,
//     a 5xx, a worker that died mid-call) is taken over by the next attempt,
//     which waits for the old lease to run out, asks Cvent what it has, and
//     sends only the rest.
//
// The lease rests on one assumption: Cvent does not act on a request after
// the client gave up on it plus leaseMargin. Each call is bounded by
// callTimeout, so a call cannot outlive its lease on our side.

// maxCallTimeout bounds one Cvent call when the client sets no shorter timeout.
const maxCallTimeout = 60 * time.Second

// leaseMargin is added to a call's timeout to make its lease: time for a
// request that reached Cvent as the client gave up to be applied.
const leaseMargin = 5 * time.Second

// callTimeout is the time one Cvent call is given: the client's own timeout
// when it has one below maxCallTimeout, and never past the activity's
// deadline (less a second to record the outcome).
func callTimeout(ctx context.Context, clientTimeout time.Duration) time.Duration {
	d := maxCallTimeout
	if clientTimeout > 0 && clientTimeout < d {
		d = clientTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - time.Second; left < d {
			d = max(left, time.Second)
		}
	}
	return d
}

// fenceToken names one attempt of one activity: the workflow, the activity,
// the attempt and a random part (an activity run again by a new workflow
// run, or by a test, never shares a token).
func fenceToken(ctx context.Context) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	if !activity.IsActivity(ctx) {
		return "local/" + suffix
	}
	info := activity.GetInfo(ctx)
	return fmt.Sprintf("%s/%s#%d/%s", info.WorkflowExecution.ID, info.ActivityID, info.Attempt, suffix)
}

// heartbeatEvery is how often to heartbeat while waiting: a third of the
// heartbeat timeout, at most every 5 s.
func heartbeatEvery(ctx context.Context) time.Duration {
	if !activity.IsActivity(ctx) {
		return 5 * time.Second
	}
	hb := activity.GetInfo(ctx).HeartbeatTimeout
	if hb <= 0 {
		return 5 * time.Second
	}
	return min(max(hb/3, 100*time.Millisecond), 5*time.Second)
}

func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}

// waitingCall runs one Cvent call under the call timeout, heartbeating until
// it returns. It reports when the call began, for the lease.
func waitingCall[T any](ctx context.Context, timeout time.Duration, what string, fn func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn(cctx)
		done <- result{v, err}
	}()
	tick := time.NewTicker(heartbeatEvery(ctx))
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-tick.C:
			heartbeat(ctx, "waiting for Cvent: "+what)
		}
	}
}

// waitUntil sleeps until t, heartbeating, unless ctx ends first.
func waitUntil(ctx context.Context, t time.Time, what string) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	tick := time.NewTicker(heartbeatEvery(ctx))
	defer tick.Stop()
	for {
		select {
		case <-timer.C:
			return nil
		case <-tick.C:
			heartbeat(ctx, what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
