package cvent

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
)

func TestToTemporal(t *testing.T) {
	cases := []struct {
		name         string
		err          error
		nonRetryable bool
		errType      string
		minDelay     time.Duration
		maxDelay     time.Duration
	}{
		{"refused", &Error{Status: http.StatusBadRequest, Message: "bad filter"}, true, ErrTypeRefused, 0, 0},
		{"per-second limit", &Error{Status: 429, Message: "Too Many Requests"}, false, ErrTypeTooManyRequests, 2 * time.Second, 2500 * time.Millisecond},
		{"daily quota", &Error{Status: 429, Message: "Limit Exceeded"}, false, ErrTypeLimitExceeded, time.Minute, 25 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var app *temporal.ApplicationError
			if !errors.As(ToTemporal(c.err, 1), &app) {
				t.Fatalf("not an application error: %v", ToTemporal(c.err, 1))
			}
			if app.NonRetryable() != c.nonRetryable || app.Type() != c.errType {
				t.Errorf("non-retryable %v type %q", app.NonRetryable(), app.Type())
			}
			if d := app.NextRetryDelay(); c.maxDelay > 0 && (d < c.minDelay || d > c.maxDelay) {
				t.Errorf("next retry delay %v, want %v–%v", d, c.minDelay, c.maxDelay)
			}
		})
	}
	// Transient failures are left to the activity's retry policy as they are.
	transient := &Error{Status: http.StatusBadGateway, Message: "Bad Gateway"}
	if got := ToTemporal(transient, 1); got != error(transient) {
		t.Errorf("a 502 must pass through unchanged, got %v", got)
	}
	if ToTemporal(nil, 1) != nil {
		t.Error("nil must stay nil")
	}
}
