package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// health is an integration at a glance.
type health struct {
	Integration  integration
	Stats        stats
	LastDelivery *delivery
	Waiting      backlog
	Failed       backlog
	WriteBack    int // check-ins due and not yet written to Cvent
	WriteFailed  int
	Destinations []destination
	Error        string
}

// backlog is how many deliveries have a status and when the oldest came.
type backlog struct {
	Count  int
	Oldest time.Time
	// Partial: only the newest maxBacklogScan were looked at.
	Partial bool
}

// Age is the oldest one's age, "" when none.
func (b backlog) Age() string {
	if b.Oldest.IsZero() {
		return ""
	}
	s := age(time.Since(b.Oldest))
	if b.Partial {
		s = "≥ " + s
	}
	return s
}

const maxBacklogScan = 5000

func (c *Console) health(ctx context.Context, in integration) health {
	h := health{Integration: in}
	base := "/api/v1/integrations/" + esc(in.ID)
	if err := c.api.call(ctx, http.MethodGet, base+"/stats", nil, &h.Stats); err != nil {
		h.Error = err.Error()
		return h
	}
	var last struct{ Deliveries []delivery }
	if err := c.api.call(ctx, http.MethodGet, base+"/deliveries?limit=1", nil, &last); err == nil && len(last.Deliveries) > 0 {
		h.LastDelivery = &last.Deliveries[0]
	}
	h.Waiting = c.backlog(ctx, base, "received", h.Stats.Deliveries["received"])
	h.Failed = c.backlog(ctx, base, "failed", h.Stats.Deliveries["failed"])
	h.WriteBack = h.Stats.Participation["pending"] + h.Stats.Participation["sending"]
	h.WriteFailed = h.Stats.Participation["failed"]
	var dst struct{ Destinations []destination }
	if err := c.api.call(ctx, http.MethodGet, base+"/destinations", nil, &dst); err == nil {
		h.Destinations = dst.Destinations
	}
	return h
}

// backlog pages back through the deliveries of one status to the oldest
// (the list is newest first), up to maxBacklogScan.
func (c *Console) backlog(ctx context.Context, base, status string, count int) backlog {
	b := backlog{Count: count}
	if count == 0 {
		return b
	}
	before := int64(0)
	for seen := 0; seen < maxBacklogScan; {
		path := base + "/deliveries?limit=500&status=" + status
		if before > 0 {
			path += "&before=" + strconv.FormatInt(before, 10)
		}
		var page struct{ Deliveries []delivery }
		if err := c.api.call(ctx, http.MethodGet, path, nil, &page); err != nil || len(page.Deliveries) == 0 {
			return b
		}
		seen += len(page.Deliveries)
		oldest := page.Deliveries[len(page.Deliveries)-1]
		b.Oldest, before = oldest.ReceivedAt, oldest.ID
		if len(page.Deliveries) < 500 {
			return b
		}
	}
	b.Partial = true
	return b
}

func (c *Console) integrations(ctx context.Context) ([]integration, error) {
	var out struct{ Integrations []integration }
	if err := c.api.call(ctx, http.MethodGet, "/api/v1/integrations", nil, &out); err != nil {
		return nil, fmt.Errorf("list integrations: %w", err)
	}
	return out.Integrations, nil
}

func (c *Console) integration(ctx context.Context, id string) (*integration, error) {
	var in integration
	if err := c.api.call(ctx, http.MethodGet, "/api/v1/integrations/"+esc(id), nil, &in); err != nil {
		return nil, fmt.Errorf("load integration: %w", err)
	}
	return &in, nil
}
