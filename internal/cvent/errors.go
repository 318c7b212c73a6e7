package cvent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
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
	// Cvent's answers can be long and can quote a person: what is kept in
	// last_error columns, logs and workflow failures is cut to 1 KiB.
	e.Message, e.Target = cutText(e.Message, maxErrorText), cutText(e.Target, 256)
	if len(e.Details) > 0 {
		if b, _ := json.Marshal(e.Details); len(b) > maxErrorText {
			e.Details = nil
		}
	}
	if isDailyLimit(e) {
		e.ResetAt = nextMidnightUTC(time.Now())
	}
	return e
}

// maxErrorText bounds the text of a Cvent error kept anywhere.
const maxErrorText = 1024

// cutText cuts s to at most max bytes on a character boundary.
func cutText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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

// Action is what the caller of a failed call does next.
type Action int

// Actions.
const (
	// GiveUp: retrying cannot help.
	GiveUp Action = iota
	// RetryNow: retry by the caller's own backoff policy; Cvent may or may
	// not have acted, so a write must be settled before it is sent again.
	RetryNow
	// RetryLater: nothing was done; retry after Decision.Delay.
	RetryLater
)

func (a Action) String() string { return [...]string{"give up", "retry now", "retry later"}[a] }

// Limit is the rate limit that refused a call.
type Limit int

// Limits.
const (
	NoLimit   Limit = iota
	PerSecond       // "Too Many Requests": back off 2 s doubling to 16 s
	Daily           // "Limit Exceeded": the account's quota, until 00:00 UTC
)

// Decision is what a failed call means for its caller: one row of rules.
type Decision struct {
	Kind   Kind
	Action Action
	Limit  Limit
	// Delay is how long to wait before the retry (RetryLater).
	Delay time.Duration
	// ErrType is the Temporal application error type to fail an activity
	// with ("" = the error is left to the activity's retry policy).
	ErrType string
}

// rules is the one table of cases, first match wins. An error that is not a
// Cvent answer at all (a timeout, a cancelled or cut read) is Transient.
var rules = []struct {
	name  string
	match func(e *Error) bool
	kind  Kind
}{
	{"network error before any answer", func(e *Error) bool { return e.network }, Transient},
	{"429 Limit Exceeded: the daily quota", isDailyLimit, LimitExceeded},
	{"429 Too Many Requests (or no message): the per-second limit", func(e *Error) bool { return e.Status == http.StatusTooManyRequests }, TooManyRequests},
	{"408 Request Timeout", func(e *Error) bool { return e.Status == http.StatusRequestTimeout }, Transient},
	{"5xx: Cvent's SDKs retry 502/503/504; a 500 may pass", func(e *Error) bool { return e.Status >= 500 }, Transient},
	{"any other answer (4xx): refused", func(*Error) bool { return true }, Permanent},
}

// byKind is what each kind of failure means for the caller.
var byKind = map[Kind]Decision{
	Permanent:       {Kind: Permanent, Action: GiveUp, ErrType: ErrTypeRefused},
	Transient:       {Kind: Transient, Action: RetryNow},
	TooManyRequests: {Kind: TooManyRequests, Action: RetryLater, Limit: PerSecond, ErrType: ErrTypeTooManyRequests},
	LimitExceeded:   {Kind: LimitExceeded, Action: RetryLater, Limit: Daily, ErrType: ErrTypeLimitExceeded},
}

// Decide classifies err with the rules table: the kind of failure, what to
// do, which rate limit, and how long to wait before retry attempt `attempt`
// (1-based; the per-second backoff doubles with it) at time now.
func Decide(err error, attempt int, now time.Time) Decision {
	kind := Transient // timeouts, cancelled reads: unknown outcome
	var e *Error
	if errors.As(err, &e) {
		for _, r := range rules {
			if r.match(e) {
				kind = r.kind
				break
			}
		}
	}
	d := byKind[kind]
	switch d.Limit {
	case PerSecond:
		d.Delay = Backoff(attempt)
	case Daily:
		d.Delay = untilMidnightUTC(now)
	}
	return d
}

// Classify says what kind of failure err is and, for rate limits, how long
// to wait before trying again (attempt counts from 1 for the backoff).
func Classify(err error) (Kind, time.Duration) {
	return ClassifyAt(err, 1, time.Now())
}

// ClassifyAt is Classify for a given attempt and clock: Decide's kind and delay.
func ClassifyAt(err error, attempt int, now time.Time) (Kind, time.Duration) {
	d := Decide(err, attempt, now)
	return d.Kind, d.Delay
}

// ClassifyAttempt is ClassifyAt now, the classifier activities are given.
func ClassifyAttempt(err error, attempt int) (Kind, time.Duration) {
	return ClassifyAt(err, attempt, time.Now())
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
