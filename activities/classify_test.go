package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/store"
)

// A failed check-in call is handled by the one Cvent classifier's table:
// per-second limit → claims released, retried after the backoff; daily quota
// → parked until 00:00 UTC; refused → failed; anything else → outcome
// unknown, claims kept for the next attempt to settle.
func TestCheckInCallFailedFollowsTheClassifier(t *testing.T) {
	now := time.Date(2026, 5, 25, 22, 30, 0, 0, time.UTC)
	cases := []struct {
		name       string
		err        error
		status     string // recorded for the attendees; "" = nothing recorded
		errType    string // Temporal application error type; "" = none
		retryable  bool
		parked     bool
		leaseEnded bool
	}{
		{"per-second limit", &cvent.Error{Status: 429, Message: "Too Many Requests"}, store.ParticipationPending, cvent.ErrTypeTooManyRequests, true, false, false},
		{"daily quota", &cvent.Error{Status: 429, Message: "Limit Exceeded"}, store.ParticipationPending, "", false, true, false},
		{"refused", &cvent.Error{Status: 400, Message: "bad id"}, store.ParticipationFailed, "", false, false, false},
		{"unavailable", &cvent.Error{Status: 503}, "", "", true, false, true},
		{"request timeout", &cvent.Error{Status: 408}, "", "", true, false, true},
		{"no answer", context.DeadlineExceeded, "", "", true, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &writeBack{p: &Participation{Now: func() time.Time { return now }}, integrationID: "i1"}
			var recorded []store.WriteOutcome
			leaseEnded := false
			res := &WriteBackResult{}
			err := w.callFailed(context.Background(), []string{"a", "b"}, c.err, res,
				func(o []store.WriteOutcome) (int, error) { recorded = o; return len(o), nil },
				func(time.Time) error { leaseEnded = true; return nil })
			if c.status == "" && recorded != nil || c.status != "" && (len(recorded) != 2 || recorded[0].Status != c.status) {
				t.Errorf("recorded %+v, want status %q", recorded, c.status)
			}
			if leaseEnded != c.leaseEnded || (!res.ParkedUntil.IsZero()) != c.parked {
				t.Errorf("lease ended %v, parked until %v", leaseEnded, res.ParkedUntil)
			}
			var app *temporal.ApplicationError
			gotType := ""
			if errors.As(err, &app) {
				gotType = app.Type()
				if app.NextRetryDelay() < 2*time.Second {
					t.Errorf("retry delay %v", app.NextRetryDelay())
				}
			}
			if gotType != c.errType || (err != nil) != c.retryable {
				t.Errorf("error %v (type %q), want type %q, an error %v", err, gotType, c.errType, c.retryable)
			}
		})
	}
}
