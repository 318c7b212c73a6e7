package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cventsync/cventsync/internal/payloadcodec"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/workflows"
)

const testPayloadKeys = "k2:" + "a1a2a3a4a5a6a7a8a9b0b1b2b3b4b5b6b7b8b9c0c1c2c3c4c5c6c7c8c9d0d1d2" +
	",k1:" + "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000"

// With CVENTSYNC_PAYLOAD_KEYS set, a registration (small and in a manual
// sync) leaves nothing readable in Temporal: every payload of every
// workflow the integration ran, and every failure message, is encrypted on
// the server; the codec server decodes them for a caller with the token.
func TestPayloadsAndFailuresAreEncryptedInTemporal(t *testing.T) {
	keys, err := payloadcodec.ParseKeys(testPayloadKeys)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := payloadcodec.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	conv := payloadcodec.NewConverters(codec)
	s := newStack(t, stackOptions{dataConverter: conv.Data, failureConverter: conv.Failure})
	in := s.createIntegration(newIntegration)
	const email, lastName = "amara.okafor@northwind.example", "Okafor"

	small := s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	items := make([]map[string]any, 120)
	for i := range items {
		items[i] = map[string]any{"inviteeStub": uuid.NewString(), "email": fmt.Sprintf("sync%d@northwind.example", i),
			"lastName": lastName, "inviteeStatus": "Accepted"}
	}
	large := s.post(in, in.WebhookToken, withEnvelope("AttendeeManualSynced", "enc-sync", time.Now(), items...), http.StatusOK)
	for _, id := range []int64{small.DeliveryID, large.DeliveryID} {
		if d := s.waitDelivery(id, 60*time.Second); d.Status != store.DeliveryProcessed {
			t.Fatalf("delivery %d: %s %q", id, d.Status, d.Error)
		}
	}

	// A failing workflow on the same client: memo, signal, activity input
	// and the error (quoting the person, as a Cvent error can) all carry
	// the e-mail.
	failing := runFailingWorkflow(t, conv, email)

	// Raw histories, read without the codec.
	raw := testenv.TemporalClient(t)
	runs := integrationRuns(s, raw, in.ID, small, large)
	runs = append(runs, failing)
	var payloads []*commonpb.Payload
	failures := 0
	for _, r := range runs {
		h := rawHistory(t, raw, r.GetWorkflowId(), r.GetRunId())
		b, _ := proto.Marshal(h)
		for _, plain := range []string{email, lastName, "sync7@northwind.example"} {
			if bytes.Contains(b, []byte(plain)) {
				t.Errorf("%s: %q in the raw history", r.GetWorkflowId(), plain)
			}
		}
		ps, fs := collect(h.ProtoReflect())
		payloads = append(payloads, ps...)
		for _, f := range fs {
			failures++
			if f.GetMessage() != "Encoded failure" || f.GetStackTrace() != "" || f.GetEncodedAttributes() == nil {
				t.Errorf("%s: failure not encoded: message %q", r.GetWorkflowId(), f.GetMessage())
			}
		}
	}
	if len(payloads) < 10 || failures == 0 {
		t.Fatalf("found %d payloads and %d failures in %d runs: the test proves little", len(payloads), failures, len(runs))
	}
	for _, p := range payloads {
		if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != payloadcodec.Encoding {
			t.Errorf("payload with encoding %q: not encrypted", enc)
		}
		if id := string(p.GetMetadata()[payloadcodec.MetadataKeyID]); id != "k2" {
			t.Errorf("payload encrypted with %q, want the first key k2", id)
		}
	}

	// The codec server, as the Web UI calls it.
	srv := httptest.NewServer(payloadcodec.NewHandler(codec, payloadcodec.HandlerOptions{
		Origins: []string{"http://127.0.0.1:8233"}, Token: "codec-token"}))
	defer srv.Close()
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	if code, _ := codecCall(t, srv.URL, "", body); code != http.StatusUnauthorized {
		t.Fatalf("codec server without a token: %d", code)
	}
	code, out := codecCall(t, srv.URL, "Bearer codec-token", body)
	if code != http.StatusOK {
		t.Fatalf("codec server: %d %s", code, out)
	}
	var decoded commonpb.Payloads
	if err := protojson.Unmarshal(out, &decoded); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	for _, p := range decoded.GetPayloads() {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == payloadcodec.Encoding {
			t.Fatal("the codec server left a payload encrypted")
		}
		all.Write(p.GetData())
	}
	for _, want := range []string{email, "cannot reach " + email, in.ID} {
		if !bytes.Contains(all.Bytes(), []byte(want)) {
			t.Errorf("decoded payloads lack %q", want)
		}
	}
}

const failingQueueWorkflow = "EncryptionProbe"

// runFailingWorkflow runs a workflow that takes a signal and a memo, calls
// an activity that fails quoting person, and fails; it returns its run.
func runFailingWorkflow(t *testing.T, conv payloadcodec.Converters, person string) *commonpb.WorkflowExecution {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Logger: quietSDKLogger(),
		DataConverter: conv.Data, FailureConverter: conv.Failure})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "probe-" + uuid.NewString()
	w := sdkworker.New(c, queue, sdkworker.Options{})
	w.RegisterActivityWithOptions(func(ctx context.Context, who string) error {
		return temporal.NewNonRetryableApplicationError("cannot reach "+who, "Probe", nil)
	}, activity.RegisterOptions{Name: "ProbeActivity"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, who string) (string, error) {
		var signalled string
		workflow.GetSignalChannel(ctx, "person").Receive(ctx, &signalled)
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
		err := workflow.ExecuteActivity(actx, "ProbeActivity", signalled).Get(ctx, nil)
		return "", err
	}, workflow.RegisterOptions{Name: failingQueueWorkflow})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "probe-" + uuid.NewString(), TaskQueue: queue,
		Memo: map[string]any{"person": person}}, failingQueueWorkflow, person)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "person", person); err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !strings.Contains(err.Error(), "cannot reach "+person) {
		t.Fatalf("probe workflow: %v (the client decodes the failure)", err)
	}
	return &commonpb.WorkflowExecution{WorkflowId: run.GetID(), RunId: run.GetRunID()}
}

// integrationRuns lists every run the integration's work left: the drainer's
// runs, the batch of the small delivery and the large delivery's workflow.
func integrationRuns(s *stack, c client.Client, integrationID string, small, large webhookAnswer) []*commonpb.WorkflowExecution {
	t := s.t
	t.Helper()
	ctx := context.Background()
	d, err := s.store.GetDelivery(ctx, small.DeliveryID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{d.WorkflowID: false, large.WorkflowID: false, workflows.IngestWorkflowID(integrationID): false}
	var runs []*commonpb.WorkflowExecution
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs = runs[:0]
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("CventIntegrationId = '%s'", integrationID), PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for k := range want {
			want[k] = false
		}
		for _, e := range resp.GetExecutions() {
			runs = append(runs, e.GetExecution())
			want[e.GetExecution().GetWorkflowId()] = true
		}
		missing := []string{}
		for k, ok := range want {
			if !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflows %v not listed for the integration", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func rawHistory(t *testing.T, c client.Client, workflowID, runID string) *historypb.History {
	t.Helper()
	h := &historypb.History{}
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	return h
}

// collect finds every payload and failure in a history message, except in
// headers (context propagation: a request id) and search attributes, which
// Temporal indexes and no codec touches.
func collect(m protoreflect.Message) (payloads []*commonpb.Payload, failures []*failurepb.Failure) {
	switch v := m.Interface().(type) {
	case *commonpb.Payload:
		return []*commonpb.Payload{v}, nil
	case *commonpb.Header, *commonpb.SearchAttributes:
		return nil, nil
	case *failurepb.Failure:
		failures = append(failures, v)
	}
	m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
		add := func(msg protoreflect.Message) {
			p, f := collect(msg)
			payloads, failures = append(payloads, p...), append(failures, f...)
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < val.List().Len(); i++ {
				add(val.List().Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			val.Map().Range(func(_ protoreflect.MapKey, v protoreflect.Value) bool {
				add(v.Message())
				return true
			})
		case fd.Message() != nil && !fd.IsMap():
			add(val.Message())
		}
		return true
	})
	return payloads, failures
}

func codecCall(t *testing.T, base, auth string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	req.Header.Set("Origin", "http://127.0.0.1:8233")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:8233" {
		t.Errorf("no CORS header for the Web UI's origin")
	}
	return resp.StatusCode, b
}
