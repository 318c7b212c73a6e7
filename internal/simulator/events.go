package simulator

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The account's events (GET /events): the simulated event, and a few others
// an account has too (a past one, a cancelled one, one not yet launched), so
// that a picker shows inactive and past events as Cvent does.

type accountEvent struct {
	ID, Title, Code, Status, EventStatus, Start, End string
}

func (s *Simulator) accountEvents() []accountEvent {
	derive := func(n int) string {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", s.event.ID, n)))
		x := hex.EncodeToString(h[:16])
		return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-8" + x[17:20] + "-" + x[20:32]
	}
	return []accountEvent{
		{s.event.ID, s.event.Title, s.event.Code, "Active", "Upcoming", "2026-05-25T18:00:00Z", "2026-05-27T23:00:00Z"},
		{derive(1), "Northwind Summit 2025", "NWS2025PAST", "Completed", "Completed", "2025-05-26T18:00:00Z", "2025-05-28T23:00:00Z"},
		{derive(2), "Partner Roadshow Lisbon", "ROADSHOWLIS", "Cancelled", "Cancelled", "2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z"},
		{derive(3), "Northwind Winter Forum 2027", "NWWINTER27", "Pending", "Upcoming", "2027-01-20T15:00:00Z", "2027-01-21T22:00:00Z"},
	}
}

var (
	codeEq        = regexp.MustCompile(`(?i)\bcode\s+eq\s+'([^']*)'`)
	titleContains = regexp.MustCompile(`(?i)\btitle\s+contains\s+'([^']*)'`)
)

// listEvents answers GET /events; the filter understands code eq and
// title contains.
func (s *Simulator) listEvents(w http.ResponseWriter, r *http.Request) {
	f := r.URL.Query().Get("filter")
	var items []any
	for _, e := range s.accountEvents() {
		if m := codeEq.FindStringSubmatch(f); m != nil && !strings.EqualFold(m[1], e.Code) {
			continue
		}
		if m := titleContains.FindStringSubmatch(f); m != nil && !strings.Contains(strings.ToLower(e.Title), strings.ToLower(m[1])) {
			continue
		}
		items = append(items, map[string]any{"id": e.ID, "title": e.Title, "code": e.Code, "status": e.Status, "eventStatus": e.EventStatus,
			"format": "Virtual", "type": "Conference", "languages": []string{"en-US"},
			"planners": []map[string]any{{"firstName": "Pat", "lastName": "Planner", "email": "planner@contoso.example"}},
			"start":    e.Start, "end": e.End, "timezone": "America/Chicago"})
	}
	s.simpleList(w, r, "events"+f, items)
}
