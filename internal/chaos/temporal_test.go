package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cventsync/cventsync/workflows"
)

// Temporal is stopped for a minute (15 s in the short run) under a live
// stream of registrations, then started again on the same SQLite file.
// One integration is busy when Temporal stops: its drainer (an activity
// already running) goes on applying without Temporal, and Temporal times
// the attempt out when it returns. Another integration gets its first
// registrations during the outage: the gateways store and acknowledge them,
// cannot start its drainer, and start it once Temporal answers. At full
// size manual syncs arrive during the outage too; their workflows start
// once Temporal is back. Every registration ends applied exactly once.
func TestTemporalDownUnderALiveStream(t *testing.T) {
	h := newHarness(t)
	r := &Report{Scenario: fmt.Sprintf("Temporal down %v under a live stream", h.sc.Outage)}
	gw, _ := h.gateways()
	busy := h.createIntegration(gw, "", "")
	quiet := h.createIntegration(gw, "", "")
	s := h.newSender()
	st := s.startStream(h.sc.StreamRate, busy)
	var drain *pendingActivity
	h.waitFor("the busy integration's drainer running on a worker", 30*time.Second, func() (bool, string) {
		drain = h.runningActivity(workflows.IngestWorkflowID(busy.ID))
		return drain != nil, "no Drain activity running"
	})
	// Some of the stream applied before the outage.
	h.waitFor("registrations applied before the outage", 30*time.Second, func() (bool, string) {
		ds, _ := s.deliveries()
		return ds.processed >= h.sc.StreamRate, fmt.Sprintf("%+v", ds)
	})

	if err := h.topo.StopTemporal(); err != nil {
		t.Fatalf("stop Temporal: %v", err)
	}
	stoppedAt := time.Now()
	t.Logf("Temporal stopped; drainer %s attempt %d was running on %s", drain.Type, drain.Attempt, drain.Worker.Name)
	st.add(quiet)
	var syncs []*message
	if h.sc.Full {
		// Manual syncs need a workflow of their own: they wait for Temporal.
		for i := 0; i < 3; i++ {
			m := s.manualSync(busy, 150)
			syncs = append(syncs, m)
			s.deliver(gw, m)
			time.Sleep(h.sc.Outage / 4)
		}
	}
	time.Sleep(h.sc.Outage - time.Since(stoppedAt)) // the outage itself

	// What Temporal's absence held up: the quiet integration's deliveries,
	// stored and acknowledged, none applied.
	var quietAcked, quietWaiting, quietApplied, busyAppliedDuring int
	var lastApplied *time.Time
	s.mu.Lock()
	for _, m := range s.msgs {
		if m.in.ID == quiet.ID && m.acked {
			quietAcked++
		}
	}
	s.mu.Unlock()
	db := h.store.DB()
	if err := db.Get(&quietWaiting, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'received'`, quiet.ID); err != nil {
		t.Fatal(err)
	}
	_ = db.Get(&quietApplied, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'processed'`, quiet.ID)
	_ = db.Get(&busyAppliedDuring, `SELECT count(*) FROM deliveries WHERE integration_id = $1 AND status = 'processed'
		AND received_at > $2 AND processed_at < now()`, busy.ID, stoppedAt)
	_ = db.Get(&lastApplied, `SELECT max(processed_at) FROM deliveries WHERE integration_id = $1 AND status = 'processed'`, busy.ID)
	var syncsWaiting int
	for _, m := range syncs {
		var status string
		_ = db.Get(&status, `SELECT status FROM deliveries WHERE integration_id = $1 AND message_stub = $2`, busy.ID, m.stub)
		if status == "received" {
			syncsWaiting++
		}
	}

	if err := h.topo.StartTemporal(context.Background()); err != nil {
		t.Fatalf("start Temporal again: %v", err)
	}
	back := time.Now()
	t.Logf("Temporal back after %v", back.Sub(stoppedAt).Round(time.Millisecond))
	if drain.Worker != nil {
		until := "the end of the outage"
		if lastApplied != nil && lastApplied.After(stoppedAt) {
			until = fmt.Sprintf("%v into the outage", lastApplied.Sub(stoppedAt).Round(time.Second))
		}
		r.Proof = append(r.Proof, fmt.Sprintf("the busy integration's drainer (%s attempt %d) was running on %s when Temporal stopped; "+
			"it applied %d registrations received during the outage, until %s", drain.Type, drain.Attempt, drain.Worker.Name, busyAppliedDuring, until))
	}
	// The busy integration's drainer needs only PostgreSQL: it must go on
	// applying the stream through the whole outage, not stop when its
	// heartbeats fail (the SDK cancels such an activity after 8 s).
	if drain.Worker != nil {
		if lastApplied == nil || lastApplied.Before(stoppedAt.Add(h.sc.Outage-3*time.Second)) {
			t.Errorf("the busy integration's drainer stopped applying during the outage (last applied %v, outage %v from %v)",
				lastApplied, h.sc.Outage, stoppedAt)
		}
	}
	if quietAcked > 0 && quietWaiting >= quietAcked && quietApplied == 0 {
		r.Proof = append(r.Proof, fmt.Sprintf("%d registrations of an integration first heard of during the outage were stored and acknowledged "+
			"and waited, none applied, until Temporal was back", quietWaiting))
	} else {
		t.Errorf("the outage held nothing up: the quiet integration had %d acknowledged, %d waiting, %d applied", quietAcked, quietWaiting, quietApplied)
	}
	if h.sc.Full {
		if syncsWaiting == 0 {
			t.Errorf("no manual sync received during the outage was waiting for its workflow")
		} else {
			r.Proof = append(r.Proof, fmt.Sprintf("%d manual syncs received during the outage waited for their workflows", syncsWaiting))
		}
	}

	time.Sleep(3 * time.Second) // the stream goes on a little with Temporal back
	st.Stop()
	if n := s.resendUnacked(time.Minute); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d tries resent after a non-2xx or no answer", n))
	}
	settleWithin := 2 * time.Minute
	if h.sc.Full {
		// A manual sync whose workflow could not start waits for the
		// maintenance sweep, which takes it for abandoned after 2 minutes.
		settleWithin = 5 * time.Minute
	}
	s.settle(settleWithin).inWebhooks(r)
	// How long after Temporal's return the last of each kind was applied.
	for _, kind := range []struct {
		what  string
		large bool
	}{{"registrations", false}, {"manual syncs", true}} {
		var last *time.Time
		_ = db.Get(&last, `SELECT max(processed_at) FROM deliveries WHERE integration_id IN ($1, $2) AND large = $3 AND received_at > $4`,
			busy.ID, quiet.ID, kind.large, stoppedAt)
		if last != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("the last of the %s received during the outage was applied %v after Temporal was back",
				kind.what, last.Sub(back).Round(time.Second)))
		}
	}
	h.report(r)
}
