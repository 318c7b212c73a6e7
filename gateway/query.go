package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cventsync/cventsync/internal/store"
)

// Query parameters of the admin API's list endpoints, parsed by plain
// functions (fuzzed in query_fuzz_test.go) so that a handler only maps an
// error to 400.

// deliveryStatuses are the values ?status= takes on the deliveries list.
var deliveryStatuses = []string{store.DeliveryReceived, store.DeliveryProcessed, store.DeliveryFailed,
	store.DeliveryIgnored, store.DeliveryRejected}

// maxDeliveryPage and maxAttendeePage bound ?limit=.
const (
	maxDeliveryPage = 500
	maxAttendeePage = 10000
)

// parseDeliveryQuery reads GET /integrations/{id}/deliveries?status=&before=&limit=
// and checks the text of the person filters (inviteeId, email, eventType,
// since), which personFilter reads.
func parseDeliveryQuery(q url.Values) (store.DeliveryFilter, error) {
	var f store.DeliveryFilter
	if err := checkText(q, "status", "before", "limit", "inviteeId", "email", "eventType", "since"); err != nil {
		return f, err
	}
	if v := strings.TrimSpace(q.Get("status")); v != "" {
		if !contains(deliveryStatuses, v) {
			return f, fmt.Errorf("status must be one of %s", strings.Join(deliveryStatuses, ", "))
		}
		f.Status = v
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, errors.New("before must be a delivery id")
		}
		f.BeforeID = n
	}
	n, err := parseLimit(q.Get("limit"), maxDeliveryPage)
	if err != nil {
		return f, err
	}
	f.Limit = n
	return f, nil
}

// parseAttendeeQuery reads GET /integrations/{id}/attendees?email=&inviteeId=&after=&access=&limit=.
func parseAttendeeQuery(q url.Values) (store.AttendeeFilter, error) {
	var f store.AttendeeFilter
	if err := checkText(q, "email", "inviteeId", "after", "access", "limit"); err != nil {
		return f, err
	}
	f.Email, f.InviteeID, f.AfterID = q.Get("email"), q.Get("inviteeId"), q.Get("after")
	if v := q.Get("access"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, errors.New("access must be true or false")
		}
		f.Access = &b
	}
	n, err := parseLimit(q.Get("limit"), maxAttendeePage)
	if err != nil {
		return f, err
	}
	f.Limit = n
	return f, nil
}

// parseLimit reads ?limit=: 0 when absent (the store's default), else 1 to max.
func parseLimit(v string, max int) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("limit must be a number from 1 to %d", max)
	}
	return n, nil
}

// checkText refuses a parameter PostgreSQL cannot compare as text: one with
// a NUL character or invalid UTF-8 would fail the query with a 500.
func checkText(q url.Values, names ...string) error {
	for _, name := range names {
		for _, v := range q[name] {
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return fmt.Errorf("%s must be text without NUL characters, in UTF-8", name)
			}
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
