package cvent

import (
	"math/rand/v2"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
)

// Application error types activities give Temporal for Cvent failures.
const (
	ErrTypeRefused         = "CventRefused"         // permanent 4xx
	ErrTypeTooManyRequests = "CventTooManyRequests" // per-second limit
	ErrTypeLimitExceeded   = "CventLimitExceeded"   // daily quota, until 00:00 UTC
)

// ToTemporal turns a Cvent error into Temporal's retry decision, so retry
// policy lives here and not in every activity: a refusal is not retried; a
// rate limit is retried after Cvent's backoff (with jitter); the daily quota
// after midnight UTC; anything else by the activity's retry policy.
func ToTemporal(err error, attempt int) error {
	if err == nil {
		return nil
	}
	return TemporalError(err, Decide(err, attempt, time.Now()))
}

// TemporalError is err as an activity returns it under decision d: given
// up, a non-retryable error; rate limited, retryable after d.Delay (with
// jitter; the daily quota up to a minute after midnight); otherwise err as
// it is, for the retry policy.
func TemporalError(err error, d Decision) error {
	switch {
	case d.Action == GiveUp:
		return temporal.NewNonRetryableApplicationError(err.Error(), d.ErrType, err)
	case d.Limit == PerSecond:
		return temporal.NewApplicationErrorWithOptions(err.Error(), d.ErrType,
			temporal.ApplicationErrorOptions{NextRetryDelay: jitter(d.Delay), Cause: err})
	case d.Limit == Daily:
		msg := err.Error()
		if !strings.Contains(msg, "resets at") {
			msg += "; the daily API quota is spent until it resets at 00:00 UTC"
		}
		return temporal.NewApplicationErrorWithOptions(msg, d.ErrType,
			temporal.ApplicationErrorOptions{NextRetryDelay: d.Delay + jitter(time.Minute), Cause: err})
	default:
		return err
	}
}

// jitter adds up to 25% so that many retries do not hit Cvent at once.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}
