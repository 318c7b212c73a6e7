package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/gateway"
	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/reqid"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/temporalconn"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/worker"
)

// obsStack is a gateway and a worker wired as `cventsync gateway` and
// `cventsync worker` wire them: JSON logs, the SDK's logger floored at warn
// for its own chatter, the SDK's metrics, request ids carried into Temporal.
type obsStack struct {
	*stack
	logs   *syncBuffer
	worker http.Handler // the worker's /metrics, /livez, /readyz
}

func newObsStack(t *testing.T, temporalAddress string) *obsStack {
	t.Helper()
	ctx := context.Background()
	st := openTestStore(t)
	if temporalAddress == "" {
		temporalAddress = testenv.TemporalAddress(t)
	}
	logs := &syncBuffer{}
	log := slog.New(reqid.Handler(config.LogHandler(logs, "json", slog.LevelInfo)))
	c, err := client.NewLazyClient(client.Options{HostPort: temporalAddress,
		Logger:             tlog.NewStructuredLogger(temporalconn.QuietSDKLogger(log).With("component", "temporal-sdk")),
		MetricsHandler:     metrics.TemporalHandler(),
		ContextPropagators: []workflow.ContextPropagator{temporalconn.RequestIDPropagator()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := "test-" + uuid.NewString()
	box, err := secret.NewBox(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := st.NewNotifier(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = notifier.Close() })
	clients := &connection.Clients{Box: box, Limiters: &cvent.Limiters{}, Logger: log}
	w := worker.New(c, queue, worker.Deps{Store: st, Notifier: notifier, Cvent: clients, Logger: log})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	gw := gateway.New(gateway.Options{Store: st, Temporal: c, TaskQueue: queue, AdminToken: adminToken,
		PublicURL: "http://cventsync.test", SecretBox: box, Logger: log, Cvent: clients})
	t.Cleanup(gw.Close)
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	s := &stack{t: t, store: st, gw: gw, server: srv, startWorker: func() {}, stopWorker: func() {}, queue: queue}
	return &obsStack{stack: s, logs: logs, worker: worker.HTTPHandler(st, c, "")}
}

// postWithRequestID sends a webhook with an X-Request-Id and returns the
// answer and the id echoed.
func (s *obsStack) postWithRequestID(in integration, body []byte, requestID string) (webhookAnswer, string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.hookURL(in), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", in.WebhookToken)
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans webhookAnswer
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("webhook: %d %+v %v", resp.StatusCode, ans, err)
	}
	return ans, resp.Header.Get("X-Request-Id")
}

// scrape reads a Prometheus text page and returns series → value.
func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// The gateway's and the worker's /metrics show a webhook by kind and
// answer, its apply latency, the outbox gauges and the Temporal SDK's own
// metrics.
func TestMetricsScrapedAfterWebhook(t *testing.T) {
	s := newObsStack(t, "")
	in := s.createIntegration(newIntegration)
	before := scrape(t, s.gw.Handler())
	ans, _ := s.postWithRequestID(in, s.sample("invitee_accepted.json"), "")
	if d := s.waitDelivery(ans.DeliveryID, 30*time.Second); d.Status != store.DeliveryProcessed {
		t.Fatalf("delivery %s: %s", d.Status, d.Error)
	}
	for name, h := range map[string]http.Handler{"gateway": s.gw.Handler(), "worker": s.worker} {
		got := scrape(t, h)
		hooks := `cventsync_webhooks_total{code="200",kind="attendee"}`
		if got[hooks]-before[hooks] < 1 {
			t.Errorf("%s: %s went from %v to %v", name, hooks, before[hooks], got[hooks])
		}
		latency := `cventsync_delivery_apply_latency_seconds_count{size="small"}`
		if got[latency]-before[latency] < 1 {
			t.Errorf("%s: %s went from %v to %v", name, latency, before[latency], got[latency])
		}
		if _, ok := got["cventsync_outbox_depth"]; !ok {
			t.Errorf("%s: no cventsync_outbox_depth", name)
		}
		if _, ok := got[`cventsync_deliveries{status="failed"}`]; !ok {
			t.Errorf("%s: no cventsync_deliveries{status=\"failed\"}", name)
		}
		sdk := 0
		for series := range got {
			if strings.HasPrefix(series, "temporal_") {
				sdk++
			}
		}
		if sdk == 0 {
			t.Errorf("%s: no Temporal SDK metric (temporal_*)", name)
		}
	}
	rec := httptest.NewRecorder()
	s.gw.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{"# TYPE cventsync_delivery_apply_latency_seconds histogram", "temporal_request_total{"} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// A request id is echoed (the caller's, or a new one), and the worker's JSON
// log line for the delivery names it, with the integration and delivery.
func TestRequestIDEchoedAndInWorkerLog(t *testing.T) {
	s := newObsStack(t, "")
	in := s.createIntegration(newIntegration)
	ans, echoed := s.postWithRequestID(in, s.sample("invitee_accepted.json"), "req-obs-7f3a")
	if echoed != "req-obs-7f3a" {
		t.Fatalf("X-Request-Id echoed %q, want the caller's", echoed)
	}
	if _, generated := s.postWithRequestID(in, s.sample("invitee_cancelled.json"), ""); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(generated) {
		t.Errorf("generated X-Request-Id %q, want 32 hex digits", generated)
	}
	if _, bad := s.postWithRequestID(in, s.sample("session_created.json"), "has space"); bad == "has space" {
		t.Errorf("an id with a space must be replaced, got it echoed")
	}
	s.waitDelivery(ans.DeliveryID, 30*time.Second)
	var workerLine, gatewayLine map[string]any
	s.waitFor("the worker's log line for the delivery", 10*time.Second, func() (bool, string) {
		workerLine, gatewayLine = nil, nil
		for _, line := range s.logs.lines() {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			switch {
			case rec["msg"] == "delivery applied" && rec["deliveryId"] == float64(ans.DeliveryID):
				workerLine = rec
			case rec["msg"] == "request" && rec["requestId"] == "req-obs-7f3a":
				gatewayLine = rec
			}
		}
		return workerLine != nil && gatewayLine != nil, fmt.Sprintf("worker %v gateway %v", workerLine, gatewayLine)
	})
	for key, want := range map[string]any{"requestId": "req-obs-7f3a", "integrationId": in.ID, "level": "INFO", "ActivityType": "Drain"} {
		if workerLine[key] != want {
			t.Errorf("worker log line %s = %v, want %v (line %v)", key, workerLine[key], want, workerLine)
		}
	}
	if gatewayLine["status"] != float64(200) || !strings.HasPrefix(fmt.Sprint(gatewayLine["path"]), "/webhooks/cvent/") {
		t.Errorf("gateway request line: %v", gatewayLine)
	}
}

// /livez answers while the process serves; /readyz checks PostgreSQL,
// migrations and Temporal and answers 503 naming Temporal when it is down;
// /healthz stays ok.
func TestReadyzAnswers503WhenTemporalIsDown(t *testing.T) {
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tp, err := devenv.StartTemporal(context.Background(), devenv.TemporalOptions{Port: port, UIPort: -1, SearchAttributes: searchattr.Definitions()})
	if err != nil {
		t.Fatalf("start temporal: %v", err)
	}
	t.Cleanup(func() { _ = tp.Stop() })
	s := newObsStack(t, tp.Address)
	probe := func(h http.Handler, path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body
	}
	for name, h := range map[string]http.Handler{"gateway": s.gw.Handler(), "worker": s.worker} {
		if code, body := probe(h, "/readyz"); code != http.StatusOK {
			t.Fatalf("%s /readyz with everything up: %d %v", name, code, body)
		}
	}
	if err := tp.Stop(); err != nil {
		t.Fatalf("stop temporal: %v", err)
	}
	for name, h := range map[string]http.Handler{"gateway": s.gw.Handler(), "worker": s.worker} {
		code, body := probe(h, "/readyz")
		checks, _ := body["checks"].(map[string]any)
		if code != http.StatusServiceUnavailable || checks["temporal"] == "ok" || checks["database"] != "ok" || checks["migrations"] != "ok" {
			t.Errorf("%s /readyz with Temporal down: %d %v", name, code, body)
		}
		for _, path := range []string{"/livez", "/healthz"} {
			if code, body := probe(h, path); code != http.StatusOK {
				t.Errorf("%s %s with Temporal down: %d %v", name, path, code, body)
			}
		}
	}
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	r := bufio.NewScanner(io.NopCloser(bytes.NewReader(b.buf.Bytes())))
	r.Buffer(make([]byte, 1<<20), 4<<20)
	for r.Scan() {
		out = append(out, r.Text())
	}
	return out
}

// CVENTSYNC_METRICS_TOKEN guards /metrics on gateway and worker (the
// gateway's address is public); the probes stay open.
func TestMetricsToken(t *testing.T) {
	gw := gateway.New(gateway.Options{AdminToken: adminToken, MetricsToken: "m-token"})
	t.Cleanup(gw.Close)
	for name, h := range map[string]http.Handler{"gateway": gw.Handler(), "worker": worker.HTTPHandler(nil, nil, "m-token")} {
		for auth, want := range map[string]int{"": http.StatusUnauthorized, "Bearer " + adminToken: http.StatusUnauthorized, "Bearer m-token": http.StatusOK} {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("%s /metrics with %q: %d, want %d", name, auth, rec.Code, want)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s /livez must stay open: %d", name, rec.Code)
		}
	}
}
