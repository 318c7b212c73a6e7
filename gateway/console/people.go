package console

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
)

// maxNameScan bounds a search by name: the admin API finds attendees by
// e-mail and invitee id; a name is matched here over the first attendees.
const maxNameScan = 50000

// peoplePage finds people by name, e-mail or invitee id.
func (c *Console) peoplePage(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	q := strings.TrimSpace(v.r.URL.Query().Get("q"))
	var found []attendee
	partial := false
	if q != "" {
		found, partial, err = c.findPeople(ctx, in.ID, q)
		if err != nil {
			c.fail(v, "find people", err)
			return
		}
		// One match, or an invitee id the directory lacks (a registration
		// that failed before it was stored): their page, with deliveries.
		if len(found) == 0 && looksLikeID(q) {
			redirect(v, "/console/integrations/"+esc(in.ID)+"/people/"+esc(q))
			return
		}
		if len(found) == 1 {
			redirect(v, "/console/integrations/"+esc(in.ID)+"/people/"+esc(found[0].InviteeID))
			return
		}
	}
	c.render(v, "people", http.StatusOK, page{Title: "People", Integration: in, Data: struct {
		Q       string
		Found   []attendee
		Partial bool
	}{q, found, partial}})
}

func (c *Console) findPeople(ctx context.Context, integrationID, q string) ([]attendee, bool, error) {
	base := "/api/v1/integrations/" + esc(integrationID) + "/attendees"
	var out struct{ Attendees []attendee }
	if strings.Contains(q, "@") {
		err := c.api.call(ctx, http.MethodGet, base+"?email="+urlQueryEscape(q), nil, &out)
		return out.Attendees, false, err
	}
	var one attendee
	err := c.api.call(ctx, http.MethodGet, base+"/"+esc(q), nil, &one)
	if err == nil {
		return []attendee{one}, false, nil
	}
	var ae *apiError
	if !errors.As(err, &ae) || (ae.Status != http.StatusNotFound && ae.Status != http.StatusBadRequest) {
		return nil, false, err
	}
	// By name: every word must be in the name.
	words := strings.Fields(strings.ToLower(q))
	var found []attendee
	after := ""
	for seen := 0; seen < maxNameScan; {
		path := base + "?limit=5000"
		if after != "" {
			path += "&after=" + urlQueryEscape(after)
		}
		out.Attendees = nil
		if err := c.api.call(ctx, http.MethodGet, path, nil, &out); err != nil {
			return nil, false, err
		}
		for _, a := range out.Attendees {
			name := strings.ToLower(a.FirstName + " " + a.LastName + " " + a.Email)
			all := true
			for _, w := range words {
				all = all && strings.Contains(name, w)
			}
			if all && len(found) < 200 {
				found = append(found, a)
			}
		}
		seen += len(out.Attendees)
		if len(out.Attendees) < 5000 {
			return found, false, nil
		}
		after = out.Attendees[len(out.Attendees)-1].InviteeID
	}
	return found, true, nil
}

// personPage is one person: record, access and groups, agenda,
// participation and every delivery that named them.
func (c *Console) personPage(v *view) {
	ctx := v.r.Context()
	in, err := c.integration(ctx, v.r.PathValue("id"))
	if err != nil {
		c.fail(v, "integration", err)
		return
	}
	invitee := v.r.PathValue("invitee")
	base := "/api/v1/integrations/" + esc(in.ID)
	var a attendee
	var ag agenda
	recordErr := ""
	if err := c.api.call(ctx, http.MethodGet, base+"/attendees/"+esc(invitee), nil, &a); err != nil {
		// A registration that failed before it was ever stored still has deliveries.
		recordErr = err.Error()
	} else if err := c.api.call(ctx, http.MethodGet, base+"/attendees/"+esc(invitee)+"/agenda", nil, &ag); err != nil {
		recordErr = "agenda: " + err.Error()
	}
	var ds struct{ Deliveries []delivery }
	if err := c.api.call(ctx, http.MethodGet, base+"/deliveries?limit=200&inviteeId="+urlQueryEscape(invitee), nil, &ds); err != nil {
		c.fail(v, "deliveries", err)
		return
	}
	title := strings.TrimSpace(a.FirstName + " " + a.LastName)
	if title == "" {
		title = invitee
	}
	c.render(v, "person", http.StatusOK, page{Title: title, Integration: in, Data: struct {
		InviteeID   string
		Attendee    *attendee
		RecordError string
		Agenda      agenda
		Deliveries  []delivery
	}{invitee, ptrIf(&a, recordErr == "" || a.InviteeID != ""), recordErr, ag, ds.Deliveries}})
}

// looksLikeID reports whether q is a Cvent id (a GUID).
func looksLikeID(q string) bool {
	return idPattern.MatchString(q)
}

var idPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func ptrIf[T any](p *T, ok bool) *T {
	if !ok {
		return nil
	}
	return p
}
