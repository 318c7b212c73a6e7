package console

import (
	"net/http"
	"net/url"
	"strconv"
)

func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func (c *Console) pollNow(v *view) {
	id := v.r.PathValue("id")
	msg := "Polling now."
	if err := c.api.call(v.r.Context(), http.MethodPost, "/api/v1/integrations/"+esc(id)+"/poll", nil, nil); err != nil {
		msg = "Could not poll: " + err.Error()
	}
	redirect(v, "/console/integrations/"+esc(id)+"?flash="+url.QueryEscape(msg))
}

func (c *Console) startResync(v *view) {
	id := v.r.PathValue("id")
	var r resync
	if err := c.api.call(v.r.Context(), http.MethodPost, "/api/v1/integrations/"+esc(id)+"/resync", nil, &r); err != nil {
		redirect(v, "/console/integrations/"+esc(id)+"?flash="+url.QueryEscape("Could not start a re-sync: "+err.Error()))
		return
	}
	c.log.InfoContext(v.r.Context(), "console: re-sync", "integrationId", id, "resyncId", r.ID)
	redirect(v, "/console/integrations/"+esc(id)+"/resyncs/"+itoa(r.ID))
}

// resyncPage shows a re-sync's progress bar; it reloads itself every
// second while the re-sync runs.
func (c *Console) resyncPage(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	var r resync
	if err := c.api.call(ctx, http.MethodGet, "/api/v1/integrations/"+esc(in.ID)+"/resyncs/"+esc(v.r.PathValue("rid")), nil, &r); err != nil {
		c.fail(v, "re-sync", err)
		return
	}
	refresh := 0
	if r.Status == "running" {
		refresh = 1
	}
	c.render(v, "resync", http.StatusOK, page{Title: "Re-sync " + itoa(r.ID), Integration: in, Refresh: refresh, Data: struct {
		R           resync
		WorkflowURL string
	}{r, c.workflowURL(r.WorkflowID)}})
}
