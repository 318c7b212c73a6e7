package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/gateway"
	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/receiver"
	"github.com/cventsync/cventsync/internal/safehttp"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/worker"
	"github.com/cventsync/cventsync/workflows"
)

// newPlatformStack is newStack with the outbound policy the tests need
// (http to loopback: the receiver is an httptest server) and one notifier
// shared by worker and gateway.
func newPlatformStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t)
	c, err := client.NewLazyClient(client.Options{HostPort: testenv.TemporalAddress(t), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := "test-" + uuid.NewString()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CVENTSYNC_TEST_LOG") != "" {
		log = slog.Default()
	}
	box, err := secret.NewBox(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := st.NewNotifier(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = notifier.Close() })
	policy := safehttp.Policy{AllowHTTP: true, AllowLoopback: true}
	clients := &connection.Clients{Box: box, Limiters: &cvent.Limiters{}, Logger: log}
	var w sdkworker.Worker
	start := func() {
		w = worker.New(c, queue, worker.Deps{Store: st, Notifier: notifier, Cvent: clients, Logger: log, Outbound: policy})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
	}
	stop := func() {
		if w != nil {
			w.Stop()
			w = nil
		}
	}
	start()
	t.Cleanup(stop)
	gw := gateway.New(gateway.Options{Store: st, Temporal: c, TaskQueue: queue, AdminToken: adminToken,
		PublicURL: "http://cventsync.test", SecretBox: box, Logger: log, Cvent: clients, Outbound: policy, Notifier: notifier})
	t.Cleanup(gw.Close)
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return &stack{t: t, store: st, gw: gw, server: srv, startWorker: start, stopWorker: stop}
}

// platform is the event platform: a receiver behind an httptest server,
// made once the destination's secret is known. fail, when set, answers
// instead of the receiver.
type platform struct {
	srv  *httptest.Server
	recv atomic.Pointer[receiver.Receiver]
	fail atomic.Int32 // an HTTP status to answer with, 0: let the receiver answer
}

func newPlatform(t *testing.T) *platform {
	p := &platform{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := p.fail.Load(); code != 0 {
			http.Error(w, "refused by the test", int(code))
			return
		}
		rc := p.recv.Load()
		if rc == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		rc.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

type destination struct {
	ID           string `json:"id"`
	Secret       string `json:"secret"`
	Status       string `json:"status"`
	StatusReason string `json:"statusReason"`
	Enabled      bool   `json:"enabled"`
	Cursor       string `json:"cursor"`
	Lag          struct {
		Changes int64   `json:"changes"`
		Seconds float64 `json:"seconds"`
	} `json:"lag"`
}

// connect creates a destination for the platform and starts its receiver.
func (s *stack) connect(in integration, p *platform, body string) destination {
	s.t.Helper()
	var d destination
	s.admin(http.MethodPost, "/api/v1/integrations/"+in.ID+"/destinations",
		strings.Replace(body, "URL", p.srv.URL, 1), http.StatusCreated, &d)
	if !strings.HasPrefix(d.Secret, "whsec_") {
		s.t.Fatalf("secret %q", d.Secret)
	}
	rc, err := receiver.New(receiver.Config{Secrets: []string{d.Secret}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		s.t.Fatal(err)
	}
	p.recv.Store(rc)
	return d
}

func platformRegistration(stub, invitee, first string, at time.Time, status string) []byte {
	return withEnvelope("InviteeOrGuestAccepted", stub, at, map[string]any{
		"inviteeStub": invitee, "contactStub": "C-" + invitee, "email": invitee + "@example.com", "firstName": first,
		"lastName": "Doe", "inviteeStatus": status,
	})
}

func waitReceiver(t *testing.T, rc *receiver.Receiver, what string, timeout time.Duration, cond func(receiver.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := rc.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v; receiver saw %+v", what, err, rc.Stats())
	}
}

func TestDestinationReceivesSignedRegistration(t *testing.T) {
	s := newPlatformStack(t)
	in := s.createIntegration(newIntegration)
	p := newPlatform(t)
	s.connect(in, p, `{"url":"URL"}`)
	rc := p.recv.Load()

	s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	// The receiver verified the signature with the Standard Webhooks library.
	waitReceiver(t, rc, "the registration", 20*time.Second, func(st receiver.Stats) bool { return st.Applied >= 1 })
	last, ok := rc.Last("attendee:" + amara)
	if !ok || last.Type != store.ChangeAttendeeCreated {
		t.Fatalf("receiver has %+v, keys %v", last, rc.Keys())
	}
	var rec struct {
		Email  string `json:"email"`
		Access bool   `json:"access"`
	}
	if err := json.Unmarshal(last.Record, &rec); err != nil || rec.Email != "amara.okafor@northwind.example" || !rec.Access {
		t.Fatalf("record %s", last.Record)
	}

	// Per-attendee order: three changes of one attendee arrive in seq order.
	t0 := time.Now()
	s.post(in, in.WebhookToken, platformRegistration("o-1", "ord-1", "A", t0, "Accepted"), http.StatusOK)
	s.post(in, in.WebhookToken, platformRegistration("o-2", "ord-1", "B", t0.Add(time.Second), "Accepted"), http.StatusOK)
	s.post(in, in.WebhookToken, platformRegistration("o-3", "ord-1", "B", t0.Add(2*time.Second), "Cancelled"), http.StatusOK)
	waitReceiver(t, rc, "three changes of ord-1", 20*time.Second, func(receiver.Stats) bool { return len(rc.Seqs("attendee:ord-1")) >= 3 })
	seqs := rc.Seqs("attendee:ord-1")
	if len(seqs) != 3 || !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) || rc.Stats().OrderViolations != 0 {
		t.Fatalf("seqs %v, stats %+v", seqs, rc.Stats())
	}
	if last, _ := rc.Last("attendee:ord-1"); last.Type != store.ChangeAccessRevoked {
		t.Fatalf("last change of ord-1 is %s", last.Type)
	}

	// Attempts are recorded with their status.
	var attempts struct {
		Attempts []struct {
			Status    int    `json:"status"`
			WebhookID string `json:"webhookId"`
		}
	}
	var d destination
	s.waitFor("the cursor to catch up", 10*time.Second, func() (bool, string) {
		d = listDestinations(s, in)[0]
		return d.Lag.Changes == 0, fmt.Sprintf("%+v", d)
	})
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID+"/attempts", "", http.StatusOK, &attempts)
	if len(attempts.Attempts) < 4 || attempts.Attempts[0].Status != 200 || !strings.HasPrefix(attempts.Attempts[0].WebhookID, d.ID+"_") {
		t.Fatalf("attempts %+v", attempts.Attempts)
	}

	// A replay from the start sends every change again under its webhook-id:
	// the receiver sees them all as duplicates and applies nothing twice.
	before := rc.Stats()
	s.admin(http.MethodPost, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID+"/replay", `{"after":"0"}`, http.StatusOK, nil)
	waitReceiver(t, rc, "the replay", 20*time.Second, func(st receiver.Stats) bool { return st.Duplicates >= before.Deliveries })
	if st := rc.Stats(); st.Deliveries != before.Deliveries || st.Applied != before.Applied || st.OrderViolations != 0 {
		t.Fatalf("after the replay %+v, before %+v", st, before)
	}
}

func listDestinations(s *stack, in integration) []destination {
	s.t.Helper()
	var out struct{ Destinations []destination }
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/destinations", "", http.StatusOK, &out)
	return out.Destinations
}

// platformGet calls the API with the integration's platform key.
func (s *stack) platformGet(in integration, path string, wantStatus int, out any) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.server.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+in.PlatformKey)
	s.do(req, wantStatus, out)
}

type feedPage struct {
	Changes []store.Change `json:"changes"`
	Next    string         `json:"next"`
}

func TestChangeFeedPagingLongPollAndExpiry(t *testing.T) {
	s := newPlatformStack(t)
	in := s.createIntegration(newIntegration)
	base := "/api/v1/integrations/" + in.ID
	t0 := time.Now()
	for i := 0; i < 3; i++ {
		ans := s.post(in, in.WebhookToken, platformRegistration(fmt.Sprintf("f-%d", i), fmt.Sprintf("feed-%d", i), "F", t0, "Accepted"), http.StatusOK)
		s.waitDelivery(ans.DeliveryID, 20*time.Second)
	}

	// Paging with the platform key.
	var seen []string
	cursor := "0"
	for i := 0; i < 5; i++ {
		var page feedPage
		s.platformGet(in, base+"/changes?limit=2&after="+cursor, http.StatusOK, &page)
		for _, c := range page.Changes {
			seen = append(seen, c.Key)
		}
		cursor = page.Next
		if len(page.Changes) == 0 {
			break
		}
	}
	if len(seen) != 3 || seen[0] != "attendee:feed-0" || cursor != "3" {
		t.Fatalf("paged %v, cursor %s", seen, cursor)
	}

	// A duplicate and an operator replay of a delivery append nothing.
	dup := s.post(in, in.WebhookToken, platformRegistration("f-0", "feed-0", "F", t0, "Accepted"), http.StatusOK)
	s.admin(http.MethodPost, fmt.Sprintf("/api/v1/deliveries/%d/replay", dup.DeliveryID), "", http.StatusAccepted, nil)
	time.Sleep(time.Second)
	var none feedPage
	s.platformGet(in, base+"/changes?after=3", http.StatusOK, &none)
	if len(none.Changes) != 0 || none.Next != "3" {
		t.Fatalf("a duplicate appended %+v", none)
	}

	// Long-poll: the answer comes when the change does, not at the timeout.
	go func() {
		time.Sleep(500 * time.Millisecond)
		s.post(in, in.WebhookToken, platformRegistration("f-9", "feed-9", "F", t0, "Accepted"), http.StatusOK)
	}()
	started := time.Now()
	var waited feedPage
	s.platformGet(in, base+"/changes?wait=20&after=3", http.StatusOK, &waited)
	if len(waited.Changes) != 1 || waited.Changes[0].Key != "attendee:feed-9" || time.Since(started) > 10*time.Second {
		t.Fatalf("long-poll answered %+v after %v", waited, time.Since(started))
	}

	// The platform key reads, but does not manage destinations.
	req, _ := http.NewRequest(http.MethodPost, s.server.URL+base+"/destinations", strings.NewReader(`{"url":"http://127.0.0.1:1"}`))
	req.Header.Set("Authorization", "Bearer "+in.PlatformKey)
	s.do(req, http.StatusUnauthorized, nil)
	s.platformGet(in, base+"/changes", http.StatusOK, nil)
	req, _ = http.NewRequest(http.MethodPatch, s.server.URL+base+"/attendees/feed-0", strings.NewReader(`{"company":"Platform Inc"}`))
	req.Header.Set("Authorization", "Bearer "+in.PlatformKey)
	req.Header.Set("Content-Type", "application/json")
	s.do(req, http.StatusOK, nil)
	req, _ = http.NewRequest(http.MethodGet, s.server.URL+base+"/changes", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	s.do(req, http.StatusUnauthorized, nil)

	// An expired cursor: 410 saying what to do; the attendee list gives a fresh cursor.
	if _, err := s.store.PruneChanges(context.Background(), time.Now().Add(time.Hour), 100); err != nil {
		t.Fatal(err)
	}
	var gone struct {
		Error   string
		Details struct{ Do string }
	}
	s.platformGet(in, base+"/changes?after=1", http.StatusGone, &gone)
	if !strings.Contains(gone.Details.Do, "attendee list") {
		t.Fatalf("410 says %+v", gone)
	}
	var list struct {
		Attendees     []attendee
		ChangesCursor string
	}
	s.platformGet(in, base+"/attendees", http.StatusOK, &list)
	if len(list.Attendees) != 4 || list.ChangesCursor != "5" { // 4 registrations and the platform edit
		t.Fatalf("attendee list: %d attendees, cursor %q", len(list.Attendees), list.ChangesCursor)
	}
	s.platformGet(in, base+"/changes?after="+list.ChangesCursor, http.StatusOK, nil)
}

func TestDestinationOutageLosesNothing(t *testing.T) {
	s := newPlatformStack(t)
	in := s.createIntegration(newIntegration)
	p := newPlatform(t)
	d := s.connect(in, p, `{"url":"URL","batchSize":5}`)
	rc := p.recv.Load()

	rc.Down()
	const attendees, rounds = 8, 3
	t0 := time.Now()
	var wg sync.WaitGroup
	for a := 0; a < attendees; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				s.post(in, in.WebhookToken, platformRegistration(fmt.Sprintf("out-%d-%d", a, r), fmt.Sprintf("out-%d", a),
					fmt.Sprintf("Round%d", r), t0.Add(time.Duration(r)*time.Second), "Accepted"), http.StatusOK)
			}
		}()
	}
	wg.Wait()
	waitReceiver(t, rc, "failed attempts", 20*time.Second, func(st receiver.Stats) bool { return st.Unavailable >= 2 })
	var failing destination
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID, "", http.StatusOK, &failing)
	if failing.Status != store.DestinationFailing || failing.Lag.Changes == 0 {
		t.Fatalf("during the outage: %+v", failing)
	}
	rc.Up()
	waitReceiver(t, rc, "every change", 60*time.Second, func(st receiver.Stats) bool {
		return st.Applied >= attendees*rounds
	})
	st := rc.Stats()
	if st.OrderViolations != 0 || st.Applied != attendees*rounds {
		t.Fatalf("stats %+v", st)
	}
	for a := 0; a < attendees; a++ {
		last, _ := rc.Last(fmt.Sprintf("attendee:out-%d", a))
		var rec struct{ FirstName string }
		_ = json.Unmarshal(last.Record, &rec)
		if rec.FirstName != fmt.Sprintf("Round%d", rounds-1) {
			t.Fatalf("out-%d ends as %s", a, last.Record)
		}
	}
}

// A receiver down long enough for the retry backoff to reach its cap gets
// the head message at most DestinationMaxRetryInterval (and a little work)
// after it comes back, then everything behind it, in order. The receiver
// comes back just after a refused attempt: the worst case.
func TestDestinationOutageResumesWithinTheRetryCap(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the retry backoff to reach its cap (about a minute)")
	}
	const bound = workflows.DestinationMaxRetryInterval + 5*time.Second
	s := newPlatformStack(t)
	in := s.createIntegration(newIntegration)
	p := newPlatform(t)
	d := s.connect(in, p, `{"url":"URL"}`)
	var (
		mu       sync.Mutex
		arrivals []receiver.Arrival
	)
	rc, err := receiver.New(receiver.Config{Secrets: []string{d.Secret}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnChange: func(a receiver.Arrival) { mu.Lock(); arrivals = append(arrivals, a); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	p.recv.Store(rc)

	rc.Down()
	t0 := time.Now()
	const attendees = 4
	for a := 0; a < attendees; a++ {
		s.post(in, in.WebhookToken, platformRegistration(fmt.Sprintf("cap-%d", a), fmt.Sprintf("cap-%d", a%2),
			fmt.Sprintf("Round%d", a/2), t0.Add(time.Duration(a)*time.Second), "Accepted"), http.StatusOK)
	}
	// Attempts at 0, 1, 3, 7, 15 s, then the cap apart: after the 7th, an
	// uncapped backoff would wait 64 s.
	const refusals = 7
	var refusedAt []time.Time
	for n := int64(1); n <= refusals; n++ {
		waitReceiver(t, rc, fmt.Sprintf("refused attempt %d", n), 2*workflows.DestinationMaxRetryInterval+10*time.Second,
			func(st receiver.Stats) bool { return st.Unavailable >= n })
		refusedAt = append(refusedAt, time.Now())
	}
	rc.Up()
	upAt := time.Now()
	for i := 1; i < len(refusedAt); i++ {
		t.Logf("attempt %d refused %v after the one before", i+1, refusedAt[i].Sub(refusedAt[i-1]).Round(10*time.Millisecond))
	}
	if gap := refusedAt[refusals-1].Sub(refusedAt[refusals-2]); gap > workflows.DestinationMaxRetryInterval+3*time.Second {
		t.Errorf("attempts %v apart, want the backoff capped at %v", gap, workflows.DestinationMaxRetryInterval)
	}

	waitReceiver(t, rc, "the first change after the outage", bound+30*time.Second, func(st receiver.Stats) bool { return st.Applied >= 1 })
	mu.Lock()
	first := arrivals[0]
	mu.Unlock()
	resumed := first.Arrived.Sub(upAt)
	t.Logf("receiver back; the first change (seq %d) arrived %v later", first.Seq, resumed.Round(10*time.Millisecond))
	if resumed > bound {
		t.Errorf("the first change arrived %v after the receiver came back, want within %v", resumed, bound)
	}

	// Then the backlog, in log order: the head first, nothing skipped.
	head, err := s.store.GetChangeHead(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitReceiver(t, rc, "the whole backlog", 30*time.Second, func(st receiver.Stats) bool { return st.Applied+st.Repeats >= head.LastSeq })
	mu.Lock()
	defer mu.Unlock()
	for i, a := range arrivals {
		if a.Seq != int64(i+1) {
			t.Fatalf("arrival %d is seq %d, want %d: the log goes out in order from the head", i+1, a.Seq, i+1)
		}
	}
	if st := rc.Stats(); st.OrderViolations != 0 || int64(len(arrivals)) != head.LastSeq {
		t.Fatalf("%d arrivals of %d changes; stats %+v", len(arrivals), head.LastSeq, st)
	}

	// Deleted, the destination's workflow ends.
	s.admin(http.MethodDelete, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID, "", http.StatusNoContent, nil)
	c, runID := awaitDestinationWorkflow(t, d.ID)
	recordHistory(t, c, workflows.DestinationWorkflowID(d.ID), runID, "destination")
}

// awaitDestinationWorkflow waits until the current run of a destination's
// workflow has ended and returns a client and the run's id.
func awaitDestinationWorkflow(t *testing.T, destinationID string) (client.Client, string) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := c.GetWorkflow(ctx, workflows.DestinationWorkflowID(destinationID), "")
	var res activities.DeliverResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("destination workflow: %v", err)
	}
	if !res.Stopped {
		t.Fatalf("destination workflow ended with %+v", res)
	}
	return c, run.GetRunID()
}

func TestDestinationGoneIsDisabled(t *testing.T) {
	s := newPlatformStack(t)
	in := s.createIntegration(newIntegration)
	p := newPlatform(t)
	d := s.connect(in, p, `{"url":"URL"}`)
	p.fail.Store(http.StatusGone)
	s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	var got destination
	s.waitFor("the destination to be disabled", 20*time.Second, func() (bool, string) {
		s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID, "", http.StatusOK, &got)
		return !got.Enabled && got.Status == store.DestinationDisabled, fmt.Sprintf("%+v", got)
	})
	if !strings.Contains(got.StatusReason, "410") {
		t.Fatalf("reason %q", got.StatusReason)
	}
	c, runID := awaitDestinationWorkflow(t, d.ID)
	recordHistory(t, c, workflows.DestinationWorkflowID(d.ID), runID, "destination-disabled")
	// Enabled again, it delivers what waited.
	p.fail.Store(0)
	s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID, `{"enabled":true}`, http.StatusOK, nil)
	waitReceiver(t, p.recv.Load(), "the registration after re-enabling", 20*time.Second, func(st receiver.Stats) bool { return st.Applied >= 1 })
}

func TestDestinationBatchesAManualSyncAndRotatesItsSecret(t *testing.T) {
	s := newPlatformStack(t)
	in := s.createIntegration(newIntegration)
	p := newPlatform(t)
	d := s.connect(in, p, `{"url":"URL","batchSize":50,"types":["attendee.created"]}`)
	rc := p.recv.Load()

	const n = 300
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"inviteeStub": uuid.NewString(), "email": fmt.Sprintf("sync%d@example.com", i), "inviteeStatus": "Accepted"}
	}
	s.post(in, in.WebhookToken, withEnvelope("AttendeeManualSynced", "sync-1", time.Now(), items...), http.StatusOK)
	waitReceiver(t, rc, "the manual sync", 30*time.Second, func(st receiver.Stats) bool { return st.Applied >= n })
	if st := rc.Stats(); st.Deliveries > n/10 || st.OrderViolations != 0 {
		t.Fatalf("%d changes in %d messages, want batches of up to 50: %+v", st.Changes, st.Deliveries, st)
	}

	// Rotation: the new secret verifies at once, the old one for 24 hours.
	var rot struct {
		Secret                   string    `json:"secret"`
		PreviousSecretValidUntil time.Time `json:"previousSecretValidUntil"`
	}
	s.admin(http.MethodPost, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID+"/rotate-secret", "", http.StatusOK, &rot)
	if rot.Secret == d.Secret || time.Until(rot.PreviousSecretValidUntil) < 23*time.Hour {
		t.Fatalf("rotation answered %+v", rot)
	}
	for _, secret := range []string{rot.Secret, d.Secret} {
		only, err := receiver.New(receiver.Config{Secrets: []string{secret}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		p.recv.Store(only)
		s.post(in, in.WebhookToken, platformRegistration("rot-"+secret[:12], uuid.NewString(), "R", time.Now(), "Accepted"), http.StatusOK)
		waitReceiver(t, only, "a change signed after the rotation", 20*time.Second, func(st receiver.Stats) bool { return st.Applied >= 1 })
	}
	// The destination's types filter kept everything else out; the cursor
	// still passed it.
	var got destination
	s.waitFor("no lag", 10*time.Second, func() (bool, string) {
		s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/destinations/"+d.ID, "", http.StatusOK, &got)
		return got.Lag.Changes == 0, fmt.Sprintf("%+v", got)
	})
}
