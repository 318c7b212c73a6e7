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
	kind, wait := ClassifyAt(err, attempt, time.Now())
	switch kind {
	case Permanent:
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRefused, err)
	case TooManyRequests:
		return temporal.NewApplicationErrorWithOptions(err.Error(), ErrTypeTooManyRequests,
			temporal.ApplicationErrorOptions{NextRetryDelay: jitter(wait), Cause: err})
	case LimitExceeded:
		msg := err.Error()
		if !strings.Contains(msg, "resets at") {
			msg += "; the daily API quota is spent until it resets at 00:00 UTC"
		}
		return temporal.NewApplicationErrorWithOptions(msg, ErrTypeLimitExceeded,
			temporal.ApplicationErrorOptions{NextRetryDelay: wait + jitter(time.Minute), Cause: err})
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
