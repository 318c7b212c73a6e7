package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/sync/semaphore"
)

// bodyReader reads webhook bodies within bounds, so that neither many large
// bodies at once nor slow senders can exhaust the gateway:
//   - memory: a body up to streamAbove is read whole; one larger is streamed
//     to PostgreSQL in chunks and costs a fixed streamWeight, whatever its
//     size. Both come out of a shared budget and wait their turn; small
//     bodies (the ordinary registration) never wait;
//   - time: a sender must keep up minRate after a grace period, and never
//     pause longer than idle, or it is cut off with 408.
type bodyReader struct {
	budget   *semaphore.Weighted
	capacity int64
	// queueWait bounds the wait for budget; then 503 asks Cvent to retry.
	queueWait time.Duration
	grace     time.Duration
	minRate   int64 // bytes per second
	idle      time.Duration
}

const (
	// streamAbove is the declared size above which a body is streamed to
	// PostgreSQL instead of read whole; bodies of unknown size are streamed.
	streamAbove = 1 << 20
	// streamWeight is what a streamed body holds of the budget: a chunk, its
	// encoding for the driver and the decoder's buffer take about 24 MiB, but
	// each stream also keeps a core busy (scanning, encoding, PostgreSQL
	// writes), so the default budget lets two run at once and keeps CPU for
	// the ordinary webhooks.
	streamWeight = 64 << 20
	// smallWeight is what a body read whole costs per byte: the body, the
	// decoded message and the hex encoding the driver sends bytea in.
	smallWeight = 4
)

func newBodyReader(memoryBudget int64) *bodyReader {
	if memoryBudget <= 0 {
		memoryBudget = 160 << 20
	}
	return &bodyReader{
		budget: semaphore.NewWeighted(memoryBudget), capacity: memoryBudget,
		queueWait: 30 * time.Second, grace: 5 * time.Second, minRate: 16 << 10, idle: 5 * time.Second,
	}
}

// bodyError is a body that could not be read, with the status to answer.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

func tooLarge(limit int64) *bodyError {
	return &bodyError{http.StatusRequestEntityTooLarge, "body larger than the limit of " + byteSize(limit) + " (CVENTSYNC_MAX_BODY_BYTES)"}
}

// streamed reports whether the request's body is streamed rather than read whole.
func streamed(r *http.Request) bool { return r.ContentLength < 0 || r.ContentLength > streamAbove }

// acquire takes the body's share of the memory budget; release gives it back.
func (b *bodyReader) acquire(r *http.Request, limit int64) (release func(), err error) {
	if r.ContentLength > limit {
		return func() {}, tooLarge(limit)
	}
	var n int64
	switch {
	case streamed(r):
		n = streamWeight
	case r.ContentLength > 64<<10:
		n = r.ContentLength * smallWeight
	default:
		return func() {}, nil // the ordinary webhook never waits
	}
	n = min(n, b.capacity)
	ctx, cancel := context.WithTimeout(r.Context(), b.queueWait)
	defer cancel()
	if err := b.budget.Acquire(ctx, n); err != nil {
		return func() {}, &bodyError{http.StatusServiceUnavailable, "too many large deliveries are being received at once; retry shortly"}
	}
	return func() { b.budget.Release(n) }, nil
}

// reader paces and bounds the request body.
func (b *bodyReader) reader(w http.ResponseWriter, r *http.Request, limit int64) *pacedReader {
	return &pacedReader{b: b, body: r.Body, rc: http.NewResponseController(w), limit: limit, start: time.Now()}
}

// read reads a body that is not streamed, whole.
func (b *bodyReader) read(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	capHint := r.ContentLength
	if capHint < 0 {
		capHint = 64 << 10
	}
	buf := make([]byte, 0, capHint+1)
	pr := b.reader(w, r, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := pr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// pacedReader is a request body that must keep arriving: it fails with a
// bodyError when the sender pauses too long, sends too slowly, or sends more
// than the limit.
type pacedReader struct {
	b     *bodyReader
	body  io.Reader
	rc    *http.ResponseController
	limit int64
	start time.Time
	n     int64
}

func (p *pacedReader) Read(buf []byte) (int, error) {
	_ = p.rc.SetReadDeadline(time.Now().Add(p.b.idle))
	n, err := p.body.Read(buf)
	p.n += int64(n)
	if p.n > p.limit {
		return n, tooLarge(p.limit)
	}
	if errors.Is(err, io.EOF) {
		_ = p.rc.SetReadDeadline(time.Time{})
		return n, io.EOF
	}
	if err != nil {
		var netErr interface{ Timeout() bool }
		if errors.As(err, &netErr) && netErr.Timeout() {
			return n, &bodyError{http.StatusRequestTimeout, fmt.Sprintf("the body stopped arriving for %v; send it in one go", p.b.idle)}
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return n, tooLarge(p.limit)
		}
		return n, &bodyError{http.StatusBadRequest, "could not read body: " + err.Error()}
	}
	if elapsed := time.Since(p.start); elapsed > p.b.grace && float64(p.n) < float64(p.b.minRate)*elapsed.Seconds() {
		return n, &bodyError{http.StatusRequestTimeout,
			fmt.Sprintf("the body arrived too slowly (%d bytes in %v; at least %d bytes a second are needed)", p.n, elapsed.Round(time.Millisecond), p.b.minRate)}
	}
	return n, nil
}

// pnsMaxBody bounds a PNS notification: a few fields, never a stream.
const pnsMaxBody = 1 << 20

// readBody reads a small request body whole within the gateway's memory and
// pace bounds; release gives its memory back.
func (s *Server) readBody(c *gin.Context, limit int64) (body []byte, release func(), err error) {
	release, err = s.bodies.acquire(c.Request, limit)
	if err != nil {
		return nil, release, err
	}
	if c.Request.ContentLength > limit {
		return nil, release, tooLarge(limit)
	}
	body, err = s.bodies.read(c.Writer, c.Request, limit)
	return body, release, err
}
