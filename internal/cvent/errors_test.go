package cvent

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 5, 25, 22, 30, 0, 0, time.UTC)
	cases := []struct {
		name    string
		err     error
		attempt int
		kind    Kind
		wait    time.Duration
	}{
		{"per-second 429, first retry", &Error{Status: 429, Message: "Too Many Requests"}, 1, TooManyRequests, 2 * time.Second},
		{"per-second 429, third retry", &Error{Status: 429, Message: "Too Many Requests"}, 3, TooManyRequests, 8 * time.Second},
		{"per-second 429, capped", &Error{Status: 429, Message: "Too Many Requests"}, 12, TooManyRequests, 16 * time.Second},
		{"daily quota waits for 00:00 UTC", &Error{Status: 429, Message: "Limit Exceeded"}, 1, LimitExceeded, 90 * time.Minute},
		{"daily quota, any case", &Error{Status: 429, Message: "limit exceeded"}, 4, LimitExceeded, 90 * time.Minute},
		{"429 without a body is per-second", &Error{Status: 429, Message: ""}, 1, TooManyRequests, 2 * time.Second},
		{"bad gateway", &Error{Status: 502, Message: "Bad Gateway"}, 1, Transient, 0},
		{"unavailable", &Error{Status: 503}, 1, Transient, 0},
		{"gateway timeout", &Error{Status: 504}, 1, Transient, 0},
		{"internal error", &Error{Status: 500}, 1, Transient, 0},
		{"network", &Error{Message: "connection reset", network: true}, 1, Transient, 0},
		{"wrapped network", fmt.Errorf("list: %w", &Error{network: true}), 1, Transient, 0},
		{"not a Cvent answer", io.ErrUnexpectedEOF, 1, Transient, 0},
		{"bad request", &Error{Status: 400, Message: "Invalid filter"}, 1, Permanent, 0},
		{"unauthorized after the refresh", &Error{Status: 401}, 1, Permanent, 0},
		{"forbidden scope", &Error{Status: 403}, 1, Permanent, 0},
		{"not found", fmt.Errorf("get: %w", &Error{Status: 404}), 1, Permanent, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kind, wait := ClassifyAt(c.err, c.attempt, now)
			if kind != c.kind || wait != c.wait {
				t.Errorf("got %v %v, want %v %v", kind, wait, c.kind, c.wait)
			}
		})
	}
}

// The daily quota's error says when it ends, read from the answer itself.
func TestDecodeErrorMarksTheDailyReset(t *testing.T) {
	cases := []struct {
		status int
		body   string
		reset  bool
	}{
		{429, `{"code":429,"message":"Limit Exceeded"}`, true},
		{429, `{"code":429,"message":"Too Many Requests"}`, false},
		{404, `{"code":"NOT_FOUND","message":"Attendee not found","target":"id","details":[{"x":1}]}`, false},
		{502, `<html>bad gateway</html>`, false},
	}
	for _, c := range cases {
		resp := &http.Response{StatusCode: c.status, Body: io.NopCloser(strings.NewReader(c.body))}
		var e *Error
		if !errors.As(decodeError(resp), &e) || e.Status != c.status || e.Message == "" {
			t.Fatalf("%d %s: got %#v", c.status, c.body, e)
		}
		if got := !e.ResetAt.IsZero(); got != c.reset {
			t.Errorf("%s: ResetAt %v", c.body, e.ResetAt)
		}
		if c.reset {
			if e.ResetAt.Hour() != 0 || e.ResetAt.Location() != time.UTC || time.Until(e.ResetAt) > 24*time.Hour {
				t.Errorf("reset %v is not the next 00:00 UTC", e.ResetAt)
			}
			if !strings.Contains(e.Error(), "resets at") {
				t.Errorf("message does not say when the quota resets: %s", e)
			}
		}
	}
}
