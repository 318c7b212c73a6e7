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

	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/workflows"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cventsync-chaos-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "cventsync")
	root, _ := filepath.Abs("../..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/cventsync")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build cventsync: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	testenv.Main(m)
}

type harness struct {
	t     *testing.T
	c     *Cluster
	store *store.Store
	queue string
}

func newHarness(t *testing.T, extraEnv ...string) *harness {
	t.Helper()
	dbURL := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	queue := "chaos-" + uuid.NewString()
	c := New(Options{Binary: binary, Dir: t.TempDir(), DatabaseURL: dbURL, TemporalAddr: testenv.TemporalAddress(t),
		TaskQueue: queue, AdminToken: secret.NewToken(), SecretKey: secret.NewKey(), ExtraEnv: extraEnv})
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			for _, f := range c.processLogs {
				b, _ := os.ReadFile(f.Name())
				t.Logf("%s:\n%s", filepath.Base(f.Name()), tail(b, 3000))
			}
		}
	})
	return &harness{t: t, c: c, store: st, queue: queue}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

type integration struct {
	ID           string `json:"id"`
	WebhookToken string `json:"webhookToken"`
}

func (h *harness) createIntegration(gw *Process) integration {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/v1/integrations", strings.NewReader(
		`{"name":"Chaos Summit","cventEventId":"3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B","environment":"sandbox","region":"na"}`))
	req.Header.Set("Authorization", "Bearer "+h.c.AdminToken)
	resp, err := h.c.HTTP.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var in integration
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil || in.ID == "" {
		h.t.Fatalf("create integration: %d %v", resp.StatusCode, err)
	}
	return in
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

func registration(stub, invitee string) []byte {
	b, _ := json.Marshal(map[string]any{"eventType": "InviteeOrGuestAccepted", "messageStub": stub,
		"messageTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"message":     []map[string]any{{"inviteeStub": invitee, "email": invitee + "@example.com", "firstName": "Pat", "inviteeStatus": "Accepted"}}})
	return b
}

// waitFor polls cond until it holds or the timeout passes.
func (h *harness) waitFor(what string, timeout time.Duration, cond func() (bool, string)) {
	h.t.Helper()
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
	h.t.Fatalf("timed out after %v waiting for %s; last saw: %s", timeout, what, last)
}

// drainerWorker finds the worker process running the integration's drain
// activity right now, from Temporal's record of the activity.
func (h *harness) runningActivityWorker(workflowID string) *Process {
	c := testenv.TemporalClient(h.t)
	desc, err := c.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		return nil
	}
	for _, pa := range desc.GetPendingActivities() {
		if w := h.c.WorkerByIdentity(pa.GetLastWorkerIdentity()); w != nil && pa.GetLastStartedTime() != nil {
			return w
		}
	}
	return nil
}

// Two gateways and two workers; a 2,000-webhook burst spread over both
// gateways; the gateway and the worker that is draining are SIGKILLed in
// the middle; what got no 2xx is resent to the surviving gateway. Every
// delivery is applied exactly once and none is left waiting.
func TestTwoGatewaysTwoWorkersSurviveKills(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := h.c.StartWorker(); err != nil {
			t.Fatal(err)
		}
	}
	gwA, err := h.c.StartGateway(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gwB, err := h.c.StartGateway(ctx)
	if err != nil {
		t.Fatal(err)
	}
	in := h.createIntegration(gwA)
	const total = 2000
	bodies := make([][]byte, total)
	for i := range bodies {
		bodies[i] = registration(fmt.Sprintf("chaos-%d", i), uuid.NewString())
	}
	var acked atomic.Int64
	var killed atomic.Bool
	var mu sync.Mutex
	var resend []int
	var inFlightAtKill int
	var killedWorker *Process
	killOnce := sync.Once{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range bodies {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			gw := gwA
			if i%2 == 1 {
				gw = gwB
			}
			if gw == gwA && killed.Load() {
				mu.Lock()
				resend = append(resend, i)
				mu.Unlock()
				return
			}
			if status := h.post(gw, in, bodies[i]); status/100 != 2 {
				mu.Lock()
				resend = append(resend, i)
				mu.Unlock()
				return
			}
			if acked.Add(1) == total/3 {
				killOnce.Do(func() {
					killedWorker = h.runningActivityWorker(workflows.IngestWorkflowID(in.ID))
					var n int
					_ = h.store.DB().Get(&n, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'received'`, in.ID)
					inFlightAtKill = n
					killed.Store(true)
					gwA.Kill()
					if killedWorker != nil {
						killedWorker.Kill()
					}
				})
			}
		}(i)
	}
	wg.Wait()
	if killedWorker == nil {
		t.Fatal("no worker was running the drain when the kill came: the test proves nothing")
	}
	if inFlightAtKill == 0 {
		t.Fatal("no delivery was waiting when the kill came: the test proves nothing")
	}
	t.Logf("killed gateway %d and draining worker %d with %d deliveries waiting; resending %d", gwA.Pid(), killedWorker.Pid(), inFlightAtKill, len(resend))
	for _, i := range resend {
		if status := h.post(gwB, in, bodies[i]); status/100 != 2 {
			t.Fatalf("resend %d to the surviving gateway: %d", i, status)
		}
	}
	h.waitFor("every delivery applied", 120*time.Second, func() (bool, string) {
		var st struct {
			Stored, Processed, Waiting, Twice int
		}
		_ = h.store.DB().Get(&st, `SELECT count(*) AS stored, count(*) FILTER (WHERE status = 'processed') AS processed,
			count(*) FILTER (WHERE status = 'received') AS waiting, count(*) FILTER (WHERE apply_count > 1) AS twice
			FROM deliveries WHERE integration_id = $1`, in.ID)
		return st.Stored == total && st.Processed == total && st.Twice == 0, fmt.Sprintf("%+v", st)
	})
	var twice, attendees int
	_ = h.store.DB().Get(&twice, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND apply_count <> 1`, in.ID)
	_ = h.store.DB().Get(&attendees, `SELECT count(*) FROM attendees WHERE integration_id = $1 AND access`, in.ID)
	if twice != 0 || attendees != total {
		t.Errorf("%d deliveries not applied exactly once; %d attendees with access, want %d", twice, attendees, total)
	}
}

// A worker SIGKILLed while it applies a 20,000-attendee manual sync: the
// other worker takes the activity over after its heartbeat timeout and
// resumes after the last committed chunk; every attendee ends with access
// and no chunk committed before the kill is applied again.
func TestWorkerKilledInTheMiddleOfASync(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.c.StartWorker(); err != nil {
		t.Fatal(err)
	}
	gw, err := h.c.StartGateway(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.StartWorker(); err != nil {
		t.Fatal(err)
	}
	in := h.createIntegration(gw)
	const total = 20000
	items := make([]map[string]any, total)
	for i := range items {
		items[i] = map[string]any{"inviteeStub": uuid.NewString(), "email": fmt.Sprintf("s%d@example.com", i), "firstName": "Sam", "inviteeStatus": "Accepted"}
	}
	body, _ := json.Marshal(map[string]any{"eventType": "AttendeeManualSynced", "messageStub": "big-sync",
		"messageTime": time.Now().UTC().Format(time.RFC3339), "message": items})
	if status := h.post(gw, in, body); status != http.StatusOK {
		t.Fatalf("manual sync answered %d", status)
	}
	var d store.Delivery
	h.waitFor("the sync to be half-way", 60*time.Second, func() (bool, string) {
		_ = h.store.DB().Get(&d, `SELECT id, applied_items, status, workflow_id FROM deliveries WHERE integration_id = $1`, in.ID)
		return d.AppliedItems > 0, fmt.Sprintf("%d applied, %s", d.AppliedItems, d.Status)
	})
	victim := h.runningActivityWorker(d.WorkflowID)
	if victim == nil {
		t.Fatal("no worker was running the apply activity: the test proves nothing")
	}
	victim.Kill()
	killedAt := time.Now()
	var appliedAtKill int
	_ = h.store.DB().Get(&appliedAtKill, `SELECT applied_items FROM deliveries WHERE id = $1`, d.ID)
	if appliedAtKill >= total {
		t.Fatalf("the sync finished before the kill (%d applied): the test proves nothing", appliedAtKill)
	}
	t.Logf("killed worker %d with %d of %d applied", victim.Pid(), appliedAtKill, total)
	h.waitFor("the other worker to finish the sync", 60*time.Second, func() (bool, string) {
		var status string
		_ = h.store.DB().Get(&status, `SELECT status FROM deliveries WHERE id = $1`, d.ID)
		return status == store.DeliveryProcessed, status
	})
	t.Logf("finished %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	var withAccess, rewritten int
	_ = h.store.DB().Get(&withAccess, `SELECT count(*) FROM attendees WHERE integration_id = $1 AND access`, in.ID)
	_ = h.store.DB().Get(&rewritten, `SELECT count(*) FROM attendees WHERE integration_id = $1 AND updated_at > created_at`, in.ID)
	if withAccess != total {
		t.Errorf("%d attendees with access, want %d", withAccess, total)
	}
	if rewritten != 0 {
		t.Errorf("%d attendees were written twice: a chunk was applied again", rewritten)
	}
	// Nothing reaches the platform twice: one change log entry per attendee.
	var entries, keys int
	_ = h.store.DB().Get(&entries, `SELECT count(*) FROM changes WHERE integration_id = $1 AND key LIKE 'attendee:%'`, in.ID)
	_ = h.store.DB().Get(&keys, `SELECT count(DISTINCT key) FROM changes WHERE integration_id = $1 AND key LIKE 'attendee:%'`, in.ID)
	if entries != total || keys != total {
		t.Errorf("%d attendee changes for %d attendees, want one each for %d", entries, keys, total)
	}
}
