package chaos

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// backend is a cventsync connection PostgreSQL serves.
type backend struct {
	App   string `db:"application_name"`
	State string `db:"state"`
	Query string `db:"query"`
}

// openTransactions lists cventsync's connections that are inside a
// transaction right now.
func (h *harness) openTransactions() []backend {
	var out []backend
	_ = h.store.DB().Select(&out, `SELECT application_name, COALESCE(state, '') AS state, left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS query
		FROM pg_stat_activity WHERE application_name LIKE 'cventsync-%' AND xact_start IS NOT NULL`)
	return out
}

// PostgreSQL is restarted (pg_ctl restart: every connection cut, open
// transactions rolled back) under a live stream of registrations, while a
// manual sync is being applied chunk by chunk. Webhooks that got no 2xx
// during the restart are sent again; the sync's apply is retried and
// resumes after its last committed chunk. Every webhook and every attendee
// ends applied exactly once.
func TestPostgresRestartedUnderALiveStream(t *testing.T) {
	h := newHarness(t)
	r := &Report{Scenario: "PostgreSQL restarted under a live stream"}
	gw, _ := h.gateways()
	in := h.createIntegration(gw, "", "")
	s := h.newSender()
	st := s.startStream(h.sc.StreamRate, in)
	h.waitFor("registrations applied before the restart", 30*time.Second, func() (bool, string) {
		ds, _ := s.deliveries()
		return ds.processed >= h.sc.StreamRate, fmt.Sprintf("%+v", ds)
	})
	big := s.manualSync(in, h.sc.PGSyncSize)
	if status := s.deliver(gw, big); status != http.StatusOK {
		t.Fatalf("manual sync answered %d", status)
	}
	var workflowID string
	h.waitFor("the manual sync under way", time.Minute, func() (bool, string) {
		var applied int
		_ = h.store.DB().QueryRow(`SELECT applied_items, workflow_id FROM deliveries WHERE integration_id = $1 AND message_stub = $2`,
			in.ID, big.stub).Scan(&applied, &workflowID)
		return applied > 0, fmt.Sprintf("%d applied", applied)
	})
	var open []backend
	h.waitFor("a cventsync transaction open", 10*time.Second, func() (bool, string) {
		open = h.openTransactions()
		return len(open) > 0, "none"
	})
	_, _, noAnswerBefore, refusedBefore := s.counts()
	began := time.Now()
	if err := h.topo.RestartPostgres(context.Background()); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	took := time.Since(began)
	var appliedAtRestart int
	var statusAtRestart string
	h.waitFor("the database back", 30*time.Second, func() (bool, string) {
		err := h.store.DB().QueryRow(`SELECT applied_items, status FROM deliveries WHERE integration_id = $1 AND message_stub = $2`,
			in.ID, big.stub).Scan(&appliedAtRestart, &statusAtRestart)
		return err == nil, fmt.Sprint(err)
	})
	t.Logf("PostgreSQL restarted in %v", took.Round(time.Millisecond))
	var txs []string
	for _, b := range open {
		txs = append(txs, fmt.Sprintf("%s (%s: %s)", b.App, b.State, b.Query))
	}
	r.Proof = append(r.Proof, fmt.Sprintf("%d cventsync transactions were open just before the restart: %s", len(open), strings.Join(txs, "; ")))
	if statusAtRestart == "received" && appliedAtRestart < len(big.invitees) {
		r.Proof = append(r.Proof, fmt.Sprintf("the manual sync's apply was in the middle: %d of %d attendees committed when the restart cut it", appliedAtRestart, len(big.invitees)))
	} else {
		t.Errorf("the manual sync was %s with %d applied at the restart: it was not in flight", statusAtRestart, appliedAtRestart)
	}

	time.Sleep(3 * time.Second) // the stream goes on a little after the restart
	st.Stop()
	_, _, noAnswer, refused := s.counts()
	if n := noAnswer - noAnswerBefore + refused - refusedBefore; n > 0 {
		r.Proof = append(r.Proof, fmt.Sprintf("%d webhook tries got no 2xx during the restart (%d no answer, %d refused) and were sent again",
			n, noAnswer-noAnswerBefore, refused-refusedBefore))
	}
	resent := s.resendUnacked(time.Minute)
	r.Notes = append(r.Notes, fmt.Sprintf("restart took %v; %d tries resent", took.Round(time.Millisecond), resent))
	s.settle(2 * time.Minute).inWebhooks(r)
	if starts := h.activityStarts(workflowID, "ApplyDelivery"); len(starts) > 0 {
		r.Notes = append(r.Notes, "manual sync finished by "+starts[len(starts)-1])
	}
	h.report(r)
}
