package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
	"github.com/cventsync/cventsync/workflows"
)

func registration(stub, invitee, first string, at time.Time) []byte {
	return withEnvelope("InviteeOrGuestAccepted", stub, at, map[string]any{
		"inviteeStub": invitee, "contactStub": "C-" + invitee, "email": invitee + "@example.com", "firstName": first,
		"lastName": "Doe", "inviteeStatus": "Accepted",
	})
}

// postAll sends bodies concurrently and returns the answers in order.
func (s *stack) postAll(in integration, bodies [][]byte, concurrency int) []webhookAnswer {
	s.t.Helper()
	out := make([]webhookAnswer, len(bodies))
	var wg sync.WaitGroup
	sem := make(chan struct{}, concurrency)
	for i := range bodies {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			out[i] = s.post(in, in.WebhookToken, bodies[i], http.StatusOK)
		}(i)
	}
	wg.Wait()
	return out
}

// waitSettled waits until none of the deliveries waits any more and returns them.
func (s *stack) waitSettled(ids []int64, timeout time.Duration) map[int64]*store.Delivery {
	s.t.Helper()
	out := map[int64]*store.Delivery{}
	s.waitFor(fmt.Sprintf("%d deliveries to settle", len(ids)), timeout, func() (bool, string) {
		waiting := 0
		for _, id := range ids {
			d, err := s.store.GetDelivery(context.Background(), id)
			if err != nil {
				return false, err.Error()
			}
			out[id] = d
			if d.Status == store.DeliveryReceived {
				waiting++
			}
		}
		return waiting == 0, fmt.Sprintf("%d still received", waiting)
	})
	return out
}

// One poison delivery in every 50 (a NUL character that PostgreSQL refuses)
// fails alone with its reason; every good delivery of the same batches is
// applied. The burst is stored while no worker runs, so the poison ones
// certainly share batches with good ones.
func TestPoisonDeliveriesFailAloneInTheirBatch(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	const n = 200
	bodies := make([][]byte, n)
	poison := map[int]bool{}
	for i := range bodies {
		id := uuid.NewString()
		bodies[i] = registration("burst-"+itoa(int64(i)), id, "Ann", time.Now())
		if i%50 == 25 {
			poison[i] = true
			bodies[i] = registration("burst-"+itoa(int64(i)), id, `Nul\u0000Byte`, time.Now())
			bodies[i] = []byte(strings.Replace(string(bodies[i]), `Nul\\u0000Byte`, `Nul\u0000Byte`, 1))
		}
	}
	answers := s.postAll(in, bodies, 16)
	ids := make([]int64, n)
	for i, a := range answers {
		if a.Status != "accepted" && a.Status != "queued" {
			t.Fatalf("delivery %d answered %+v", i, a)
		}
		ids[i] = a.DeliveryID
	}
	s.startWorker()
	got := s.waitSettled(ids, 60*time.Second)
	runsWithGood := map[string]bool{}
	for i, id := range ids {
		if !poison[i] && got[id].Status == store.DeliveryProcessed {
			runsWithGood[got[id].WorkflowID] = true
		}
	}
	for i, id := range ids {
		d := got[id]
		switch {
		case poison[i]:
			if d.Status != store.DeliveryFailed || !strings.Contains(d.Error, "0x00") {
				t.Errorf("poison delivery %d: %s %q, want failed with the reason", i, d.Status, d.Error)
			}
			if !runsWithGood[d.WorkflowID] {
				t.Errorf("poison delivery %d was not in a batch with good ones (batch %q): the test proves nothing", i, d.WorkflowID)
			}
		case d.Status != store.DeliveryProcessed || d.ApplyCount != 1:
			t.Errorf("good delivery %d: %s (applied %d times) %q", i, d.Status, d.ApplyCount, d.Error)
		}
	}
	if got := len(s.attendees(in, "?limit=500")); got != n-len(poison) {
		t.Errorf("%d attendees, want %d", got, n-len(poison))
	}
	// A failed delivery is findable and replayable: the replay runs and fails again, with its reason.
	var first int64
	for i := range poison {
		first = ids[i]
		break
	}
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(first)+"/replay", "", http.StatusAccepted, nil)
	if d := s.waitDelivery(first, 30*time.Second); d.Status != store.DeliveryFailed || d.Error == "" {
		t.Errorf("replayed poison delivery: %s %q", d.Status, d.Error)
	}
}

// Envelope fields PostgreSQL cannot store are refused before the answer,
// with a 400 naming the field, and the body is kept as rejected.
func TestUnstorableEnvelopeFieldsAreRefused(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	for _, tc := range []struct{ name, body, field string }{
		{"NUL in eventType", `{"eventType":"InviteeOrGuestAccepted\u0000","messageStub":"a1","message":[]}`, "eventType"},
		{"NUL in messageStub", `{"eventType":"InviteeOrGuestAccepted","messageStub":"a\u00002","message":[]}`, "messageStub"},
	} {
		ans := s.post(in, in.WebhookToken, []byte(tc.body), http.StatusBadRequest)
		if ans.Status != store.DeliveryRejected || !strings.Contains(ans.Error, tc.field) || ans.DeliveryID == 0 {
			t.Errorf("%s: %+v", tc.name, ans)
		}
	}
	// Implausible times are taken for the receive time and flagged, not refused.
	for i, when := range []string{"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z"} {
		body := fmt.Sprintf(`{"eventType":"InviteeOrGuestAccepted","messageStub":"time-%d","messageTime":%q,"message":[{"inviteeStub":"%s","email":"t%d@x","inviteeStatus":"Accepted"}]}`,
			i, when, uuid.NewString(), i)
		ans := s.post(in, in.WebhookToken, []byte(body), http.StatusOK)
		d := s.waitDelivery(ans.DeliveryID, 30*time.Second)
		if d.Status != store.DeliveryProcessed {
			t.Errorf("messageTime %s: %s %q", when, d.Status, d.Error)
		}
	}
}

// Replaying every delivery of one batch at once applies each of them again:
// no replay joins another's run and is lost.
func TestReplayAllDeliveriesOfABatch(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	bodies := make([][]byte, 30)
	for i := range bodies {
		bodies[i] = registration("batch-"+itoa(int64(i)), uuid.NewString(), "Bo", time.Now())
	}
	answers := s.postAll(in, bodies, 8)
	ids := make([]int64, len(answers))
	for i, a := range answers {
		ids[i] = a.DeliveryID
	}
	s.startWorker()
	first := s.waitSettled(ids, 60*time.Second)
	runs := map[string]bool{}
	for _, d := range first {
		runs[d.WorkflowID] = true
	}
	if len(runs) >= len(ids) {
		t.Fatalf("the deliveries were not batched (%d batches for %d deliveries): the test proves nothing", len(runs), len(ids))
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(id int64) {
			defer wg.Done()
			s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(id)+"/replay", "", http.StatusAccepted, nil)
		}(id)
	}
	wg.Wait()
	s.waitFor("every replay to be applied", 60*time.Second, func() (bool, string) {
		behind := 0
		for _, id := range ids {
			d, _ := s.store.GetDelivery(context.Background(), id)
			if d == nil || d.Status != store.DeliveryProcessed || d.ApplyCount != 2 {
				behind++
			}
		}
		return behind == 0, fmt.Sprintf("%d not applied twice", behind)
	})
}

// Under a burst no delivery is applied by two transactions.
func TestBurstAppliesEachDeliveryOnce(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i] = registration("once-"+itoa(int64(i)), uuid.NewString(), "Cy", time.Now())
	}
	answers := s.postAll(in, bodies, 32)
	ids := make([]int64, len(answers))
	for i, a := range answers {
		ids[i] = a.DeliveryID
	}
	for id, d := range s.waitSettled(ids, 90*time.Second) {
		if d.Status != store.DeliveryProcessed || d.ApplyCount != 1 {
			t.Errorf("delivery %d: %s, applied %d times", id, d.Status, d.ApplyCount)
		}
	}
}

// A delivery whose workflow vanished (terminated before it applied anything)
// is found by the maintenance sweep and applied; so is a large one.
func TestMaintenanceRestartsVanishedWork(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	c := testenv.TemporalClient(t)
	small := s.post(in, in.WebhookToken, registration("vanish-1", uuid.NewString(), "Di", time.Now()), http.StatusOK)
	items := make([]map[string]any, 150)
	for i := range items {
		items[i] = map[string]any{"inviteeStub": uuid.NewString(), "email": fmt.Sprintf("m%d@x", i), "inviteeStatus": "Accepted"}
	}
	large := s.post(in, in.WebhookToken, withEnvelope("AttendeeManualSynced", "vanish-2", time.Now(), items...), http.StatusOK)
	ctx := context.Background()
	for _, wid := range []string{workflows.IngestWorkflowID(in.ID), large.WorkflowID} {
		if err := c.TerminateWorkflow(ctx, wid, "", "test: the workflow vanishes"); err != nil {
			t.Fatalf("terminate %s: %v (it must have been started by the webhook)", wid, err)
		}
	}
	s.startWorker()
	for _, id := range []int64{small.DeliveryID, large.DeliveryID} {
		if d, _ := s.store.GetDelivery(ctx, id); d.Status != store.DeliveryReceived {
			t.Fatalf("delivery %d is %s before the sweep: the test proves nothing", id, d.Status)
		}
	}
	time.Sleep(1100 * time.Millisecond) // older than the ages given below
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "maintenance-" + uuid.NewString(), TaskQueue: s.queue},
		workflows.Maintenance, &activities.StaleWorkInput{SmallDeliveryAge: time.Second, LargeDeliveryAge: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var work activities.StaleWork
	if err := run.Get(ctx, &work); err != nil {
		t.Fatal(err)
	}
	if len(work.Drain) != 1 || len(work.Large) != 1 {
		t.Errorf("the sweep found %+v", work)
	}
	recordHistory(t, c, run.GetID(), run.GetRunID(), "maintenance")
	for _, id := range []int64{small.DeliveryID, large.DeliveryID} {
		if d := s.waitDelivery(id, 60*time.Second); d.Status != store.DeliveryProcessed {
			t.Errorf("delivery %d after the sweep: %s %q", id, d.Status, d.Error)
		}
	}
}

// Every drained batch is recorded as an IngestBatch workflow that lists its
// deliveries and is found in Temporal by the invitee's id.
func TestBatchIsFindableByInvitee(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	invitee := uuid.NewString()
	ans := s.post(in, in.WebhookToken, registration("find-1", invitee, "Fi", time.Now()), http.StatusOK)
	d := s.waitDelivery(ans.DeliveryID, 30*time.Second)
	if d.Status != store.DeliveryProcessed || !strings.HasPrefix(d.WorkflowID, "batch/"+in.ID+"/") {
		t.Fatalf("delivery: %s in %q", d.Status, d.WorkflowID)
	}
	c := testenv.TemporalClient(t)
	s.waitFor("the batch to be found by invitee id", 30*time.Second, func() (bool, string) {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("CventInviteeIds = '%s' AND CventIntegrationId = '%s'", invitee, in.ID),
		})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == d.WorkflowID {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d executions", len(resp.GetExecutions()))
	})
	run := c.GetWorkflow(context.Background(), d.WorkflowID, "")
	var rec activities.BatchRecord
	if err := run.Get(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.DeliveryIDs) != 1 || rec.DeliveryIDs[0] != d.ID {
		t.Errorf("the batch lists %v, want [%d]", rec.DeliveryIDs, d.ID)
	}
	recordHistory(t, c, d.WorkflowID, "", "ingest-batch")
	recordHistory(t, c, workflows.IngestWorkflowID(in.ID), "", "ingest")
}
