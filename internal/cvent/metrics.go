package cvent

import (
	"errors"

	"github.com/cventsync/cventsync/internal/metrics"
)

// observe counts one call for /metrics: by endpoint and status, the two
// kinds of 429 apart. The calls against the account's daily quota are
// counted apart, durably (Config.Calls).
func observe(method, path string, status int, err error) {
	var e *Error
	daily := errors.As(err, &e) && isDailyLimit(e)
	metrics.CventCall(method, path, status, daily)
}
