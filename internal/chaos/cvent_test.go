package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/simulator"
)

// cventPhase is one kind of fault Cvent shows while cventsync pulls every
// attendee of the event (a re-sync, each phase into a new integration) and
// then writes check-ins back for attendees no other phase touches.
type cventPhase struct {
	name string
	// pull and writeBack are the simulator's faults during each half.
	pull, writeBack simulator.FaultsJSON
	// hit names what in the counts shows the fault struck: it reads the
	// simulator's counts and the workers' Cvent call counts over a half.
	hit func(d cventDelta) []string
	// held is the daily quota: cventsync must stop and keep everything
	// until the quota is back (the test stands in for 00:00 UTC).
	held bool
}

// cventDelta is what changed in the simulator's and the workers' counts
// over one half of a phase.
type cventDelta struct {
	before, after *SimStats
	// calls are the workers' Cvent calls by answer status ("0": no answer)
	// and rate limit kind ("429 per_second", "429 daily").
	calls map[string]float64
	// maxHeld is the most calls Cvent held open at once, per endpoint,
	// seen while the half ran: calls in flight at the client.
	maxHeld map[string]int
}

func (d cventDelta) ae(endpoint string) simulator.AfterEffectStats {
	a, b := d.after.AfterEffects[endpoint], d.before.AfterEffects[endpoint]
	return simulator.AfterEffectStats{Calls: a.Calls - b.Calls, Dropped: a.Dropped - b.Dropped, Delayed: a.Delayed - b.Delayed,
		Abandoned: a.Abandoned - b.Abandoned, Failed: a.Failed - b.Failed, Slowed: a.Slowed - b.Slowed}
}

func (d cventDelta) status5xx() int {
	n := 0.0
	for k, v := range d.calls {
		if strings.HasPrefix(k, "5") {
			n += v
		}
	}
	return int(n)
}

// Endpoints the pull reads attendees through: a short filter goes as GET,
// a long one as POST /attendees/filter.
const (
	listAttendees   = "GET /attendees"
	filterAttendees = "POST /attendees/filter"
)

func onPull(action string, calls []int, delay time.Duration) []simulator.AfterEffect {
	var out []simulator.AfterEffect
	for _, e := range []string{listAttendees, filterAttendees} {
		out = append(out, simulator.AfterEffect{Endpoint: e, Calls: calls, Action: action, Delay: delay})
	}
	return out
}

// cventPhases are the faults in turn: at full size one phase per kind; in
// the short run 5xx, per-second 429s, slow and dropped answers strike
// together (each at chosen calls, so each is sure to strike) and the daily
// quota, which stops everything, has a phase of its own.
func cventPhases(sc scale) []cventPhase {
	checkIn := simulator.EndpointEventCheckIn
	errors5xx := cventPhase{
		name: "5xx",
		// One call in twenty fails before Cvent acts; chosen pages answer
		// 500, and every second check-in call acts and then answers 500.
		// (At one in ten the re-sync's session import, some twenty calls
		// that a failure starts over, needed more than ten minutes.)
		pull:      simulator.FaultsJSON{ErrorRate: 0.05, AfterEffects: onPull(simulator.Action500, []int{2, 5}, 0)},
		writeBack: simulator.FaultsJSON{ErrorRate: 0.05, AfterEffects: []simulator.AfterEffect{{Endpoint: checkIn, Every: 2, Action: simulator.Action500}}},
		hit: func(d cventDelta) []string {
			var out []string
			if n := d.ae(listAttendees).Failed + d.ae(filterAttendees).Failed; n > 0 {
				out = append(out, fmt.Sprintf("%d attendee pages answered 500 (cventsync got %d answers 5xx in all)", n, d.status5xx()))
			}
			if n := d.ae(checkIn).Failed; n > 0 {
				out = append(out, fmt.Sprintf("%d check-in calls acted and then answered 500 (cventsync got %d answers 5xx in all)", n, d.status5xx()))
			}
			return out
		},
	}
	tooMany := cventPhase{
		name: "429 Too Many Requests",
		// A 3 s storm of per-second 429s from the moment the faults are
		// set, and the next two calls whenever they come.
		pull:      simulator.FaultsJSON{TooManyRequests: 2, TooManyRequestsFor: "3s"},
		writeBack: simulator.FaultsJSON{TooManyRequests: 2, TooManyRequestsFor: "3s"},
		hit: func(d cventDelta) []string {
			if n := d.after.TooManyRequests - d.before.TooManyRequests; n > 0 {
				return []string{fmt.Sprintf("Cvent answered %d times 429 Too Many Requests; cventsync counted %.0f per-second 429s", n, d.calls["429 per_second"])}
			}
			return nil
		},
	}
	daily := cventPhase{
		name:      "429 Limit Exceeded",
		pull:      simulator.FaultsJSON{LimitExceeded: true},
		writeBack: simulator.FaultsJSON{LimitExceeded: true},
		held:      true,
		hit: func(d cventDelta) []string {
			if n := d.after.LimitExceeded - d.before.LimitExceeded; n > 0 {
				return []string{fmt.Sprintf("Cvent answered %d times 429 Limit Exceeded; cventsync counted %.0f daily-quota 429s", n, d.calls["429 daily"])}
			}
			return nil
		},
	}
	slow := cventPhase{
		name: "slow answers",
		// Every answer late by Latency; one page held before Cvent reads it,
		// and every second check-in call acted on and answered LateAnswer
		// later (at full size past the client's 60 s timeout).
		pull: simulator.FaultsJSON{Latency: sc.Latency.String(), AfterEffects: onPull(simulator.ActionSlow, []int{2}, sc.LateAnswer)},
		writeBack: simulator.FaultsJSON{Latency: sc.Latency.String(), AfterEffects: []simulator.AfterEffect{
			{Endpoint: checkIn, Every: 2, Action: simulator.ActionDelay, Delay: sc.LateAnswer}}},
		hit: func(d cventDelta) []string {
			var out []string
			if n := d.ae(listAttendees).Slowed + d.ae(filterAttendees).Slowed; n > 0 {
				out = append(out, fmt.Sprintf("%d attendee page calls held %v by Cvent (%d at once seen in flight)", n, sc.LateAnswer,
					max(d.maxHeld[listAttendees], d.maxHeld[filterAttendees])))
			}
			if a := d.ae(checkIn); a.Delayed > 0 {
				out = append(out, fmt.Sprintf("%d check-in calls acted on and answered %v late (%d seen in flight at once, %d abandoned by the client)",
					a.Delayed, sc.LateAnswer, d.maxHeld[checkIn], a.Abandoned))
			}
			return out
		},
	}
	dropped := cventPhase{
		name:      "dropped answers",
		pull:      simulator.FaultsJSON{AfterEffects: onPull(simulator.ActionDrop, []int{2, 5}, 0)},
		writeBack: simulator.FaultsJSON{AfterEffects: []simulator.AfterEffect{{Endpoint: checkIn, Every: 2, Action: simulator.ActionDrop}}},
		hit: func(d cventDelta) []string {
			var out []string
			if n := d.ae(listAttendees).Dropped + d.ae(filterAttendees).Dropped; n > 0 {
				out = append(out, fmt.Sprintf("%d attendee pages read and their connections dropped", n))
			}
			if n := d.ae(checkIn).Dropped; n > 0 {
				out = append(out, fmt.Sprintf("%d check-in calls acted on and their connections dropped (cventsync saw %.0f calls without an answer)", n, d.calls["0"]))
			}
			return out
		},
	}
	if sc.Full {
		return []cventPhase{errors5xx, tooMany, daily, slow, dropped}
	}
	// Together: the after-effects strike chosen calls, one kind each
	// (a call two rules match takes the first).
	kinds := []cventPhase{errors5xx, tooMany, slow, dropped}
	mixed := cventPhase{
		name: "5xx, 429s, slow, dropped",
		// One strike of each: every failed attempt of the re-sync's activity
		// waits longer before the next (2 s doubling), whatever the kind.
		pull: simulator.FaultsJSON{TooManyRequests: 1, Latency: sc.Latency.String(),
			AfterEffects: slices.Concat(onPull(simulator.Action500, []int{2}, 0), onPull(simulator.ActionDrop, []int{3}, 0),
				onPull(simulator.ActionSlow, []int{4}, sc.LateAnswer))},
		writeBack: simulator.FaultsJSON{TooManyRequests: 1, Latency: sc.Latency.String(),
			AfterEffects: []simulator.AfterEffect{{Endpoint: checkIn, Calls: []int{1}, Action: simulator.ActionDelay, Delay: sc.LateAnswer},
				{Endpoint: checkIn, Calls: []int{2}, Action: simulator.ActionDrop}, {Endpoint: checkIn, Calls: []int{3}, Action: simulator.Action500}}},
		hit: func(d cventDelta) []string {
			var out []string
			for _, k := range kinds {
				h := k.hit(d)
				if len(h) == 0 {
					// One kind that struck nothing: the phase proves less
					// than it claims.
					return nil
				}
				out = append(out, h...)
			}
			return out
		},
	}
	return []cventPhase{mixed, daily}
}

// A simulated Cvent account, a process of its own, shows each kind of
// fault in turn: answers 5xx, both kinds of 429, slow answers and dropped
// answers. Under each, cventsync pulls every attendee of the event into a
// new integration (a re-sync) and then writes check-ins back for attendees
// logged in on the platform. Every attendee reaches the directory with one
// change log entry, and every check-in reaches Cvent exactly once by
// Cvent's own count.
func TestCventFaults(t *testing.T) {
	h := newHarness(t)
	sim, err := h.c.StartSimulator(context.Background(), SimulatorOptions{Attendees: h.sc.CventAttendees, Seed: 7, Tier: "Premium"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	phases := cventPhases(h.sc)
	for i, p := range phases {
		t.Run(strings.ReplaceAll(p.name, " ", "_"), func(t *testing.T) {
			ph := newHarness(t)
			ph.cventPhase(sim, p, i, len(phases))
		})
	}
}

func (h *harness) cventPhase(sim *Simulator, p cventPhase, index, phases int) {
	t := h.t
	gw, _ := h.gateways()
	in := h.createIntegration(gw, sim.EventID, fmt.Sprintf(`,"cvent":{"clientId":%q,"clientSecret":%q,"baseUrl":%q},"participation":{"criterion":"login"}`,
		sim.ClientID, sim.ClientSecret, sim.BaseURL()))

	// The pull: a re-sync of every attendee.
	pull := &Report{Scenario: "Cvent " + p.name + ": pull"}
	began := time.Now()
	d := h.cventHalf(sim, p.pull, func(watch func() bool) {
		var rs struct {
			ID         int64  `json:"id"`
			WorkflowID string `json:"workflowId"`
		}
		h.admin(gw, http.MethodPost, "/api/v1/integrations/"+in.ID+"/resync", "", http.StatusAccepted, &rs)
		if p.held {
			h.holdsPull(pull, in, rs.WorkflowID, sim, watch)
		}
		var status struct {
			Status      string
			Total, Done int
			Error       string
		}
		if !h.pollWatching(h.cventTimeout(), watch, func() bool {
			h.admin(gw, http.MethodGet, fmt.Sprintf("/api/v1/integrations/%s/resyncs/%d", in.ID, rs.ID), "", http.StatusOK, &status)
			return status.Status != "running"
		}) {
			t.Errorf("the re-sync did not finish: %+v", status)
		}
		pull.Acked = status.Done
		pull.Notes = append(pull.Notes, fmt.Sprintf("re-sync %s: %d of %d read %s", status.Status, status.Done, status.Total, status.Error))
	})
	pull.Proof = append(pull.Proof, p.hit(d)...)
	pull.Sent = h.sc.CventAttendees
	db := h.store.DB()
	var inDirectory, changedTwice int
	_ = db.Get(&inDirectory, `SELECT count(*) FROM attendees WHERE integration_id = $1`, in.ID)
	_ = db.Get(&changedTwice, `SELECT count(*) FROM (SELECT key FROM changes WHERE integration_id = $1 AND key LIKE 'attendee:%'
		GROUP BY key HAVING count(*) > 1) x`, in.ID)
	pull.Applied, pull.Lost, pull.Twice = inDirectory, max(0, pull.Sent-inDirectory), changedTwice
	pull.Took = time.Since(began)
	if pull.Acked > pull.Sent {
		pull.Notes = append(pull.Notes, fmt.Sprintf("%d read, more than the %d Cvent has: pages read twice", pull.Acked, pull.Sent))
		pull.Acked = pull.Sent
	}
	h.report(pull)

	// The write-back: logins for this phase's own slice of the accepted
	// attendees, so that Cvent's counts of each phase stand apart.
	var accepted []string
	_ = db.Select(&accepted, `SELECT invitee_id FROM attendees WHERE integration_id = $1 AND access ORDER BY lower(invitee_id)`, in.ID)
	k := min(h.sc.Logins, len(accepted)/phases)
	if k == 0 {
		t.Fatalf("no accepted attendees to log in (%d in the directory)", inDirectory)
	}
	slice := accepted[index*k : (index+1)*k]
	wb := &Report{Scenario: fmt.Sprintf("Cvent %s: write-back", p.name), Sent: k}
	began = time.Now()
	d = h.cventHalf(sim, p.writeBack, func(watch func() bool) {
		for i := 0; i < len(slice); i += 100 {
			items := []map[string]any{}
			for _, id := range slice[i:min(i+100, len(slice))] {
				items = append(items, map[string]any{"type": "login", "inviteeId": id})
			}
			wb.Acked += h.activity(gw, in, items)
		}
		if p.held {
			h.holdsWriteBack(wb, in, k, sim, watch)
		}
		if !h.pollWatching(h.cventTimeout(), watch, func() bool {
			c := h.participation(in.ID)
			return c["written"]+c["failed"] >= k && c["sending"] == 0
		}) {
			t.Errorf("check-ins not all settled: %v", h.participation(in.ID))
		}
		// Nothing may still be on its way to Cvent when Cvent's counts are
		// read: wait until it holds no check-in call open.
		h.pollWatching(h.cventTimeout(), watch, func() bool {
			st, err := sim.Stats()
			return err == nil && st.AfterEffects[simulator.EndpointEventCheckIn].Held == 0
		})
	})
	wb.Took = time.Since(began)
	wb.Proof = append(wb.Proof, p.hit(d)...)
	inSlice := make(map[string]bool, len(slice))
	for _, id := range slice {
		inSlice[strings.ToLower(id)] = true
	}
	checkedIn := d.after.EffectTargets[simulator.EndpointEventCheckIn] - d.before.EffectTargets[simulator.EndpointEventCheckIn]
	wb.Applied = checkedIn
	wb.Lost = max(0, k-checkedIn)
	if checkedIn > k {
		t.Errorf("Cvent checked in %d attendees for %d logins", checkedIn, k)
	}
	for id, n := range d.after.RepeatedEffects[simulator.EndpointEventCheckIn] {
		if inSlice[strings.ToLower(id)] {
			wb.Twice++
			if wb.Twice <= 3 {
				wb.Notes = append(wb.Notes, fmt.Sprintf("attendee %s checked in %d times", id, n))
			}
		}
	}
	c := h.participation(in.ID)
	wb.Notes = append(wb.Notes, fmt.Sprintf("cventsync's record: %v; %d check-in calls reached Cvent", c,
		d.after.Calls[simulator.EndpointEventCheckIn]-d.before.Calls[simulator.EndpointEventCheckIn]))
	if c["written"] != k {
		t.Errorf("%d check-ins recorded written, want %d: %v", c["written"], k, c)
	}
	h.report(wb)
}

// cventHalf sets the faults, runs fn and returns what changed in the
// counts meanwhile; fn's waits call watch to sample what Cvent holds open.
func (h *harness) cventHalf(sim *Simulator, faults simulator.FaultsJSON, fn func(watch func() bool)) cventDelta {
	h.t.Helper()
	d := cventDelta{maxHeld: map[string]int{}}
	var err error
	if d.before, err = sim.Stats(); err != nil {
		h.t.Fatal(err)
	}
	callsBefore := h.cventCalls()
	if err := sim.SetFaults(faults); err != nil {
		h.t.Fatal(err)
	}
	watch := func() bool {
		st, err := sim.Stats()
		if err != nil {
			return false
		}
		for e, a := range st.AfterEffects {
			d.maxHeld[e] = max(d.maxHeld[e], a.Held)
		}
		return true
	}
	fn(watch)
	if err := sim.SetFaults(simulator.FaultsJSON{}); err != nil {
		h.t.Fatal(err)
	}
	if d.after, err = sim.Stats(); err != nil {
		h.t.Fatal(err)
	}
	d.calls = h.cventCalls()
	for k, v := range callsBefore {
		d.calls[k] -= v
	}
	return d
}

// holdsPull checks that a pull refused by the daily quota holds: its
// activity waits for a retry after 00:00 UTC, nothing is applied and the
// re-sync has not failed. Then, as if Cvent's quota were back, it clears
// the fault and resets the activity (`temporal activity reset`: an
// operator's "try now", and what the retry at midnight would do).
func (h *harness) holdsPull(r *Report, in integration, workflowID string, sim *Simulator, watch func() bool) {
	t := h.t
	var held *pendingActivity
	if !h.pollWatching(time.Minute, watch, func() bool {
		for _, a := range h.pendingActivities(workflowID) {
			if a.LastFailureType != "" {
				held = &a
				return a.LastFailureType == "CventLimitExceeded"
			}
		}
		return false
	}) {
		t.Fatalf("the re-sync did not stop on the daily quota: %+v", held)
	}
	midnight := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	var applied int
	_ = h.store.DB().Get(&applied, `SELECT count(*) FROM attendees WHERE integration_id = $1`, in.ID)
	if held.NextAttempt.Before(midnight) || applied != 0 {
		t.Errorf("held pull: next attempt %v (want after %v), %d attendees applied", held.NextAttempt, midnight, applied)
	}
	r.Proof = append(r.Proof, fmt.Sprintf("the re-sync's %s stopped after attempt %d and waits until %s, with nothing applied and nothing lost",
		held.Type, held.Attempt-1, held.NextAttempt.UTC().Format(time.RFC3339)))
	if err := sim.SetFaults(simulator.FaultsJSON{}); err != nil {
		t.Fatal(err)
	}
	h.resetActivity(workflowID, held.Type)
	r.Notes = append(r.Notes, "quota back: the test reset the waiting activity (temporal activity reset) instead of waiting for 00:00 UTC")
}

// holdsWriteBack checks that check-ins refused by the daily quota are
// parked: all still pending, none failed, none sent. Then, as if the quota
// were back, it clears the fault, ends the parked workflow and triggers the
// maintenance sweep, which starts a new one (the test stands in for the
// workflow's timer at 00:00 UTC).
func (h *harness) holdsWriteBack(r *Report, in integration, k int, sim *Simulator, watch func() bool) {
	t := h.t
	// The first call is refused: its check-ins are parked with the reason,
	// the rest wait behind them; nothing is sent, nothing fails.
	parked := 0
	if !h.pollWatching(time.Minute, watch, func() bool {
		_ = h.store.DB().Get(&parked, `SELECT count(*) FROM participation WHERE integration_id = $1 AND status = 'pending'
			AND last_error LIKE '%daily API limit%'`, in.ID)
		return parked > 0
	}) {
		t.Fatalf("no check-in parked on the daily quota: %v", h.participation(in.ID))
	}
	if c := h.participation(in.ID); c["pending"] != k {
		t.Errorf("with the daily quota spent, check-ins %v, want all %d pending", c, k)
	}
	r.Proof = append(r.Proof, fmt.Sprintf("the write-back stopped on the daily quota: %d check-ins parked until 00:00 UTC with the reason, "+
		"all %d pending, none sent, none failed", parked, k))
	if err := sim.SetFaults(simulator.FaultsJSON{}); err != nil {
		t.Fatal(err)
	}
	// The operator's word that Cvent takes calls again resumes the parked
	// write-back at once (the workflow's own timer would at 00:00 UTC).
	gw, _ := h.gateways()
	var resumed struct{ Status string }
	h.admin(gw, http.MethodPost, "/api/v1/integrations/"+in.ID+"/participation/resume", "", http.StatusAccepted, &resumed)
	r.Notes = append(r.Notes, "quota back: the test resumed the parked write-back (POST …/participation/resume) instead of waiting for 00:00 UTC")
}

func (h *harness) cventTimeout() time.Duration {
	if h.sc.Full {
		return 10 * time.Minute
	}
	return 2 * time.Minute
}

// pollWatching polls cond every 100 ms, sampling watch each time, until
// cond holds or the timeout passes.
func (h *harness) pollWatching(timeout time.Duration, watch func() bool, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		watch()
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// activity reports platform activity; it returns how many items were accepted.
func (h *harness) activity(gw *Process, in integration, items []map[string]any) int {
	h.t.Helper()
	b, _ := json.Marshal(items)
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/v1/integrations/"+in.ID+"/activity", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+in.PlatformKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.HTTP.Do(req)
	if err != nil {
		h.t.Fatalf("activity: %v", err)
	}
	defer resp.Body.Close()
	var ans struct{ Accepted int }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ans) != nil {
		h.t.Fatalf("activity answered %d", resp.StatusCode)
	}
	return ans.Accepted
}

// participation counts an integration's check-ins by status.
func (h *harness) participation(integrationID string) map[string]int {
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	_ = h.store.DB().Select(&rows, `SELECT status, count(*) AS n FROM participation WHERE integration_id = $1 GROUP BY status`, integrationID)
	out := map[string]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

// cventCalls sums the running workers' Cvent call counters: by answer
// status ("0" when no answer came) and, for 429s, by kind ("429 per_second",
// "429 daily").
func (h *harness) cventCalls() map[string]float64 {
	out := map[string]float64{}
	for _, w := range h.c.Alive("worker") {
		resp, err := h.c.HTTP.Get(w.URL + "/metrics")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var key string
			switch {
			case strings.HasPrefix(line, "cventsync_cvent_calls_total{"):
				key = label(line, "status")
			case strings.HasPrefix(line, "cventsync_cvent_rate_limited_total{"):
				key = "429 " + label(line, "kind")
			default:
				continue
			}
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				out[key] += v
			}
		}
		resp.Body.Close()
	}
	return out
}

// label reads a label's value from a Prometheus text line.
func label(line, name string) string {
	_, rest, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}
