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
	go s.gw.RunDispatcher(t.Context(), 200*time.Millisecond)
	in := s.createIntegration(newIntegration)

	if err := tp.Stop(); err != nil {
		t.Fatalf("stop temporal: %v", err)
	}
	began := time.Now()
	ans := s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	if ans.Status != "queued" || ans.DeliveryID == 0 {
		t.Fatalf("with Temporal down the delivery must be stored and acknowledged as queued: %+v", ans)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("acknowledging took %v with Temporal down", took)
	}
	d, err := s.store.GetDelivery(context.Background(), ans.DeliveryID)
	if err != nil || d.Status != store.DeliveryReceived || d.DispatchedAt.Valid {
		t.Fatalf("delivery must wait in the outbox: %+v %v", d, err)
	}

	tp = start() // same address, fresh server: the worker and the dispatcher reconnect
	t.Cleanup(func() { _ = tp.Stop() })
	if got := s.waitDelivery(ans.DeliveryID, 60*time.Second); got.Status != store.DeliveryProcessed {
		t.Fatalf("after Temporal came back: %s %s", got.Status, got.Error)
	}
	if got := s.attendees(in, ""); len(got) != 1 || !got[0].Access {
		t.Fatalf("attendee after recovery: %+v", got)
	}
}
