package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cvent"
)

// maxAccountEvents bounds GET …/cvent/events.
const maxAccountEvents = 5000

// listCventEvents answers GET /integrations/{id}/cvent/events?q=: the Cvent
// account's events read with the integration's credentials, inactive, past
// and cancelled ones included, filtered by q in the title or the event code.
func (s *Server) listCventEvents(c *gin.Context) {
	in, ok := s.loadIntegration(c)
	if !ok {
		return
	}
	if s.opts.Cvent == nil {
		abort(c, http.StatusServiceUnavailable, "this gateway has no Cvent client")
		return
	}
	client, err := s.opts.Cvent.For(in)
	if errors.Is(err, connection.ErrNoCredentials) {
		abort(c, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		s.internalError(c, "Cvent client", err)
		return
	}
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	out := []cvent.EventSummary{}
	n := 0
	for e, err := range client.Events("").All(c) {
		if err != nil {
			abort(c, http.StatusBadGateway, "Cvent: "+err.Error())
			return
		}
		if n++; n > maxAccountEvents {
			break
		}
		if q == "" || strings.Contains(strings.ToLower(e.Title), q) || strings.Contains(strings.ToLower(e.Code), q) {
			out = append(out, e)
		}
	}
	c.JSON(http.StatusOK, gin.H{"events": out})
}
