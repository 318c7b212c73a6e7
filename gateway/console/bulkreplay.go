package console

import (
	"net/http"
	"net/url"
)

// replayBody is the bulk replay request of a filter.
func replayBody(f filter, dryRun bool) map[string]any {
	if f.Status == "" {
		f.Status = "failed"
	}
	return map[string]any{"status": f.Status, "eventType": f.EventType, "since": f.Since, "inviteeId": f.InviteeID,
		"email": f.Email, "dryRun": dryRun}
}

// bulkReplayConfirm counts what a bulk replay of the filter would replay
// and asks to confirm.
func (c *Console) bulkReplayConfirm(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	f := readFilter(v.r.URL.Query())
	if f.Status == "" {
		f.Status = "failed"
	}
	var dry bulkReplay
	if err := c.api.call(ctx, http.MethodPost, "/api/v1/integrations/"+esc(in.ID)+"/deliveries/replay", replayBody(f, true), &dry); err != nil {
		c.fail(v, "count deliveries to replay", err)
		return
	}
	c.render(v, "replay_confirm", http.StatusOK, page{Title: "Replay deliveries", Integration: in, Data: struct {
		Filter  filter
		Matched int
	}{f, dry.Matched}})
}

func (c *Console) bulkReplayStart(v *view) {
	ctx := v.r.Context()
	id := v.r.PathValue("id")
	f := readFilter(v.r.PostForm)
	var out bulkReplay
	if err := c.api.call(ctx, http.MethodPost, "/api/v1/integrations/"+esc(id)+"/deliveries/replay", replayBody(f, false), &out); err != nil {
		c.fail(v, "bulk replay", err)
		return
	}
	c.log.InfoContext(ctx, "console: bulk replay", "integrationId", id, "status", out.Status, "replayId", out.ReplayID, "matched", out.Matched)
	if out.ReplayID != "" {
		redirect(v, "/console/integrations/"+esc(id)+"/replays/"+esc(out.ReplayID))
		return
	}
	// Temporal did not take the workflow: the gateway replayed them itself.
	redirect(v, "/console/integrations/"+esc(id)+"/deliveries?"+f.Query()+"&flash="+url.QueryEscape(
		"Replayed "+itoa(out.Replayed)+" deliveries ("+out.Status+")"))
}

func (c *Console) bulkReplayPage(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	var p bulkReplay
	if err := c.api.call(ctx, http.MethodGet, "/api/v1/integrations/"+esc(in.ID)+"/deliveries/replays/"+esc(v.r.PathValue("rid")), nil, &p); err != nil {
		c.fail(v, "bulk replay progress", err)
		return
	}
	refresh := 0
	if p.Status == "running" {
		refresh = 1
	}
	c.render(v, "replay", http.StatusOK, page{Title: "Bulk replay " + p.ReplayID, Integration: in, Refresh: refresh, Data: struct {
		P           bulkReplay
		WorkflowURL string
	}{p, c.workflowURL(p.WorkflowID)}})
}
