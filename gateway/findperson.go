package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/store"
)

// personFilter reads the delivery filters by person and time: inviteeId,
// email (resolved to the invitee ids of the integration's attendees with
// that address), eventType and since (RFC 3339 or a duration back from now,
// e.g. 2h). It answers 400 itself and reports false on a bad value. An
// e-mail that matches nobody leaves a filter that matches nothing.
func (s *Server) personFilter(c *gin.Context, integrationID string, f *store.DeliveryFilter) bool {
	return s.resolveFilter(c, integrationID, deliveryQuery{InviteeID: c.Query("inviteeId"), Email: c.Query("email"),
		EventType: c.Query("eventType"), Since: c.Query("since")}, f)
}

// deliveryQuery is a filter as an operator writes it.
type deliveryQuery struct {
	Status    string `json:"status"`
	Since     string `json:"since"`
	EventType string `json:"eventType"`
	InviteeID string `json:"inviteeId"`
	Email     string `json:"email"`
}

func (s *Server) resolveFilter(c *gin.Context, integrationID string, q deliveryQuery, f *store.DeliveryFilter) bool {
	f.InviteeID = strings.TrimSpace(q.InviteeID)
	f.EventType = strings.TrimSpace(q.EventType)
	if v := strings.TrimSpace(q.Since); v != "" {
		since, err := parseSince(v, time.Now())
		if err != nil {
			abort(c, http.StatusBadRequest, err.Error())
			return false
		}
		f.Since = since
	}
	if email := strings.TrimSpace(q.Email); email != "" {
		ids, err := s.opts.Store.InviteeIDsByEmail(c, integrationID, email)
		if err != nil {
			s.internalError(c, "find attendees by e-mail", err)
			return false
		}
		if len(ids) == 0 {
			ids = []string{"(no attendee has this e-mail)"} // not a Cvent id: matches no delivery
		}
		f.InviteeIDs = ids
	}
	return true
}

// parseSince reads an RFC 3339 time or a duration back from now ("2h",
// "30m", "7d" for days).
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if d, err := time.ParseDuration(days + "h"); err == nil && d >= 0 {
			return now.Add(-24 * d), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, errBadSince(v)
}

type errBadSince string

func (e errBadSince) Error() string {
	return `since must be an RFC 3339 time or a duration back from now (e.g. "2h", "7d"), not "` + string(e) + `"`
}
