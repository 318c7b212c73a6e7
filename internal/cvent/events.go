package cvent

import (
	"fmt"
	"net/url"
	"strings"
)

// EventSummary is an event as GET /events lists it: enough to pick one.
type EventSummary struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Code   string `json:"code,omitempty"`
	Status string `json:"status,omitempty"` // registration: Active, Pending, Completed, Cancelled, ...
	// EventStatus is past, present or future: Upcoming, Ongoing, Completed, Cancelled, ...
	EventStatus string `json:"eventStatus,omitempty"`
	Start       string `json:"start,omitempty"`
	End         string `json:"end,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
}

// Events lists the account's events, whatever their status (inactive,
// completed and cancelled ones too), optionally filtered (Cvent's filter
// syntax, e.g. EventCodeFilter).
func (c *Client) Events(filter string) *Pager[EventSummary] {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	return newPager[EventSummary](c, "/events", q, "")
}

// EventCodeFilter matches the event with this event code.
func EventCodeFilter(code string) string {
	return fmt.Sprintf("code eq '%s'", strings.ReplaceAll(code, "'", "''"))
}
