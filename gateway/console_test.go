package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
)

// Without a session every console page sends the browser to the sign-in
// page; the session cookie is HttpOnly, SameSite=Strict and does not hold
// the admin token; a POST without the form's CSRF token is refused; sign-out
// ends the session.
func TestConsoleSignInGuardsEveryPage(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(`{"name":"guarded","cventEventId":"3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b"}`)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, cookies ...*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.server.URL+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/console", "/console/integrations/" + in.ID, "/console/integrations/" + in.ID + "/deliveries?status=failed",
		"/console/integrations/" + in.ID + "/people?q=x", "/console/deliveries/1", "/console/deliveries/1/body"} {
		resp := get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
			t.Errorf("GET %s without a session: %d → %q, want 303 to the sign-in page", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A forged session cookie is no session either.
	if resp := get("/console", &http.Cookie{Name: "cventsync_console", Value: "99999999999.abc.def"}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", resp.StatusCode)
	}

	// Sign in: the form carries a CSRF token tied to a pre-session cookie.
	signin, err := http.Get(s.server.URL + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(signin.Body)
	signin.Body.Close()
	csrf := hiddenValue(t, string(page), "csrf")
	pre := signin.Cookies()
	post := func(path string, form url.Values, cookies []*http.Cookie) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.server.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := post("/console/signin", url.Values{"csrf": {csrf}, "token": {"wrong"}}, pre); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", resp.StatusCode)
	}
	if resp := post("/console/signin", url.Values{"token": {adminToken}}, pre); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without its CSRF token: %d, want 403", resp.StatusCode)
	}
	resp := post("/console/signin", url.Values{"csrf": {csrf}, "token": {adminToken}}, pre)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "cventsync_console" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || strings.Contains(session.Value, adminToken) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, without the admin token", session)
	}
	if resp := get("/console", session); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /console signed in: %d", resp.StatusCode)
	}
	if csp := get("/console", session).Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	// Every POST needs the session's CSRF token.
	if resp := post("/console/integrations/"+in.ID+"/poll", url.Values{}, []*http.Cookie{session}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without a CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp := post("/console/integrations/"+in.ID+"/poll", url.Values{"csrf": {csrf}}, []*http.Cookie{session}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with the sign-in form's token: %d, want 403", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, s.server.URL+"/console", nil)
	req.AddCookie(session)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	home, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	token := hiddenValue(t, string(home), "csrf")
	if resp := post("/console/signout", url.Values{"csrf": {token}}, []*http.Cookie{session}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if resp := get("/console", session); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the signed-out session still opens the console: %d", resp.StatusCode)
	}
}

func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	i := strings.Index(page, `name="`+name+`" value="`)
	if i < 0 {
		t.Fatalf("no hidden %s in %s", name, page)
	}
	rest := page[i+len(`name="`+name+`" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// The operator's walk, in Chromium: sign in; see the integration's failed
// deliveries (registrations that arrived while its settings were broken);
// find the person; open their failed delivery (body, error, Temporal link);
// fix the settings, replay it and see it processed and the person admitted;
// replay the other failed ones in bulk after a confirmation and watch the
// workflow's progress; preview the mapping; re-sync and watch the progress
// bar reach done; sign out.
func TestConsoleFindReplayAndResyncInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	s := newCventStack(t, simulator.Config{Seed: 61, Attendees: 40}, "")
	bg := context.Background()

	// Break the settings behind the API's back (as a bad migration or a
	// hand edit would): deliveries fail until they are fixed and replayed.
	in, err := s.store.GetIntegration(bg, s.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	good := in.Settings
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(good, &doc); err != nil {
		t.Fatal(err)
	}
	doc["mapping"] = json.RawMessage(`{"fields":42}`)
	broken, _ := json.Marshal(doc)
	if err := s.store.UpdateIntegrationSettings(bg, in.ID, broken); err != nil {
		t.Fatal(err)
	}
	maria := uuid.NewString()
	mariaBody := withEnvelope("InviteeOrGuestAccepted", "console-maria", time.Now(), map[string]any{
		"inviteeStub": maria, "contactStub": "C-" + maria, "email": "maria.console@northwind.example", "firstName": "Maria",
		"lastName": "Console", "inviteeStatus": "Accepted", "company": "Northwind"})
	first := s.post(s.in, s.in.WebhookToken, mariaBody, http.StatusOK)
	var others []int64
	for i := range 3 {
		id := uuid.NewString()
		a := s.post(s.in, s.in.WebhookToken, registration(fmt.Sprintf("console-other-%d", i), id, "Other", time.Now()), http.StatusOK)
		others = append(others, a.DeliveryID)
	}
	for _, id := range append([]int64{first.DeliveryID}, others...) {
		if d := s.waitDelivery(id, 30*time.Second); d.Status != store.DeliveryFailed {
			t.Fatalf("delivery %d is %s, want failed (broken settings)", id, d.Status)
		}
	}

	b := &browse{t: t, ctx: ctx, base: s.server.URL}
	// Nothing without signing in.
	b.open("/console/integrations/"+s.in.ID, "#token")
	if loc := b.location(); !strings.Contains(loc, "/console/signin") {
		t.Fatalf("without a session the console opened %s", loc)
	}
	b.typeInto("#token", adminToken)
	b.submit("#signin", "#h-health") // back where we were going
	if got := b.text("main dl.grid"); !strings.Contains(got, "4 failed") {
		t.Errorf("integration health does not show the 4 failed deliveries:\n%s", got)
	}
	b.open("/console", "table")
	screenshot(t, ctx, "console-integrations.png")

	// Find Maria by invitee id: not in the directory, one failed delivery.
	b.open("/console/integrations/"+s.in.ID, "#q")
	b.typeInto("#q", maria)
	b.submit("#find", "#h-deliveries")
	if got := b.text("table.deliveries"); !strings.Contains(got, "failed") || !strings.Contains(got, "integration settings cannot be read") {
		t.Fatalf("Maria's deliveries:\n%s", got)
	}
	b.submit("table.deliveries a", "#delivery-status")
	if got := b.text("#delivery-error"); !strings.Contains(got, "integration settings cannot be read") {
		t.Errorf("delivery error %q", got)
	}
	if got := b.text("#body"); !strings.Contains(got, `"inviteeStub": "`+maria+`"`) {
		t.Errorf("the body is not shown pretty:\n%s", got)
	}
	if href := b.attr("#workflow-link", "href"); !strings.HasPrefix(href, "http://127.0.0.1:8233/namespaces/default/workflows/ingest") {
		t.Errorf("workflow link %q", href)
	}
	screenshot(t, ctx, "console-delivery.png")

	// Fix the settings, replay, and see it processed.
	if err := s.store.UpdateIntegrationSettings(bg, in.ID, good); err != nil {
		t.Fatal(err)
	}
	b.submit("#replay", "#delivery-status")
	b.until(fmt.Sprintf("/console/deliveries/%d", first.DeliveryID), "#delivery-status", "processed", 30*time.Second)

	// Find her by name now: one match opens her page, with access.
	b.open("/console/integrations/"+s.in.ID+"/people?q="+url.QueryEscape("maria console"), "#h-record")
	if got := b.text("#access"); got != "yes" {
		t.Errorf("Maria's access after the replay: %q", got)
	}
	if got := b.text("table.deliveries"); !strings.Contains(got, "processed") {
		t.Errorf("Maria's deliveries after the replay:\n%s", got)
	}
	screenshot(t, ctx, "console-person.png")

	// The three others: filter the failed ones, replay all after a confirmation.
	b.open("/console/integrations/"+s.in.ID+"/deliveries?status=failed", "#replay-failed")
	if n := strings.Count(b.text("table.deliveries tbody"), "failed"); n < 3 {
		t.Errorf("the failed filter shows %d failed rows, want 3", n)
	}
	screenshot(t, ctx, "console-deliveries.png")
	b.submit("#replay-failed", "#replay-count")
	if got := b.text("#replay-count"); !strings.HasPrefix(got, "3 failed deliveries match") {
		t.Errorf("confirmation: %q", got)
	}
	b.submit("#confirm-replay", "#replay-status")
	loc := strings.TrimPrefix(b.location(), s.server.URL)
	b.until(loc, "#replay-status", "completed", 60*time.Second)
	if got := b.attr("#progress", "value"); got != "3" {
		t.Errorf("bulk replay progress value %q, want 3", got)
	}
	for _, id := range others {
		s.waitFor(fmt.Sprintf("delivery %d processed after the bulk replay", id), 30*time.Second, func() (bool, string) {
			d, err := s.store.GetDelivery(bg, id)
			return err == nil && d.Status == store.DeliveryProcessed, fmt.Sprint(d, err)
		})
	}

	// Mapping preview of a pasted payload.
	b.open("/console/integrations/"+s.in.ID+"/mapping", "#payload")
	b.typeInto("#payload", string(s.sample("invitee_accepted.json")))
	b.submit("#preview", "#preview-result")
	if got := b.text("#preview-result"); !strings.Contains(got, "access") {
		t.Errorf("mapping preview:\n%s", got)
	}

	// The account's Cvent events, past and cancelled ones too, by title or code
	// (GET /events on the simulator, checked against Cvent's OpenAPI spec).
	b.open("/console/integrations/"+s.in.ID+"/events?q=summit", "#events")
	if got := b.text("#events"); !strings.Contains(got, "Northwind Summit 2025") || !strings.Contains(got, "Completed") ||
		!strings.Contains(got, "(this integration)") {
		t.Errorf("events matching summit:\n%s", got)
	}
	b.typeInto("#events-q", "roadshowlis")
	b.submit("#events-find", "#events")
	if got := b.text("#events tbody"); !strings.Contains(got, "Partner Roadshow Lisbon") || !strings.Contains(got, "Cancelled") || strings.Contains(got, "Summit") {
		t.Errorf("events matching the code ROADSHOWLIS:\n%s", got)
	}
	screenshot(t, ctx, "console-events.png")

	// The integrations panel counts those calls against the tier's daily
	// quota (the simulated account is Premium: 500,000 a day).
	usage := "#cvent-usage-" + s.in.ID
	b.until("/console", usage, "of 500,000 today", 30*time.Second)
	shown := regexp.MustCompile(`^([1-9][0-9,]*) of 500,000 today \(<1%\)$`).FindStringSubmatch(b.text(usage))
	if shown == nil {
		t.Fatalf("Cvent calls today %q: want \"N of 500,000 today (<1%%)\" with N > 0", b.text(usage))
	}
	used, _ := strconv.Atoi(strings.ReplaceAll(shown[1], ",", ""))
	received := 0
	for _, n := range s.sim.Calls() {
		received += n
	}
	if used > received {
		t.Errorf("the console shows %d Cvent calls today, the simulator received %d", used, received)
	}

	// A new integration without copying a GUID: list the account's events
	// from the credentials typed in, pick last year's, create.
	b.open("/console", "#new-integration")
	b.submit("#new-integration", "#clientId")
	simID, simSecret := s.sim.Credentials()
	b.typeInto("#name", "Last year")
	b.typeInto("#clientId", simID)
	b.typeInto("#clientSecret", simSecret)
	b.typeInto("#baseUrl", s.simURL+"/ea")
	b.typeInto("#q", "nws2025")
	b.submit("#list-events", "#events")
	if got := b.text("#events tbody"); !strings.Contains(got, "Northwind Summit 2025") || strings.Contains(got, "2026") {
		t.Errorf("events listed for nws2025:\n%s", got)
	}
	screenshot(t, ctx, "console-new-integration.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#events input[type=radio]"))); err != nil {
		t.Fatal(err)
	}
	b.submit("#create", "#created-event")
	if got := b.text("#created-event"); len(got) != 36 || got == strings.ToLower(s.sim.EventID()) {
		t.Errorf("the new integration's event id is %q, want last year's event's GUID", got)
	}

	// Re-sync from Cvent's REST API with a progress bar.
	b.open("/console/integrations/"+s.in.ID, "#resync")
	b.submit("#resync", "#resync-status")
	loc = strings.TrimPrefix(b.location(), s.server.URL)
	b.until(loc, "#resync-status", "done", 90*time.Second)
	if v, m := b.attr("#progress", "value"), b.attr("#progress", "max"); v != m || v == "0" {
		t.Errorf("re-sync progress bar at %s of %s when done", v, m)
	}
	screenshot(t, ctx, "console-resync.png")

	// Sign out: the console is closed again.
	b.submit(".signout button", "#token")
	b.open("/console", "#token")
}
