package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/cventsync/cventsync/internal/store"
)

// The suite runs short by default (in `make test`: smaller counts and a
// 15 s Temporal outage, under 3 minutes in all) and at full size with
// CVENTSYNC_CHAOS=full (`make chaos`).
type scale struct {
	Full bool
	// Outage is how long Temporal stays down under the live stream.
	Outage time.Duration
	// StreamRate is the live streams' webhooks per second.
	StreamRate int
	// SyncSize is the manual sync a worker is killed in.
	SyncSize int
	// PGSyncSize is the manual sync being applied when PostgreSQL restarts.
	PGSyncSize int
	// Burst is the webhooks of the burst a gateway is killed in.
	Burst int
	// CventAttendees is the simulated event's size; Logins the check-ins
	// written back under each Cvent fault.
	CventAttendees int
	Logins         int
	// LateAnswer is how late Cvent answers a check-in it acted on. At full
	// size it is past the Cvent client's 60 s timeout: the call's outcome
	// is unknown and the retry must settle it from Cvent's state.
	LateAnswer time.Duration
	// Latency is added to every Cvent answer in the slow-answers fault.
	Latency time.Duration
}

func chaosScale() scale {
	if os.Getenv("CVENTSYNC_CHAOS") == "full" {
		return scale{Full: true, Outage: 60 * time.Second, StreamRate: 50, SyncSize: 10000, PGSyncSize: 10000, Burst: 5000,
			CventAttendees: 3500, Logins: 500, LateAnswer: 70 * time.Second, Latency: 2 * time.Second}
	}
	return scale{Outage: 15 * time.Second, StreamRate: 30, SyncSize: 10000, PGSyncSize: 3000, Burst: 800,
		CventAttendees: 1000, Logins: 300, LateAnswer: 3 * time.Second, Latency: 500 * time.Millisecond}
}

var binary string

var shared struct {
	once sync.Once
	topo *Topology
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cventsync-chaos-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cventsync")
	root, _ := filepath.Abs("../..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/cventsync")
	build.Dir = root
	began := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build cventsync: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	built := time.Since(began)
	code := m.Run()
	printSummary(os.Stdout)
	if shared.topo != nil {
		began := time.Now()
		shared.topo.Stop(code != 0)
		fmt.Printf("chaos: cventsync built in %v; topology stopped in %v\n", built.Round(time.Second), time.Since(began).Round(time.Second))
		if code != 0 {
			fmt.Printf("chaos: logs of the failed run are in %s/logs (removed by the next run)\n", shared.topo.Dir)
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// topology starts the suite's topology once per test binary: two gateways
// and two workers (restarted when a scenario killed one), PostgreSQL and
// Temporal.
func topology(t *testing.T) *Topology {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		began := time.Now()
		shared.topo, shared.err = StartTopology(ctx, TopologyOptions{Binary: binary, Gateways: 2, Workers: 2})
		t.Logf("topology up in %v", time.Since(began).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatalf("start the topology: %v", shared.err)
	}
	if err := shared.topo.Ensure(context.Background(), 2, 2); err != nil {
		t.Fatalf("restore two gateways and two workers: %v", err)
	}
	return shared.topo
}

type harness struct {
	t     *testing.T
	topo  *Topology
	c     *Cluster
	store *store.Store
	sc    scale
	began time.Time
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	topo := topology(t)
	h := &harness{t: t, topo: topo, c: topo.Cluster, store: topo.Store, sc: chaosScale(), began: time.Now()}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		h.c.mu.Lock()
		procs := append(append([]*Process{}, h.c.Gateways...), h.c.Workers...)
		h.c.mu.Unlock()
		for _, p := range procs {
			t.Logf("%s (pid %d, alive %v):\n%s", p.Name, p.Pid(), p.Alive(), p.LogTail(3000))
		}
	})
	return h
}

// report prints the scenario's report, keeps it for the summary and fails
// the test on any loss, double effect or missing proof.
func (h *harness) report(r *Report) {
	h.t.Helper()
	if r.Took == 0 {
		r.Took = time.Since(h.began)
	}
	keepReport(r)
	h.t.Log("\n" + r.String())
	for _, f := range r.Failures() {
		h.t.Errorf("%s: %s", r.Scenario, f)
	}
}

// gateways are the two running gateways.
func (h *harness) gateways() (*Process, *Process) {
	gws := h.c.Alive("gateway")
	if len(gws) < 2 {
		h.t.Fatalf("%d gateways running, want 2", len(gws))
	}
	return gws[0], gws[1]
}

type integration struct {
	ID           string `json:"id"`
	WebhookToken string `json:"webhookToken"`
	PlatformKey  string `json:"platformKey"`
}

// createIntegration creates an integration; sections are added to the
// body's settings (`,"participation":{...}`).
func (h *harness) createIntegration(gw *Process, cventEventID, sections string) integration {
	h.t.Helper()
	if cventEventID == "" {
		cventEventID = "3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B"
	}
	body := fmt.Sprintf(`{"name":"Chaos Summit","cventEventId":%q,"environment":"sandbox","region":"na"%s}`, cventEventID, sections)
	var in integration
	h.admin(gw, http.MethodPost, "/api/v1/integrations", body, http.StatusCreated, &in)
	if in.ID == "" {
		h.t.Fatalf("create integration: no id")
	}
	return in
}

// admin calls the admin API and decodes the answer into out.
func (h *harness) admin(gw *Process, method, path, body string, want int, out any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, gw.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+h.c.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.HTTP.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want && !(want == http.StatusCreated && resp.StatusCode == http.StatusOK) {
		h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// post sends a webhook; it reports the status, or 0 when no answer came.
func (h *harness) post(gw *Process, in integration, body []byte) int {
	return h.postReader(gw, in, bytes.NewReader(body), int64(len(body)))
}

// postReader sends a webhook body of the given length from r.
func (h *harness) postReader(gw *Process, in integration, r io.Reader, length int64) int {
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/webhooks/cvent/"+in.ID, r)
	req.ContentLength = length
	req.Header.Set("Authorization", in.WebhookToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.HTTP.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitFor polls cond until it holds or the timeout passes.
func (h *harness) waitFor(what string, timeout time.Duration, cond func() (bool, string)) {
	h.t.Helper()
	if !h.poll(timeout, cond) {
		_, last := cond()
		h.t.Fatalf("timed out after %v waiting for %s; last saw: %s", timeout, what, last)
	}
}

// poll is waitFor that reports instead of failing.
func (h *harness) poll(timeout time.Duration, cond func() (bool, string)) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok, _ := cond(); ok {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	ok, _ := cond()
	return ok
}

// pendingActivity is an activity Temporal has running or waiting to run.
type pendingActivity struct {
	Type     string
	Attempt  int32
	Worker   *Process // the worker running it, when it runs
	Identity string
	Running  bool
	// LastFailure is the last attempt's failure, NextAttempt when the next
	// one is scheduled.
	LastFailure     string
	LastFailureType string
	NextAttempt     time.Time
}

// pendingActivities describes a workflow's pending activities.
func (h *harness) pendingActivities(workflowID string) []pendingActivity {
	c, err := h.topo.Client()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil
	}
	var out []pendingActivity
	for _, pa := range desc.GetPendingActivities() {
		a := pendingActivity{Type: pa.GetActivityType().GetName(), Attempt: pa.GetAttempt(), Identity: pa.GetLastWorkerIdentity(),
			Running: pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED}
		if a.Running {
			a.Worker = h.c.WorkerByIdentity(a.Identity)
		}
		if f := pa.GetLastFailure(); f != nil {
			a.LastFailure = f.GetMessage()
			if info := f.GetApplicationFailureInfo(); info != nil {
				a.LastFailureType = info.GetType()
			}
		}
		if ts := pa.GetScheduledTime(); ts != nil {
			a.NextAttempt = ts.AsTime()
		}
		out = append(out, a)
	}
	return out
}

// runningActivity is the workflow's activity running on one of our
// workers right now, if any.
func (h *harness) runningActivity(workflowID string) *pendingActivity {
	for _, a := range h.pendingActivities(workflowID) {
		if a.Running && a.Worker != nil {
			return &a
		}
	}
	return nil
}

// activityStarts lists, from a workflow's history, who started each
// activity attempt that reached the history: identity and attempt of
// every ActivityTaskStarted event of the given type.
func (h *harness) activityStarts(workflowID, activityType string) []string {
	c, err := h.topo.Client()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	types := map[int64]string{}
	var out []string
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			break
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && types[a.GetScheduledEventId()] == activityType {
			who := a.GetIdentity()
			if w := h.c.WorkerByIdentity(who); w != nil {
				who = fmt.Sprintf("%s (pid %d)", w.Name, w.Pid())
			}
			out = append(out, fmt.Sprintf("attempt %d on %s", a.GetAttempt(), who))
		}
	}
	return out
}

// resetActivity is `temporal activity reset`: the activity runs again now,
// as a fresh attempt, instead of at its scheduled retry.
func (h *harness) resetActivity(workflowID, activityType string) {
	h.t.Helper()
	c, err := h.topo.Client()
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.WorkflowService().ResetActivity(ctx, &workflowservice.ResetActivityRequest{
		Namespace: "default", Execution: workflowExecution(workflowID), Identity: "chaos-test",
		Activity: &workflowservice.ResetActivityRequest_Type{Type: activityType},
	})
	if err != nil {
		h.t.Fatalf("reset activity %s of %s: %v", activityType, workflowID, err)
	}
}

func workflowExecution(id string) *commonpb.WorkflowExecution {
	return &commonpb.WorkflowExecution{WorkflowId: id}
}

// message is one webhook as Cvent sends it: again until it gets a 2xx.
type message struct {
	in       integration
	stub     string
	invitees []string // lower case
	body     []byte
	large    bool

	attempts, noAnswer, refused int
	acked                       bool
}

// sender posts messages and keeps, per message, what came of each try.
type sender struct {
	h  *harness
	mu sync.Mutex
	// msgs in the order they were made.
	msgs []*message
}

func (h *harness) newSender() *sender { return &sender{h: h} }

// registration makes a one-attendee InviteeOrGuestAccepted message.
func (s *sender) registration(in integration) *message {
	stub := "chaos-" + uuid.NewString()
	invitee := uuid.NewString()
	b, _ := json.Marshal(map[string]any{"eventType": "InviteeOrGuestAccepted", "messageStub": stub,
		"messageTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"message":     []map[string]any{{"inviteeStub": invitee, "email": invitee + "@example.com", "firstName": "Pat", "inviteeStatus": "Accepted"}}})
	return s.add(&message{in: in, stub: stub, invitees: []string{invitee}, body: b})
}

// manualSync makes an AttendeeManualSynced message of n new attendees.
func (s *sender) manualSync(in integration, n int) *message { return s.manualSyncPadded(in, n, 0) }

// manualSyncPadded is manualSync with an internal note of pad bytes on each
// item, for a body large enough to be streamed.
func (s *sender) manualSyncPadded(in integration, n, pad int) *message {
	stub := "chaos-sync-" + uuid.NewString()
	items := make([]map[string]any, n)
	invitees := make([]string, n)
	for i := range items {
		invitees[i] = uuid.NewString()
		items[i] = map[string]any{"inviteeStub": invitees[i], "email": fmt.Sprintf("s%d-%s@example.com", i, stub), "firstName": "Sam", "inviteeStatus": "Accepted"}
		if pad > 0 {
			items[i]["internalNote"] = strings.Repeat("n", pad)
		}
	}
	b, _ := json.Marshal(map[string]any{"eventType": "AttendeeManualSynced", "messageStub": stub,
		"messageTime": time.Now().UTC().Format(time.RFC3339), "message": items})
	return s.add(&message{in: in, stub: stub, invitees: invitees, body: b, large: true})
}

func (s *sender) add(m *message) *message {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return m
}

// deliver makes one try of m at gw and records the outcome.
func (s *sender) deliver(gw *Process, m *message) int {
	status := s.h.post(gw, m.in, m.body)
	s.record(m, status)
	return status
}

func (s *sender) record(m *message, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.attempts++
	switch {
	case status == 0:
		m.noAnswer++
	case status/100 == 2:
		m.acked = true
	default:
		m.refused++
	}
}

// counts are the sender's totals: messages sent, acknowledged, and tries
// that got no answer or a non-2xx.
func (s *sender) counts() (sent, acked, noAnswer, refused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		sent++
		if m.acked {
			acked++
		}
		noAnswer += m.noAnswer
		refused += m.refused
	}
	return
}

// resendUnacked posts every message that got no 2xx again, round robin
// over the running gateways, until each is acknowledged or the timeout
// passes: what Cvent does with a delivery it got no 2xx for.
func (s *sender) resendUnacked(timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	resent := 0
	for {
		s.mu.Lock()
		var todo []*message
		for _, m := range s.msgs {
			if !m.acked {
				todo = append(todo, m)
			}
		}
		s.mu.Unlock()
		if len(todo) == 0 || time.Now().After(deadline) {
			return resent
		}
		gws := s.h.c.Alive("gateway")
		for i, m := range todo {
			s.deliver(gws[i%len(gws)], m)
			resent++
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stream is a live stream of registrations, at a steady rate, spread over
// the running gateways; it does not wait for one answer to send the next.
type stream struct {
	s       *sender
	mu      sync.Mutex
	targets []integration
	stop    chan struct{}
	done    chan struct{}
	sent    atomic.Int64
}

func (s *sender) startStream(rate int, targets ...integration) *stream {
	st := &stream{s: s, targets: targets, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		var inflight sync.WaitGroup
		defer inflight.Wait()
		sem := make(chan struct{}, 64)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-st.stop:
				return
			case <-tick.C:
			}
			st.mu.Lock()
			in := st.targets[i%len(st.targets)]
			st.mu.Unlock()
			gws := s.h.c.Alive("gateway")
			if len(gws) == 0 {
				continue
			}
			m := s.registration(in)
			gw := gws[i%len(gws)]
			select {
			case sem <- struct{}{}:
			default:
				// Every sender slot waits on an answer: the message is
				// not sent now, and goes out with the resends.
				continue
			}
			st.sent.Add(1)
			inflight.Add(1)
			go func() {
				defer func() { <-sem; inflight.Done() }()
				s.deliver(gw, m)
			}()
		}
	}()
	return st
}

// add sends to one more integration from now on.
func (st *stream) add(in integration) {
	st.mu.Lock()
	st.targets = append(st.targets, in)
	st.mu.Unlock()
}

// Stop ends the stream once every message sent has its answer.
func (st *stream) Stop() {
	close(st.stop)
	<-st.done
}

// deliveryState is what the database holds for messages.
type deliveryState struct {
	processed, waiting, failed, missing, twice int
}

// deliveries reads the state of the sender's acknowledged messages.
func (s *sender) deliveries() (deliveryState, map[string]store.Delivery) {
	s.mu.Lock()
	stubs := []string{}
	ins := map[string]bool{}
	for _, m := range s.msgs {
		if m.acked {
			stubs = append(stubs, m.stub)
			ins[m.in.ID] = true
		}
	}
	s.mu.Unlock()
	ids := make([]string, 0, len(ins))
	for id := range ins {
		ids = append(ids, id)
	}
	var rows []struct {
		Stub       string `db:"message_stub"`
		Status     string `db:"status"`
		ApplyCount int    `db:"apply_count"`
		Applied    int    `db:"applied_items"`
	}
	var st deliveryState
	if err := s.h.store.DB().Select(&rows, `SELECT message_stub, status, apply_count, applied_items FROM deliveries
		WHERE integration_id = ANY($1) AND message_stub = ANY($2)`, pq.StringArray(ids), pq.StringArray(stubs)); err != nil {
		st.missing = len(stubs)
		return st, nil
	}
	byStub := make(map[string]store.Delivery, len(rows))
	for _, r := range rows {
		byStub[r.Stub] = store.Delivery{Status: r.Status, ApplyCount: r.ApplyCount, AppliedItems: r.Applied}
		switch r.Status {
		case store.DeliveryProcessed:
			st.processed++
		case store.DeliveryReceived:
			st.waiting++
		default:
			st.failed++
		}
		if r.ApplyCount > 1 {
			st.twice++
		}
	}
	st.missing = len(stubs) - len(rows)
	return st, byStub
}

// outcome is what became of a sender's messages, counted in webhooks and
// in the attendees they carry.
type outcome struct {
	Sent, Acked, Applied, Lost, Twice int
	// Attendees carried by acknowledged messages: with access at the end,
	// without, and with more than one change log entry.
	Attendees, AttendeesApplied, AttendeesLost, AttendeesTwice int
}

// inWebhooks puts the outcome in the report counted in webhooks.
func (o outcome) inWebhooks(r *Report) {
	r.Sent, r.Acked, r.Applied, r.Lost, r.Twice = o.Sent, o.Acked, o.Applied, o.Lost, o.Twice
	r.Notes = append(r.Notes, fmt.Sprintf("attendees: %d acknowledged, %d with access, %d with more than one change log entry",
		o.Attendees, o.AttendeesApplied, o.AttendeesTwice))
}

// inAttendees puts the outcome in the report counted in attendees.
func (o outcome) inAttendees(r *Report) {
	r.Sent, r.Acked, r.Applied, r.Lost, r.Twice = o.Attendees, o.Attendees, o.AttendeesApplied, o.AttendeesLost, o.AttendeesTwice
	if o.Acked < o.Sent {
		r.Sent += 1 // a webhook never acknowledged shows as unacknowledged
	}
	r.Notes = append(r.Notes, fmt.Sprintf("webhooks: %d sent, %d acknowledged, %d applied, %d applied twice", o.Sent, o.Acked, o.Applied, o.Twice))
}

// settle waits until every acknowledged message is processed (or the
// timeout passes), then counts from the database: a message is applied
// when its delivery is processed and each of its attendees has access;
// lost when acknowledged and not applied; twice when its delivery was
// applied more than once or one of its attendees has more than one change
// log entry (the platform would see it twice).
func (s *sender) settle(timeout time.Duration) outcome {
	s.h.poll(timeout, func() (bool, string) {
		st, _ := s.deliveries()
		return st.waiting == 0 && st.missing == 0, fmt.Sprintf("%+v", st)
	})
	_, byStub := s.deliveries()
	s.mu.Lock()
	defer s.mu.Unlock()
	ins := map[string]bool{}
	for _, m := range s.msgs {
		ins[m.in.ID] = true
	}
	ids := make([]string, 0, len(ins))
	for id := range ins {
		ids = append(ids, id)
	}
	var access []string
	if err := s.h.store.DB().Select(&access, `SELECT lower(integration_id || '/' || invitee_id) FROM attendees
		WHERE integration_id = ANY($1) AND access`, pq.StringArray(ids)); err != nil {
		s.h.t.Errorf("read the directory: %v", err)
	}
	hasAccess := make(map[string]bool, len(access))
	for _, k := range access {
		hasAccess[k] = true
	}
	var multi []string
	if err := s.h.store.DB().Select(&multi, `SELECT lower(integration_id || '/' || substr(key, 10)) FROM changes
		WHERE integration_id = ANY($1) AND key LIKE 'attendee:%' GROUP BY integration_id, key HAVING count(*) > 1`, pq.StringArray(ids)); err != nil {
		s.h.t.Errorf("read the change log: %v", err)
	}
	changedTwice := make(map[string]bool, len(multi))
	for _, k := range multi {
		changedTwice[k] = true
	}
	var o outcome
	for _, m := range s.msgs {
		o.Sent++
		if !m.acked {
			continue
		}
		o.Acked++
		d, stored := byStub[m.stub]
		ok := stored && d.Status == store.DeliveryProcessed && d.ApplyCount >= 1
		twice := stored && d.ApplyCount > 1
		for _, inv := range m.invitees {
			key := strings.ToLower(m.in.ID + "/" + inv)
			o.Attendees++
			if hasAccess[key] {
				o.AttendeesApplied++
			} else {
				o.AttendeesLost++
				ok = false
			}
			if changedTwice[key] {
				o.AttendeesTwice++
				twice = true
			}
		}
		if ok {
			o.Applied++
		} else {
			o.Lost++
		}
		if twice {
			o.Twice++
		}
	}
	return o
}
