package cvent

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// The one table of cases: what a failed Cvent call means for its caller.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 5, 25, 22, 30, 0, 0, time.UTC)
	cases := []struct {
		name    string
		err     error
		attempt int
		kind    Kind
		action  Action
		limit   Limit
		delay   time.Duration
		errType string
	}{
		{"per-second 429", &Error{Status: 429, Message: "Too Many Requests"}, 1, TooManyRequests, RetryLater, PerSecond, 2 * time.Second, ErrTypeTooManyRequests},
		{"per-second 429, fourth retry", &Error{Status: 429, Message: "Too Many Requests"}, 4, TooManyRequests, RetryLater, PerSecond, 16 * time.Second, ErrTypeTooManyRequests},
		{"429 without a message is per-second", &Error{Status: 429}, 1, TooManyRequests, RetryLater, PerSecond, 2 * time.Second, ErrTypeTooManyRequests},
		{"daily quota", &Error{Status: 429, Message: "Limit Exceeded"}, 1, LimitExceeded, RetryLater, Daily, 90 * time.Minute, ErrTypeLimitExceeded},
		{"daily quota, wrapped", fmt.Errorf("poll: %w", &Error{Status: 429, Message: "limit exceeded"}), 2, LimitExceeded, RetryLater, Daily, 90 * time.Minute, ErrTypeLimitExceeded},
		{"request timeout is worth another try", &Error{Status: 408, Message: "Request Timeout"}, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"bad gateway", &Error{Status: 502}, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"unavailable", &Error{Status: 503}, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"gateway timeout", &Error{Status: 504}, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"internal error", &Error{Status: 500}, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"network", &Error{network: true, Message: "connection reset"}, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"timeout before an answer", context.DeadlineExceeded, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"cut answer", io.ErrUnexpectedEOF, 1, Transient, RetryNow, NoLimit, 0, ""},
		{"bad request", &Error{Status: 400, Message: "Invalid filter"}, 1, Permanent, GiveUp, NoLimit, 0, ErrTypeRefused},
		{"unauthorized", &Error{Status: 401}, 1, Permanent, GiveUp, NoLimit, 0, ErrTypeRefused},
		{"forbidden", &Error{Status: 403}, 1, Permanent, GiveUp, NoLimit, 0, ErrTypeRefused},
		{"not found", fmt.Errorf("get: %w", &Error{Status: 404}), 1, Permanent, GiveUp, NoLimit, 0, ErrTypeRefused},
		{"conflict", &Error{Status: 409}, 1, Permanent, GiveUp, NoLimit, 0, ErrTypeRefused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.err, c.attempt, now)
			want := Decision{Kind: c.kind, Action: c.action, Limit: c.limit, Delay: c.delay, ErrType: c.errType}
			if d != want {
				t.Errorf("got %+v, want %+v", d, want)
			}
			// Classify is the same table.
			if k, w := ClassifyAt(c.err, c.attempt, now); k != c.kind || w != c.delay {
				t.Errorf("ClassifyAt: %v %v", k, w)
			}
		})
	}
}
