package console

import (
	"net/http"
	"strings"
)

type cventEvent struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Code        string `json:"code"`
	Status      string `json:"status"`
	EventStatus string `json:"eventStatus"`
	Start       string `json:"start"`
}

// eventsPage lists the Cvent account's events (inactive and past ones too),
// searchable by title and event code, read with the integration's
// credentials: the ids to connect another integration, without copying
// GUIDs out of Cvent.
func (c *Console) eventsPage(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	q := strings.TrimSpace(v.r.URL.Query().Get("q"))
	var out struct{ Events []cventEvent }
	errText := ""
	if err := c.api.call(ctx, http.MethodGet, "/api/v1/integrations/"+esc(in.ID)+"/cvent/events?q="+urlQueryEscape(q), nil, &out); err != nil {
		errText = "Could not list the account's events: " + err.Error()
	}
	c.render(v, "events", http.StatusOK, page{Title: "Cvent events", Integration: in, Error: errText, Data: struct {
		Q      string
		Events []cventEvent
	}{q, out.Events}})
}
