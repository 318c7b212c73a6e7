package gateway_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/cventsync/cventsync/internal/pns"
	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/workflows"
)

// pnsEnv is a stack with a simulated Supplier Network and a PNS sender.
type pnsEnv struct {
	*stack
	net    *simulator.SupplierNetwork
	sender *simulator.PNSSender
	id     string
	apiKey string
}

type pnsOptions struct {
	flavour string       // "rest" (default) or "legacy"
	apiKey  string       // "" = no key
	tier    string       // "" = no rate limit
	stack   stackOptions // of the gateway and worker
}

func newPNSEnv(t *testing.T, o pnsOptions) *pnsEnv {
	t.Helper()
	st := newStack(t, o.stack)
	sn := simulator.NewSupplierNetwork(simulator.SupplierConfig{Seed: 1, Tier: o.tier})
	srv := httptest.NewServer(sn.Handler())
	t.Cleanup(srv.Close)
	clientID, clientSecret, legacyKey := sn.Credentials()
	pull := map[string]any{"flavour": "rest", "baseUrl": srv.URL + "/ea", "clientId": clientID, "clientSecret": clientSecret, "callsPerSecond": 50, "burst": 50}
	if o.flavour == "legacy" {
		pull = map[string]any{"flavour": "legacy", "baseUrl": srv.URL, "apiKey": legacyKey, "callsPerSecond": 50, "burst": 50}
	}
	body := map[string]any{"kind": "pns", "name": "Grand Hotel", "supplierIds": []string{"S1", "S2"}, "pull": pull}
	if o.apiKey != "" {
		body["apiKey"] = o.apiKey
	}
	b, _ := json.Marshal(body)
	var created struct {
		ID             string `json:"id"`
		Kind           string `json:"kind"`
		WebhookURL     string `json:"webhookUrl"`
		APIKeyRequired bool   `json:"apiKeyRequired"`
	}
	st.admin(http.MethodPost, "/api/v1/integrations", string(b), http.StatusCreated, &created)
	if created.Kind != "pns" || created.APIKeyRequired != (o.apiKey != "") || !strings.HasSuffix(created.WebhookURL, "/webhooks/pns/"+created.ID) {
		t.Fatalf("created %+v", created)
	}
	url := strings.Replace(created.WebhookURL, "http://cventsync.test", st.server.URL, 1)
	sender := &simulator.PNSSender{URL: url, APIKey: o.apiKey, FirstRetry: 100 * time.Millisecond, MaxRetry: time.Second}
	return &pnsEnv{stack: st, net: sn, sender: sender, id: created.ID, apiKey: o.apiKey}
}

type rfpView struct {
	RFPID            string           `json:"rfpId"`
	Name             string           `json:"name"`
	Status           string           `json:"status"`
	SupplierID       string           `json:"supplierId"`
	SupplierStatus   string           `json:"supplierStatus"`
	Awarded          bool             `json:"awarded"`
	Cancelled        bool             `json:"cancelled"`
	Closed           bool             `json:"closed"`
	ResponseDueDate  *time.Time       `json:"responseDueDate"`
	Contact          map[string]any   `json:"contact"`
	Event            map[string]any   `json:"event"`
	DateRequirements []map[string]any `json:"dateRequirements"`
	Pulls            int              `json:"pulls"`
	Pending          bool             `json:"pending"`
	Responses        []struct {
		SupplierID string `json:"supplierId"`
		Status     string `json:"status"`
	} `json:"responses"`
}

type timelineEntry struct {
	Kind, Type, Status string
}

func (e *pnsEnv) rfp(id string) (rfpView, []timelineEntry, int) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.server.URL+"/api/v1/integrations/"+e.id+"/rfps/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RFP      rfpView         `json:"rfp"`
		Timeline []timelineEntry `json:"timeline"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.RFP, out.Timeline, resp.StatusCode
}

// waitRFP waits until the stored RFP satisfies cond.
func (e *pnsEnv) waitRFP(id, what string, timeout time.Duration, cond func(rfpView) bool) rfpView {
	e.t.Helper()
	var v rfpView
	e.waitFor(what, timeout, func() (bool, string) {
		var status int
		v, _, status = e.rfp(id)
		b, _ := json.Marshal(v)
		return status == http.StatusOK && !v.Pending && cond(v), string(b)
	})
	return v
}

// recordRFPHistory records the RFP's workflow history for the replay test
// (CVENTSYNC_RECORD_HISTORIES, see recordHistory) once the workflow waits
// for the next notification.
func (e *pnsEnv) recordRFPHistory(rfpID, name string) {
	e.t.Helper()
	if os.Getenv("CVENTSYNC_RECORD_HISTORIES") == "" {
		return
	}
	c := testenv.TemporalClient(e.t)
	wid := workflows.RFPWorkflowID(e.id, rfpID)
	e.waitFor("the RFP's workflow to wait idle", 30*time.Second, func() (bool, string) {
		it := c.GetWorkflowHistory(context.Background(), wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		last := enumspb.EVENT_TYPE_UNSPECIFIED
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return false, err.Error()
			}
			last = ev.GetEventType()
		}
		return last == enumspb.EVENT_TYPE_TIMER_STARTED, last.String()
	})
	recordHistory(e.t, c, wid, "", name)
}

// storeOnly stores a notification as the gateway does, without handing it
// on: as if the gateway stopped between the two.
func (e *pnsEnv) storeOnly(body []byte) *store.PNSNotification {
	e.t.Helper()
	n, _ := pns.Decode(body)
	row := &store.PNSNotification{IntegrationID: e.id, IdemKey: pns.IdempotencyKey(n, body), EventType: n.Type, RFPID: n.RFPID,
		SupplierID: n.SupplierID, NotifiedAt: sql.NullTime{Time: n.Time, Valid: !n.Time.IsZero()}, Body: body,
		Status: store.PNSReceived, WorkflowID: workflows.RFPWorkflowID(e.id, n.RFPID)}
	if _, err := e.store.InsertPNSNotification(context.Background(), row); err != nil {
		e.t.Fatal(err)
	}
	return row
}

func (e *pnsEnv) act(typ, rfpID, supplierID string) simulator.Notification {
	e.t.Helper()
	n, err := e.net.Act(typ, rfpID, supplierID, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *pnsEnv) changeTypes() []string {
	e.t.Helper()
	cs, err := e.store.ReadChanges(context.Background(), e.id, 0, 1000, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, c.Type)
	}
	return out
}

// RFP_SEND → the RFP appears with its requirements; a proposal, an award
// and its retraction each end in the right state and change.
func TestPNSRFPLifecycle(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{apiKey: "agreed-key"})
	rfp, notes := e.net.SendRFP("Northwind Summit 2027", "S1")
	e.sender.SendInOrder(notes...)
	v := e.waitRFP(rfp.ID, "the RFP with its requirements", 15*time.Second, func(v rfpView) bool { return v.SupplierStatus == "AWAITING_PROPOSAL" })
	if v.Name != "Northwind Summit 2027" || v.Status != "ACTIVE" || v.SupplierID != "S1" || len(v.DateRequirements) != 1 ||
		v.DateRequirements[0]["peakRoomNights"] == nil || v.Contact["email"] != "pat@northwind.example" || v.ResponseDueDate == nil ||
		v.Event["startDate"] == nil {
		t.Fatalf("RFP as stored: %+v", v)
	}

	e.sender.SendInOrder(e.act("RESPONSE_SUBMIT_PROPOSAL", rfp.ID, "S1"))
	e.waitRFP(rfp.ID, "the proposal", 15*time.Second, func(v rfpView) bool { return v.SupplierStatus == "SUBMITTED_PROPOSAL" })
	e.sender.SendInOrder(e.act("PLANNER_AWARD_SUPPLIER", rfp.ID, "S1"))
	v = e.waitRFP(rfp.ID, "the award", 15*time.Second, func(v rfpView) bool { return v.Awarded })
	if v.Status != "AWARDED" || v.SupplierStatus != "AWARDED" || v.Closed {
		t.Fatalf("awarded RFP: %+v", v)
	}
	e.sender.SendInOrder(e.act("PLANNER_RETRACT_AWARD_SUPPLIER", rfp.ID, "S1"))
	v = e.waitRFP(rfp.ID, "the retraction", 15*time.Second, func(v rfpView) bool { return !v.Awarded })
	if v.Status != "ACTIVE" || v.SupplierStatus != "SUBMITTED_PROPOSAL" {
		t.Fatalf("retracted RFP: %+v", v)
	}
	want := []string{"rfp.received", "rfp.updated", "rfp.awarded", "rfp.award_retracted"}
	if got := e.changeTypes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("change log %v, want %v", got, want)
	}
	// The platform's feed filters by rfp.* types, and the record is the state.
	var feed struct {
		Changes []struct {
			Type, Key string
			Record    rfpView
		}
	}
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/changes?types=rfp.awarded", "", http.StatusOK, &feed)
	if len(feed.Changes) != 1 || feed.Changes[0].Key != "rfp:"+rfp.ID || !feed.Changes[0].Record.Awarded {
		t.Fatalf("feed of rfp.awarded: %+v", feed.Changes)
	}
	_, timeline, _ := e.rfp(rfp.ID)
	var notifications, pulls int
	for _, te := range timeline {
		switch te.Kind {
		case "notification":
			notifications++
			if te.Status != store.PNSProcessed {
				t.Errorf("notification %+v not processed", te)
			}
		case "pull":
			pulls++
		}
	}
	if notifications != 4 || pulls != 4 {
		t.Fatalf("timeline has %d notifications and %d pulls, want 4 and 4: %+v", notifications, pulls, timeline)
	}

	// The list and its filters.
	var list struct{ RFPs []rfpView }
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/rfps?status=SUBMITTED_PROPOSAL", "", http.StatusOK, &list)
	if len(list.RFPs) != 1 || list.RFPs[0].RFPID != rfp.ID {
		t.Fatalf("status filter: %+v", list.RFPs)
	}
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/rfps?status=AWARDED", "", http.StatusOK, &list)
	if len(list.RFPs) != 0 {
		t.Fatalf("AWARDED filter: %+v", list.RFPs)
	}
	due := v.ResponseDueDate
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/rfps?dueBefore="+due.Add(time.Second).Format(time.RFC3339), "", http.StatusOK, &list)
	if len(list.RFPs) != 1 {
		t.Fatalf("dueBefore after the due date: %+v", list.RFPs)
	}
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/rfps?dueBefore="+due.Format(time.RFC3339), "", http.StatusOK, &list)
	if len(list.RFPs) != 0 {
		t.Fatalf("dueBefore the due date: %+v", list.RFPs)
	}
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/rfps?updatedAfter="+time.Now().Add(time.Minute).Format(time.RFC3339), "", http.StatusOK, &list)
	if len(list.RFPs) != 0 {
		t.Fatalf("updatedAfter the future: %+v", list.RFPs)
	}
	e.admin(http.MethodGet, "/api/v1/integrations/"+e.id+"/rfps?dueBefore=soon", "", http.StatusBadRequest, nil)

	// Refresh pulls again.
	e.admin(http.MethodPost, "/api/v1/integrations/"+e.id+"/rfps/"+rfp.ID+"/refresh", "", http.StatusAccepted, nil)
	e.waitRFP(rfp.ID, "a refresh pull", 15*time.Second, func(x rfpView) bool { return x.Pulls == v.Pulls+1 })
	e.recordRFPHistory(rfp.ID, "rfp")
}

// Duplicates and out-of-order notifications: each notification is stored
// once, the state is Cvent's latest, and the pulls stay few (legacy API).
func TestPNSDuplicatesAndOutOfOrder(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{flavour: "legacy"})
	rfp, notes := e.net.SendRFP("Offsite", "S2")
	notes = append(notes, e.act("RESPONSE_CONFIRM_RECEIPT", rfp.ID, "S2"), e.act("RESPONSE_SUBMIT_PROPOSAL", rfp.ID, "S2"),
		e.act("PLANNER_AWARD_SUPPLIER", rfp.ID, "S2"))
	e.sender.Duplicates, e.sender.Shuffle, e.sender.Seed = 2, true, 3
	e.sender.Send(notes...)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := e.sender.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	v := e.waitRFP(rfp.ID, "the award", 15*time.Second, func(v rfpView) bool { return v.Awarded })
	if v.SupplierID != "S2" || v.Status != "AWARDED" {
		t.Fatalf("RFP: %+v", v)
	}
	// One more duplicate, after everything settled: no second effect.
	status, body := e.sender.PostOnce(notes[2].Body())
	if status != http.StatusOK || !strings.Contains(string(body), `"duplicate"`) {
		t.Fatalf("late duplicate: %d %s", status, body)
	}
	e.waitFor("4 notifications stored, each answered by a pull", 10*time.Second, func() (bool, string) {
		counts, err := e.store.CountPNSNotifications(context.Background(), e.id)
		if err != nil {
			return false, err.Error()
		}
		b, _ := json.Marshal(counts)
		return counts[store.PNSProcessed] == 4 && len(counts) == 1, string(b)
	})
	v, _, _ = e.rfp(rfp.ID)
	attempts, delivered, _ := e.sender.Stats()
	if delivered != 12 || attempts != 12 {
		t.Fatalf("sender: %d attempts, %d delivered; want 12 and 12", attempts, delivered)
	}
	if v.Pulls > 2 {
		t.Errorf("%d pulls for one burst", v.Pulls)
	}
	// Every pull sees Cvent's latest state, whatever order the
	// notifications came in: the first already saw the award.
	if got := e.changeTypes(); len(got) != 1 || got[0] != "rfp.received" {
		t.Errorf("change log %v", got)
	}
}

// A legacy pull asks about every supplier the RFP's notifications named,
// also one whose notice never reached the workflow (the gateway's signals
// coalesce notifications and name one supplier; here S1's was never sent).
func TestPNSLegacyPullAsksEverySupplierNotified(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{flavour: "legacy"})
	rfp, notes := e.net.SendRFP("Two hotels", "S1", "S2")
	var toS1, toS2 []byte
	for _, n := range notes {
		d, _ := pns.Decode(n.Body())
		switch d.SupplierID {
		case "S1":
			toS1 = n.Body()
		case "S2":
			toS2 = n.Body()
		}
	}
	if toS1 == nil || toS2 == nil {
		t.Fatalf("the simulator did not notify both suppliers: %d notifications", len(notes))
	}
	e.storeOnly(toS1)
	if status, body := e.sender.PostOnce(toS2); status != http.StatusOK {
		t.Fatalf("S2's notification: %d %s", status, body)
	}
	v := e.waitRFP(rfp.ID, "the RFP", 15*time.Second, func(v rfpView) bool { return v.Pulls >= 1 })
	var got []string
	for _, r := range v.Responses {
		got = append(got, r.SupplierID)
	}
	if len(got) != 2 {
		t.Fatalf("responses of %v after a pull signalled for S2 only, want S1's and S2's", got)
	}
}

// With a key configured, a wrong or missing key is 401 and nothing is
// stored; without one, no header is expected (and any is ignored).
func TestPNSAPIKey(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{apiKey: "agreed-key"})
	_, notes := e.net.SendRFP("Gala", "S1")
	for _, auth := range []string{"", "api_key wrong", "Bearer agreed-key", "agreed-key", "api_key"} {
		req, _ := http.NewRequest(http.MethodPost, e.sender.URL, strings.NewReader(string(notes[0].Body())))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		e.do(req, http.StatusUnauthorized, nil)
	}
	counts, _ := e.store.CountPNSNotifications(context.Background(), e.id)
	if len(counts) != 0 {
		t.Fatalf("stored after 401s: %v", counts)
	}
	if status, body := e.sender.PostOnce(notes[0].Body()); status != http.StatusOK {
		t.Fatalf("right key: %d %s", status, body)
	}
	req, _ := http.NewRequest(http.MethodPost, e.sender.URL+"/any/sub/path", strings.NewReader(string(notes[0].Body())))
	req.Header.Set("Authorization", "API_KEY agreed-key")
	e.do(req, http.StatusOK, nil)

	open := newPNSEnv(t, pnsOptions{})
	_, notes = open.net.SendRFP("Gala", "S1")
	for _, auth := range []string{"", "api_key whatever"} {
		req, _ := http.NewRequest(http.MethodPost, open.sender.URL, strings.NewReader(string(notes[0].Body())))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		e.do(req, http.StatusOK, nil)
	}
	req, _ = http.NewRequest(http.MethodPost, strings.Replace(open.sender.URL, open.id, "no-such-integration", 1), strings.NewReader("{}"))
	e.do(req, http.StatusNotFound, nil)
}

// Notifications cventsync does not act on are stored and acknowledged.
func TestPNSUnknownAndUnreadableNotificationsAreStoredAndAcknowledged(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{})
	for _, body := range []string{`{"eventType":"VENUE_VISIBILITY_CHANGED","venueId":"S1","active":false}`,
		`{"eventType":"SOMETHING_NEW","rfpId":"R1"}`, `{"eventType":"RFP_SEND"}`, `not json at all`} {
		status, answer := e.sender.PostOnce([]byte(body))
		if status != http.StatusOK || !strings.Contains(string(answer), `"ignored"`) {
			t.Fatalf("%s: %d %s", body, status, answer)
		}
	}
	counts, _ := e.store.CountPNSNotifications(context.Background(), e.id)
	if counts[store.PNSIgnored] != 4 {
		t.Fatalf("stored: %v", counts)
	}
}

// The pull API fails for a while: notifications are stored and
// acknowledged at once, and the state catches up when it recovers.
func TestPNSPullAPIDownThenCatchesUp(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{})
	rfp, notes := e.net.SendRFP("Conference", "S1")
	e.net.SetFaults(simulator.SupplierFaults{DownUntil: time.Now().Add(8 * time.Second)})
	notes = append(notes, e.act("RESPONSE_SUBMIT_PROPOSAL", rfp.ID, "S1"))
	start := time.Now()
	e.sender.SendInOrder(notes...)
	if attempts, delivered, _ := e.sender.Stats(); attempts != 2 || delivered != 2 || time.Since(start) > 2*time.Second {
		t.Fatalf("while the pull API is down: %d attempts, %d delivered in %v", attempts, delivered, time.Since(start))
	}
	time.Sleep(3 * time.Second)
	if _, _, status := e.rfp(rfp.ID); status != http.StatusOK {
		t.Fatalf("notified RFP answers %d while not yet pulled", status)
	}
	if v, _, _ := e.rfp(rfp.ID); !v.Pending {
		t.Fatalf("RFP pulled while the API is down: %+v", v)
	}
	v := e.waitRFP(rfp.ID, "the state to catch up", 40*time.Second, func(v rfpView) bool { return v.SupplierStatus == "SUBMITTED_PROPOSAL" })
	if time.Now().Before(start.Add(8 * time.Second)) {
		t.Fatal("pulled before the API recovered")
	}
	if v.Pulls > 2 {
		t.Errorf("%d pulls", v.Pulls)
	}
	e.recordRFPHistory(rfp.ID, "rfp-pull-api-down")
}

// A worker stopped while a pull is in flight: the new worker's retry
// completes it.
func TestPNSWorkerRestartDuringPull(t *testing.T) {
	e := newPNSEnv(t, pnsOptions{})
	rfp, notes := e.net.SendRFP("Retreat", "S1")
	e.net.SetFaults(simulator.SupplierFaults{Latency: 4 * time.Second})
	e.sender.SendInOrder(notes...)
	e.waitFor("a pull in flight", 10*time.Second, func() (bool, string) {
		n, _ := e.net.InFlight()
		return n > 0, "none in flight"
	})
	e.stopWorker()
	if n, _ := e.net.InFlight(); n == 0 {
		t.Fatal("the pull was not in flight when the worker stopped")
	}
	if _, err := e.store.GetRFP(context.Background(), e.id, rfp.ID); err == nil {
		t.Fatal("RFP stored before the pull finished")
	}
	e.net.SetFaults(simulator.SupplierFaults{})
	e.startWorker()
	e.waitRFP(rfp.ID, "the RFP after the restart", 40*time.Second, func(v rfpView) bool { return v.SupplierStatus == "AWAITING_PROPOSAL" })
}

// Creating a pns integration checks its fields; a Cvent event integration
// is still the default kind.
func TestPNSIntegrationValidation(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	for _, body := range []string{
		`{"kind":"pns","name":"H"}`,
		`{"kind":"pns","name":"H","supplierIds":["S"],"pull":{"flavour":"rest"}}`,
		`{"kind":"pns","name":"H","supplierIds":["S"],"pull":{"flavour":"legacy"}}`,
		`{"kind":"pns","name":"H","supplierIds":["S"],"pull":{"flavour":"soap","apiKey":"k"}}`,
		`{"kind":"pns","name":"H","supplierIds":["S"],"pull":{"flavour":"legacy","apiKey":"k","extra":1}}`,
		`{"kind":"pns","name":"H","supplierIds":["S"],"pull":{"flavour":"legacy","apiKey":"k"},"cventEventId":"x"}`,
		`{"kind":"other","name":"H"}`,
	} {
		s.admin(http.MethodPost, "/api/v1/integrations", body, http.StatusBadRequest, nil)
	}
	s.createIntegration(`{"name":"Event","cventEventId":"E1"}`)
	s.createIntegration(`{"kind":"cvent","name":"Event","cventEventId":"E2"}`)
}
