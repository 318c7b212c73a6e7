package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// bodyReader reads webhook bodies within bounds, so that neither many large
// bodies at once nor slow senders can exhaust the gateway:
//   - memory: a body costs about memoryFactor times its size while it is
//     decoded and stored; large bodies take that much from a shared budget
//     and wait their turn (small ones, the ordinary registration, never do);
//   - time: a sender must keep up minRate after a grace period, and never
//     pause longer than idle, or it is cut off with 408.
type bodyReader struct {
	budget   *semaphore.Weighted
	capacity int64
	// small bodies (declared at most this size) skip the budget.
	small int64
	// queueWait bounds the wait for budget; then 503 asks Cvent to retry.
	queueWait time.Duration
	grace     time.Duration
	minRate   int64 // bytes per second
	idle      time.Duration
}

// memoryFactor is what a stored body costs in memory per byte: the body,
// the decoded message and the hex encoding the driver sends bytea in.
const memoryFactor = 4

func newBodyReader(memoryBudget int64) *bodyReader {
	if memoryBudget <= 0 {
		memoryBudget = 160 << 20
	}
	return &bodyReader{
		budget: semaphore.NewWeighted(memoryBudget), capacity: memoryBudget,
		small: 1 << 20, queueWait: 30 * time.Second,
		grace: 5 * time.Second, minRate: 16 << 10, idle: 5 * time.Second,
	}
}

// bodyError is a body that could not be read, with the status to answer.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// read reads the request body, at most limit bytes. release gives the
// memory budget back; call it once the body is no longer needed.
func (b *bodyReader) read(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	release = func() {}
	declared := r.ContentLength
	if declared > limit {
		return nil, release, &bodyError{http.StatusRequestEntityTooLarge, "body larger than the limit of " + byteSize(limit) + " (CVENTSYNC_MAX_BODY_BYTES)"}
	}
	var held int64
	acquire := func(n int64) error {
		n = min(n, b.capacity-held)
		if n <= 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(r.Context(), b.queueWait)
		defer cancel()
		if err := b.budget.Acquire(ctx, n); err != nil {
			return &bodyError{http.StatusServiceUnavailable, "too many large deliveries are being received at once; retry shortly"}
		}
		held += n
		return nil
	}
	release = func() {
		if held > 0 {
			b.budget.Release(held)
			held = 0
		}
	}
	if declared > b.small {
		if err := acquire(declared * memoryFactor); err != nil {
			return nil, release, err
		}
	}
	capHint := declared
	if capHint < 0 {
		capHint = 64 << 10
	}
	buf := make([]byte, 0, capHint+1)
	rc := http.NewResponseController(w)
	start := time.Now()
	for {
		if int64(len(buf)) > limit {
			return nil, release, &bodyError{http.StatusRequestEntityTooLarge, "body larger than the limit of " + byteSize(limit) + " (CVENTSYNC_MAX_BODY_BYTES)"}
		}
		if len(buf) == cap(buf) {
			// An undeclared length grows in steps, each paid for first.
			if declared < 0 && int64(len(buf)) >= b.small {
				if err := acquire(int64(len(buf)) * memoryFactor); err != nil {
					return nil, release, err
				}
			}
			buf = append(buf, 0)[:len(buf)]
		}
		_ = rc.SetReadDeadline(time.Now().Add(b.idle))
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			_ = rc.SetReadDeadline(time.Time{})
			if int64(len(buf)) > limit {
				return nil, release, &bodyError{http.StatusRequestEntityTooLarge, "body larger than the limit of " + byteSize(limit) + " (CVENTSYNC_MAX_BODY_BYTES)"}
			}
			return buf, release, nil
		}
		if err != nil {
			var netErr interface{ Timeout() bool }
			if errors.As(err, &netErr) && netErr.Timeout() {
				return nil, release, &bodyError{http.StatusRequestTimeout, fmt.Sprintf("the body stopped arriving for %v; send it in one go", b.idle)}
			}
			return nil, release, &bodyError{http.StatusBadRequest, "could not read body: " + err.Error()}
		}
		if elapsed := time.Since(start); elapsed > b.grace && float64(len(buf)) < float64(b.minRate)*elapsed.Seconds() {
			return nil, release, &bodyError{http.StatusRequestTimeout,
				fmt.Sprintf("the body arrived too slowly (%d bytes in %v; at least %d bytes a second are needed)", len(buf), elapsed.Round(time.Millisecond), b.minRate)}
		}
	}
}
