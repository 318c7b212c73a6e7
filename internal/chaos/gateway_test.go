package chaos

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cventsync/cventsync/workflows"
)

// trickle reads r at about rate bytes a second: a sender on a slow link.
type trickle struct {
	r    io.Reader
	rate int
}

func (t *trickle) Read(p []byte) (int, error) {
	chunk := t.rate / 10
	if len(p) > chunk {
		p = p[:chunk]
	}
	time.Sleep(100 * time.Millisecond)
	return t.r.Read(p)
}

// Two gateways and two workers; a burst of registrations spread over both
// gateways while a manual sync trickles in to the first. In the middle of
// the burst the first gateway and the worker running the drain are
// SIGKILLed. What got no 2xx (the requests in flight at the dead gateway,
// the half-uploaded sync, and the rest of its share of the burst) is sent
// again to the surviving gateway. Every webhook is applied exactly once,
// and the half-stored upload is never applied.
func TestGatewayKilledInTheMiddleOfABurst(t *testing.T) {
	h := newHarness(t)
	r := &Report{Scenario: fmt.Sprintf("gateway SIGKILLed in a %d-webhook burst", h.sc.Burst)}
	gwA, gwB := h.gateways()
	in := h.createIntegration(gwA, "", "")
	s := h.newSender()

	// A 1,000-attendee manual sync (1.2 MB, streamed to PostgreSQL) that
	// arrives at 100 KB/s: its upload is under way when the gateway dies.
	big := s.manualSyncPadded(in, 1000, 1000)
	uploaded := make(chan int, 1)
	go func() {
		status := h.postReader(gwA, in, &trickle{r: bytes.NewReader(big.body), rate: 100 << 10}, int64(len(big.body)))
		s.record(big, status)
		uploaded <- status
	}()
	h.waitFor("the manual sync's upload under way", 10*time.Second, func() (bool, string) {
		var n int
		_ = h.store.DB().Get(&n, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'receiving'`, in.ID)
		return n > 0, "no body being received"
	})

	msgs := make([]*message, h.sc.Burst)
	for i := range msgs {
		msgs[i] = s.registration(in)
	}
	var acked atomic.Int64
	var killed atomic.Bool
	var killOnce sync.Once
	var drainer *pendingActivity
	var waitingAtKill int
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, m := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			gw := gwB
			if i%2 == 0 {
				gw = gwA
				if killed.Load() {
					return // the dead gateway's share waits for the resend
				}
			}
			if status := s.deliver(gw, m); status/100 != 2 {
				return
			}
			if acked.Add(1) == int64(len(msgs)/3) {
				killOnce.Do(func() {
					drainer = h.runningActivity(workflows.IngestWorkflowID(in.ID))
					_ = h.store.DB().Get(&waitingAtKill, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'received'`, in.ID)
					killed.Store(true)
					gwA.Kill()
					if drainer != nil {
						drainer.Worker.Kill()
					}
				})
			}
		}()
	}
	wg.Wait()
	bigStatus := <-uploaded

	var noAnswer int
	s.mu.Lock()
	for _, m := range msgs {
		noAnswer += m.noAnswer
	}
	s.mu.Unlock()
	if noAnswer > 0 || bigStatus == 0 {
		r.Proof = append(r.Proof, fmt.Sprintf("%s (pid %d) died with requests in flight: %d registrations got no answer, and the manual sync's upload was cut (answer %d)",
			gwA.Name, gwA.Pid(), noAnswer, bigStatus))
	}
	if bigStatus != 0 {
		t.Errorf("the trickling manual sync was answered %d before the kill: it was not in flight", bigStatus)
	}
	if drainer != nil {
		r.Proof = append(r.Proof, fmt.Sprintf("%s running the drain was killed too, with %d deliveries waiting", drainer.Worker.Name, waitingAtKill))
	} else {
		t.Errorf("no worker was running the drain when the kill came")
	}
	resent := s.resendUnacked(2 * time.Minute)
	r.Notes = append(r.Notes, fmt.Sprintf("%d webhooks resent to %s", resent, gwB.Name))
	s.settle(2 * time.Minute).inWebhooks(r)
	var partial int
	_ = h.store.DB().Get(&partial, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'receiving'`, in.ID)
	r.Notes = append(r.Notes, fmt.Sprintf("%d half-received bodies left as 'receiving' (removed by the maintenance sweep after an hour), never applied", partial))
	h.report(r)
}
