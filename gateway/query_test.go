package gateway

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/store"
)

// The deliveries list refuses what it cannot honour instead of ignoring it.
func TestParseDeliveryQuery(t *testing.T) {
	cases := []struct {
		query string
		want  store.DeliveryFilter
		err   string
	}{
		{"", store.DeliveryFilter{}, ""},
		{"status=failed&before=120&limit=50", store.DeliveryFilter{Status: "failed", BeforeID: 120, Limit: 50}, ""},
		{"status=%20ignored%20", store.DeliveryFilter{Status: "ignored"}, ""},
		{"limit=500", store.DeliveryFilter{Limit: 500}, ""},
		{"limit=abc", store.DeliveryFilter{}, "limit must be a number from 1 to 500"},
		{"limit=0", store.DeliveryFilter{}, "limit must be a number from 1 to 500"},
		{"limit=501", store.DeliveryFilter{}, "limit must be a number from 1 to 500"},
		{"before=-3", store.DeliveryFilter{}, "before must be a delivery id"},
		{"before=x", store.DeliveryFilter{}, "before must be a delivery id"},
		{"status=done", store.DeliveryFilter{}, "status must be one of received, processed, failed, ignored, rejected"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			got, err := parseDeliveryQuery(q)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %+v, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// The attendee list's parameters, and text that PostgreSQL cannot take (a
// NUL, invalid UTF-8) answered 400 rather than 500.
func TestParseAttendeeQuery(t *testing.T) {
	yes := true
	cases := []struct {
		query string
		want  store.AttendeeFilter
		err   string
	}{
		{"", store.AttendeeFilter{}, ""},
		{"email=a%40x.example&inviteeId=ABC&after=k&access=true&limit=10000",
			store.AttendeeFilter{Email: "a@x.example", InviteeID: "ABC", AfterID: "k", Access: &yes, Limit: 10000}, ""},
		{"access=maybe", store.AttendeeFilter{}, "access must be true or false"},
		{"limit=10001", store.AttendeeFilter{}, "limit must be a number from 1 to 10000"},
		{"limit=-1", store.AttendeeFilter{}, "limit must be a number from 1 to 10000"},
		{"after=%00", store.AttendeeFilter{}, "after must be text without NUL characters, in UTF-8"},
		{"email=%ff", store.AttendeeFilter{}, "email must be text without NUL characters, in UTF-8"},
		{"inviteeId=a%00b", store.AttendeeFilter{}, "inviteeId must be text without NUL characters, in UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q, _ := url.ParseQuery(c.query)
			got, err := parseAttendeeQuery(q)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %+v, %v; want an error containing %q", got, err, c.err)
				}
				return
			}
			if err != nil || got.Email != c.want.Email || got.InviteeID != c.want.InviteeID || got.AfterID != c.want.AfterID ||
				got.Limit != c.want.Limit || (got.Access == nil) != (c.want.Access == nil) || (got.Access != nil && *got.Access != *c.want.Access) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}
