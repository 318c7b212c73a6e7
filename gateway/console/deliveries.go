package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// filter is the deliveries filter as the form and the admin API spell it.
type filter struct {
	Status, EventType, Since, InviteeID, Email string
}

func readFilter(q url.Values) filter {
	return filter{Status: strings.TrimSpace(q.Get("status")), EventType: strings.TrimSpace(q.Get("eventType")),
		Since: strings.TrimSpace(q.Get("since")), InviteeID: strings.TrimSpace(q.Get("inviteeId")), Email: strings.TrimSpace(q.Get("email"))}
}

// Query is the filter as a query string (without a leading "?").
func (f filter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "eventType": f.EventType, "since": f.Since, "inviteeId": f.InviteeID, "email": f.Email} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// eventTypes are offered in the filter's list.
var eventTypes = []string{"InviteeOrGuestAccepted", "InviteeOrGuestModified", "InviteeOrGuestCancelled", "AttendeeManualSynced",
	"InviteeSubstitutedInAnEvent", "SessionCreated", "SessionUpdated", "SessionDeleted", "SessionManualSynced"}

var statuses = []string{"received", "processed", "failed", "ignored", "rejected"}

func (c *Console) deliveriesPage(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	f := readFilter(v.r.URL.Query())
	path := "/api/v1/integrations/" + esc(in.ID) + "/deliveries?limit=100"
	if q := f.Query(); q != "" {
		path += "&" + q
	}
	if b := v.r.URL.Query().Get("before"); b != "" {
		path += "&before=" + url.QueryEscape(b)
	}
	var out struct{ Deliveries []delivery }
	errText := ""
	if err := c.api.call(ctx, http.MethodGet, path, nil, &out); err != nil {
		errText = err.Error()
	}
	var next int64
	if len(out.Deliveries) == 100 {
		next = out.Deliveries[99].ID
	}
	c.render(v, "deliveries", http.StatusOK, page{Title: "Deliveries", Integration: in, Error: errText, Flash: v.r.URL.Query().Get("flash"), Data: struct {
		Filter     filter
		Deliveries []delivery
		Next       int64
		EventTypes []string
		Statuses   []string
	}{f, out.Deliveries, next, eventTypes, statuses}})
}

func (c *Console) deliveryPage(v *view) {
	ctx := v.r.Context()
	id := v.r.PathValue("did")
	var d delivery
	if err := c.api.call(ctx, http.MethodGet, "/api/v1/deliveries/"+esc(id), nil, &d); err != nil {
		c.fail(v, "delivery", err)
		return
	}
	// The body inline only when small enough to read; else a download.
	inline := d.BodyURL == "" && d.BodySize <= maxPretty
	if !inline {
		d.Body, d.RawBody = nil, ""
	}
	c.render(v, "delivery", http.StatusOK, page{Title: "Delivery " + id, Flash: v.r.URL.Query().Get("flash"), Data: struct {
		D           delivery
		Inline      bool
		WorkflowURL string
		Replayable  bool
	}{d, inline, c.workflowURL(d.WorkflowID), d.Status == "failed" || d.Status == "processed" || d.Status == "received"}})
}

// deliveryBody downloads a body as Cvent sent it, however large.
func (c *Console) deliveryBody(v *view) {
	if _, err := strconv.ParseInt(v.r.PathValue("did"), 10, 64); err != nil {
		http.Error(v.w, "delivery id must be a number", http.StatusBadRequest)
		return
	}
	c.api.stream(v.w, v.r, "/api/v1/deliveries/"+v.r.PathValue("did")+"/body")
}

func (c *Console) replayOne(v *view) {
	id := v.r.PathValue("did")
	var out struct {
		Status     string `json:"status"`
		WorkflowID string `json:"workflowId"`
	}
	if err := c.api.call(v.r.Context(), http.MethodPost, "/api/v1/deliveries/"+esc(id)+"/replay", nil, &out); err != nil {
		c.fail(v, "replay", err)
		return
	}
	c.log.InfoContext(v.r.Context(), "console: replay", "deliveryId", id, "status", out.Status)
	redirect(v, "/console/deliveries/"+esc(id)+"?flash="+url.QueryEscape("Replay "+out.Status+" ("+out.WorkflowID+")"))
}
