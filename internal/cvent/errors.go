package cvent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Error is Cvent's error body {code, message, target, details} with the HTTP status.
type Error struct {
	Status  int               `json:"-"`
	Code    json.RawMessage   `json:"code,omitempty"` // Cvent sends numbers and strings here
	Message string            `json:"message"`
	Target  string            `json:"target,omitempty"`
	Details []json.RawMessage `json:"details,omitempty"`
	// ResetAt is set on a daily-quota 429 ("Limit Exceeded"): the next
	// 00:00 UTC, before which no call of the account can succeed.
	ResetAt time.Time `json:"-"`
	network bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Status != 0 {
		fmt.Fprintf(&b, "cvent %d", e.Status)
	} else {
		b.WriteString("cvent")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Target != "" {
		b.WriteString(" (" + e.Target + ")")
	}
	if !e.ResetAt.IsZero() {
		b.WriteString("; the daily API quota is spent until it resets at " + e.ResetAt.Format(time.RFC3339))
	}
	return b.String()
}

func decodeError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(body, e); err != nil || e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	if isDailyLimit(e) {
		e.ResetAt = nextMidnightUTC(time.Now())
	}
	return e
}

// isDailyLimit tells the daily quota's 429 from the per-second one: Cvent
// gives both the same status and only the message differs.
func isDailyLimit(e *Error) bool {
	return e.Status == http.StatusTooManyRequests && strings.Contains(strings.ToLower(e.Message), "limit exceeded")
}

// Kind is how a failed call must be handled.
type Kind int

// Kinds of failure.
const (
	// Permanent: a 4xx other than 429; retrying cannot help.
	Permanent Kind = iota
	// Transient: 502/503/504 or a network error; retry with backoff. Cvent
	// may or may not have acted.
	Transient
	// TooManyRequests: the per-second limit; nothing was done; back off 2 s
	// doubling to 16 s, with jitter.
	TooManyRequests
	// LimitExceeded: the daily quota is spent; nothing was done; not worth
	// retrying before 00:00 UTC.
	LimitExceeded
)

func (k Kind) String() string {
	return [...]string{"permanent", "transient", "too many requests", "limit exceeded"}[k]
}

// Classify says what kind of failure err is and, for rate limits, how long
// to wait before trying again (attempt counts from 1 for the backoff).
func Classify(err error) (Kind, time.Duration) {
	return ClassifyAt(err, 1, time.Now())
}

// ClassifyAt is Classify for a given attempt and clock.
func ClassifyAt(err error, attempt int, now time.Time) (Kind, time.Duration) {
	var e *Error
	if !errors.As(err, &e) {
		return Transient, 0 // timeouts, cancelled reads: unknown outcome
	}
	if e.network {
		return Transient, 0
	}
	switch {
	case isDailyLimit(e):
		return LimitExceeded, untilMidnightUTC(now)
	case e.Status == http.StatusTooManyRequests:
		return TooManyRequests, Backoff(attempt)
	case e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable ||
		e.Status == http.StatusGatewayTimeout || e.Status >= 500:
		return Transient, 0
	default:
		return Permanent, 0
	}
}

// Backoff is the wait before retry attempt n (1-based) after a
// "Too Many Requests": 2 s doubling to 16 s.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 2 * time.Second << min(attempt-1, 3)
	return min(d, 16*time.Second)
}

func nextMidnightUTC(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
}

func untilMidnightUTC(now time.Time) time.Duration { return nextMidnightUTC(now).Sub(now) }
