package chaos

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/store"
)

// A worker is SIGKILLed while it applies a 10,000-attendee manual sync: the
// other worker takes the activity over after its heartbeat timeout and
// resumes after the last committed chunk. Every attendee ends with access,
// and none committed before the kill is written again (no attendee row is
// rewritten and each has one change log entry, so the platform sees each
// attendee once).
func TestWorkerKilledInTheMiddleOfASync(t *testing.T) {
	h := newHarness(t)
	total := h.sc.SyncSize
	r := &Report{Scenario: fmt.Sprintf("worker SIGKILLed in a %d-attendee sync", total)}
	gw, _ := h.gateways()
	in := h.createIntegration(gw, "", "")
	s := h.newSender()
	m := s.manualSync(in, total)
	if status := s.deliver(gw, m); status != http.StatusOK {
		t.Fatalf("manual sync answered %d", status)
	}
	var d store.Delivery
	h.waitFor("the sync to be under way", 60*time.Second, func() (bool, string) {
		_ = h.store.DB().Get(&d, `SELECT id, applied_items, status, workflow_id FROM deliveries WHERE integration_id = $1 AND message_stub = $2`, in.ID, m.stub)
		return d.AppliedItems > 0, fmt.Sprintf("%d applied, %s", d.AppliedItems, d.Status)
	})
	var victim *pendingActivity
	h.waitFor("the apply activity on a worker", 10*time.Second, func() (bool, string) {
		victim = h.runningActivity(d.WorkflowID)
		return victim != nil, "no activity running"
	})
	victim.Worker.Kill()
	killedAt := time.Now()
	var appliedAtKill int
	_ = h.store.DB().Get(&appliedAtKill, `SELECT applied_items FROM deliveries WHERE id = $1`, d.ID)
	if appliedAtKill < total {
		r.Proof = append(r.Proof, fmt.Sprintf("%s attempt %d was applying the sync on %s (pid %d), %d of %d attendees committed, when it was killed",
			victim.Type, victim.Attempt, victim.Worker.Name, victim.Worker.Pid(), appliedAtKill, total))
	} else {
		t.Errorf("the sync finished before the kill (%d applied): the test proves nothing", appliedAtKill)
	}
	s.settle(2 * time.Minute).inAttendees(r)
	r.Notes = append(r.Notes, fmt.Sprintf("finished %v after the kill", time.Since(killedAt).Round(time.Second)))
	starts := h.activityStarts(d.WorkflowID, victim.Type)
	if len(starts) == 0 || strings.Contains(starts[len(starts)-1], victim.Worker.Name+" ") {
		t.Errorf("the sync was not finished by another worker: %v", starts)
	} else {
		r.Notes = append(r.Notes, "finished by "+starts[len(starts)-1])
	}
	// A chunk committed before the kill and applied again would rewrite its
	// attendees, or log them twice: count attendees that were either.
	var twice int
	if err := h.store.DB().Get(&twice, `SELECT count(*) FROM attendees a
		LEFT JOIN (SELECT key, count(*) AS n FROM changes WHERE integration_id = $1 AND key LIKE 'attendee:%' GROUP BY key) c
		ON c.key = 'attendee:' || a.invitee_id
		WHERE a.integration_id = $1 AND lower(a.invitee_id) = ANY($2) AND (a.updated_at > a.created_at OR c.n > 1)`,
		in.ID, pq.StringArray(m.invitees)); err != nil {
		t.Fatal(err)
	}
	if twice > r.Twice {
		r.Notes = append(r.Notes, fmt.Sprintf("%d attendees rewritten after they were created: a chunk was applied again", twice-r.Twice))
		r.Twice = twice
	}
	h.report(r)
}
