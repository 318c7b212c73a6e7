package cvent

import (
	"errors"

	"github.com/cventsync/cventsync/internal/metrics"
)

// observe counts one call for /metrics: by endpoint and status, the two
// kinds of 429 apart, and against the account's daily quota (account ""
// for the token endpoint, which the quota does not count).
func observe(account, method, path string, status int, err error) {
	var e *Error
	daily := errors.As(err, &e) && isDailyLimit(e)
	metrics.CventCall(account, method, path, status, daily)
}
