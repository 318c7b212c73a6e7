package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
)

// A delivery that arrives while Temporal is down is stored, acknowledged,
// and processed once Temporal is back: nothing is lost.
func TestDeliveryWhileTemporalIsDown(t *testing.T) {
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	start := func() *devenv.Temporal {
		tp, err := devenv.StartTemporal(context.Background(), devenv.TemporalOptions{
			Port: port, UIPort: -1, SearchAttributes: searchattr.Definitions(),
		})
		if err != nil {
			t.Fatalf("start temporal: %v", err)
		}
		return tp
	}
	tp := start()
	s := newStack(t, stackOptions{temporalAddress: tp.Address})
	in := s.createIntegration(newIntegration)

	if err := tp.Stop(); err != nil {
		t.Fatalf("stop temporal: %v", err)
	}
	began := time.Now()
	ans := s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	if (ans.Status != "queued" && ans.Status != "accepted") || ans.DeliveryID == 0 {
		t.Fatalf("with Temporal down the delivery must be stored and acknowledged: %+v", ans)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("acknowledging took %v with Temporal down", took)
	}
	d, err := s.store.GetDelivery(context.Background(), ans.DeliveryID)
	if err != nil || d.Status != store.DeliveryReceived {
		t.Fatalf("delivery must wait in the outbox: %+v %v", d, err)
	}
	// Once a start has failed, deliveries are answered as queued at once,
	// without waiting on Temporal.
	var second webhookAnswer
	for i := 0; i < 40 && second.Status != "queued"; i++ {
		time.Sleep(500 * time.Millisecond)
		body := withEnvelope("InviteeOrGuestAccepted", "second-"+itoa(int64(i)), time.Now(), map[string]any{"inviteeStub": "ABC-2", "email": "b@x"})
		second = s.post(in, in.WebhookToken, body, http.StatusOK)
	}
	if second.Status != "queued" {
		t.Errorf("deliveries with Temporal known down: %+v", second)
	}

	// A manual sync (a large delivery, a workflow of its own) stored while
	// Temporal is down is started by the maintenance sweep once Temporal is
	// back, without waiting for the two minutes a dispatched one may run.
	sync, _ := manualSync("down-sync", 150)
	big := s.post(in, in.WebhookToken, sync, http.StatusOK)
	if big.DeliveryID == 0 {
		t.Fatalf("manual sync with Temporal down: %+v", big)
	}

	tp = start() // same address, fresh server: the worker and the dispatcher reconnect
	t.Cleanup(func() { _ = tp.Stop() })
	if got := s.waitDelivery(ans.DeliveryID, 60*time.Second); got.Status != store.DeliveryProcessed {
		t.Fatalf("after Temporal came back: %s %s", got.Status, got.Error)
	}
	if got := s.waitDelivery(second.DeliveryID, 60*time.Second); got.Status != store.DeliveryProcessed {
		t.Fatalf("second delivery after Temporal came back: %s %s", got.Status, got.Error)
	}
	if got := s.waitDelivery(big.DeliveryID, 60*time.Second); got.Status != store.DeliveryProcessed {
		t.Fatalf("manual sync stored while Temporal was down, 60 s after it came back: %s %s", got.Status, got.Error)
	}
	if got := s.attendees(in, "?limit=1000"); len(got) != 152 {
		t.Fatalf("attendees after recovery: %d, want 2 registrations and 150 synced", len(got))
	}
	if got := s.attendees(in, ""); len(got) < 2 || !got[0].Access || !got[1].Access {
		t.Fatalf("attendee after recovery: %+v", got)
	}
}
