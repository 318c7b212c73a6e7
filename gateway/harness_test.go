package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cventsync/cventsync/gateway"
	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventusage"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/store/storetest"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/worker"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const adminToken = "test-admin-token"

// stack is a gateway and a worker on real PostgreSQL and a real Temporal.
type stack struct {
	t      *testing.T
	store  *store.Store
	gw     *gateway.Server
	server *httptest.Server
	// startWorker starts a worker on the stack's task queue; stopWorker stops it.
	startWorker func()
	stopWorker  func()
	queue       string
}

type stackOptions struct {
	temporalAddress string // "" = the shared test server
	maxBodyBytes    int64
	noWorker        bool
	cventHTTP       *http.Client // the workers' HTTP client for Cvent (its timeout); nil = the default
	// Payload encryption (internal/payloadcodec) for the stack's client; nil = the SDK defaults.
	dataConverter    converter.DataConverter
	failureConverter converter.FailureConverter
	// Security (gateway/keys_test.go, sources_test.go, secrets_test.go).
	logTo             io.Writer      // also write the gateway's and worker's logs here (debug level)
	adminMaxBodyBytes int64          // 0 = the gateway's default (1 MiB)
	trustedProxies    []netip.Prefix // may set X-Forwarded-For
}

// openTestStore opens a fresh, migrated test database, closed at the end of the test.
func openTestStore(t *testing.T) *store.Store { return storetest.Open(t) }

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t)
	addr := opts.temporalAddress
	if addr == "" {
		addr = testenv.TemporalAddress(t)
	}
	sdkLogger := quietSDKLogger()
	if opts.logTo != nil { // workflow and activity loggers too
		sdkLogger = tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(opts.logTo, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	c, err := client.NewLazyClient(client.Options{HostPort: addr, Logger: sdkLogger,
		DataConverter: opts.dataConverter, FailureConverter: opts.failureConverter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// A task queue per test keeps tests on the shared server out of each other's way.
	queue := "test-" + uuid.NewString()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CVENTSYNC_TEST_LOG") != "" {
		log = slog.Default()
	}
	if opts.logTo != nil {
		log = slog.New(slog.NewTextHandler(opts.logTo, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	box, err := secret.NewBox(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	limiters := &cvent.Limiters{}
	// The gateway and the worker count their Cvent calls apart, as two
	// processes do, into the one database.
	gwUsage, workerUsage := newUsageRecorder(t, st), newUsageRecorder(t, st)
	notifier, err := st.NewNotifier(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = notifier.Close() })
	var w sdkworker.Worker
	startWorker := func() {
		// A fresh client cache, as in a new process; the limiter is per account and shared.
		clients := &connection.Clients{Box: box, Limiters: limiters, Usage: workerUsage, Logger: log, HTTP: opts.cventHTTP}
		w = worker.New(c, queue, worker.Deps{Store: st, Notifier: notifier, Cvent: clients, Logger: log})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
	}
	stopWorker := func() {
		if w != nil {
			w.Stop()
			w = nil
		}
	}
	if !opts.noWorker {
		startWorker()
	}
	t.Cleanup(stopWorker)
	gw := gateway.New(gateway.Options{Store: st, Temporal: c, TaskQueue: queue, AdminToken: adminToken,
		PublicURL: "http://cventsync.test", MaxBodyBytes: opts.maxBodyBytes, SecretBox: box, Logger: log,
		Cvent:             &connection.Clients{Box: box, Limiters: limiters, Usage: gwUsage, Logger: log},
		AdminMaxBodyBytes: opts.adminMaxBodyBytes, TrustedProxies: opts.trustedProxies})
	t.Cleanup(gw.Close)
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return &stack{t: t, store: st, gw: gw, server: srv, startWorker: startWorker, stopWorker: stopWorker, queue: queue}
}

// newUsageRecorder counts Cvent calls into st, flushing often so tests
// need not wait a second; it is closed (last counts added) at the end.
func newUsageRecorder(t *testing.T, st *store.Store) *cventusage.Recorder {
	t.Helper()
	r := cventusage.NewRecorder(st, cventusage.Options{FlushEvery: 50 * time.Millisecond})
	r.Start()
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// hookURL is the integration's webhook URL on the test server.
func (s *stack) hookURL(in integration) string {
	return strings.Replace(in.WebhookURL, "http://cventsync.test", s.server.URL, 1)
}

type integration struct {
	ID           string `json:"id"`
	WebhookURL   string `json:"webhookUrl"`
	WebhookToken string `json:"webhookToken"`
	PlatformKey  string `json:"platformKey"`
}

func (s *stack) createIntegration(body string) integration {
	s.t.Helper()
	var in integration
	s.admin(http.MethodPost, "/api/v1/integrations", body, http.StatusCreated, &in)
	return in
}

// admin calls the admin API and decodes the answer into out.
func (s *stack) admin(method, path, body string, wantStatus int, out any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.server.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	s.do(req, wantStatus, out)
}

func (s *stack) do(req *http.Request, wantStatus int, out any) {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		s.t.Fatalf("%s %s: status %d, want %d; body %s", req.Method, req.URL.Path, resp.StatusCode, wantStatus, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", req.Method, req.URL.Path, b, err)
		}
	}
}

type webhookAnswer struct {
	Status     string `json:"status"`
	DeliveryID int64  `json:"deliveryId"`
	WorkflowID string `json:"workflowId"`
	Error      string `json:"error"`
}

// post sends a webhook the way Cvent does: the raw token as Authorization.
func (s *stack) post(in integration, token string, body []byte, wantStatus int) webhookAnswer {
	s.t.Helper()
	url := strings.Replace(in.WebhookURL, "http://cventsync.test", s.server.URL, 1)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	var ans webhookAnswer
	s.do(req, wantStatus, &ans)
	return ans
}

func (s *stack) sample(name string) []byte {
	s.t.Helper()
	b, err := os.ReadFile(testenv.SharedPath(s.t, "cvent/samples/"+name))
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

type attendee struct {
	InviteeID        string   `json:"inviteeId"`
	ContactID        string   `json:"contactId"`
	Email            string   `json:"email"`
	FirstName        string   `json:"firstName"`
	LastName         string   `json:"lastName"`
	Company          string   `json:"company"`
	Title            string   `json:"title"`
	ProfileImageURL  string   `json:"profileImageUrl"`
	RegistrationType string   `json:"registrationType"`
	CventStatus      string   `json:"cventStatus"`
	Access           bool     `json:"access"`
	IsGuest          bool     `json:"isGuest"`
	Groups           []string `json:"groups"`
}

func (s *stack) attendees(in integration, query string) []attendee {
	s.t.Helper()
	var out struct{ Attendees []attendee }
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/attendees"+query, "", http.StatusOK, &out)
	return out.Attendees
}

// waitFor polls until cond holds, failing the test with what it last saw.
func (s *stack) waitFor(what string, timeout time.Duration, cond func() (bool, string)) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, seen := cond()
		if ok {
			return
		}
		last = seen
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("timed out after %v waiting for %s; last saw: %s", timeout, what, last)
}

// waitDelivery waits until a delivery leaves the received state.
func (s *stack) waitDelivery(id int64, timeout time.Duration) *store.Delivery {
	s.t.Helper()
	var d *store.Delivery
	s.waitFor(fmt.Sprintf("delivery %d to be processed", id), timeout, func() (bool, string) {
		var err error
		d, err = s.store.GetDelivery(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		return d.Status != store.DeliveryReceived, d.Status
	})
	return d
}

func withEnvelope(eventType, stub string, messageTime time.Time, items ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"eventType": eventType, "messageStub": stub, "messageTime": messageTime.Format("2006-01-02T15:04:05.000Z"), "message": items,
	})
	return b
}

func quietSDKLogger() tlog.Logger {
	if os.Getenv("CVENTSYNC_TEST_LOG") != "" {
		return tlog.NewStructuredLogger(slog.Default())
	}
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// recordHistory writes a workflow's history to workflows/testdata/name.json
// when CVENTSYNC_RECORD_HISTORIES is set: that is how the histories the
// replay test (workflows/replay_test.go) replays are recorded from a real
// server after a workflow changes on purpose.
func recordHistory(t *testing.T, c client.Client, workflowID, runID, name string) {
	t.Helper()
	if os.Getenv("CVENTSYNC_RECORD_HISTORIES") == "" {
		return
	}
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("record history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testenv.RepoRoot(t), "workflows", "testdata", name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s (%d events)", path, len(h.Events))
}
