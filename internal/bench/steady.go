package bench

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cventsync/cventsync/internal/simulator"
)

// Targets of the steady-rate scenarios.
const (
	liveAccessP50Target = 150.0  // ms, registration → access p50 at 20/s
	accessP99Target     = 1000.0 // ms, registration → access p99
	answerP99Target     = 50.0   // ms, webhook answer p99 in the sustained scenario
)

// After the last webhook of a step, the probe keeps looking while attendees
// still settle: a registration not visible with the right access once
// nothing settled for settleNoProgress (or after settleLimit) is lost.
const (
	settleNoProgress = 30 * time.Second
	settleLimit      = 5 * time.Minute
)

// steadyRun is one step at one rate.
type steadyRun struct {
	Rate      int
	Sent      int
	Achieved  float64 // webhooks per second actually sent
	Accepted  int     // registrations that should get access
	NotOK     int     // answers that were not 200, or no answer
	Answers   []time.Duration
	Probe     probeOutcome
	Check     accessCheck
	CPU       CPUUsage
	SendTime  time.Duration
	ProbeTime time.Duration // from the first send until the probe stopped
	// Deliveries counts the integration's deliveries by status when some
	// registrations were lost: where they stopped.
	Deliveries map[string]int
}

// steady posts single registrations of mixed statuses at perSecond for
// duration, each from its own goroutine as Cvent does, to a fresh
// integration, and measures answers, registration → access, the directory's
// final state and the CPU each component used while sending.
func (e *Env) steady(ctx context.Context, perSecond int, duration time.Duration) (*steadyRun, error) {
	if perSecond <= 0 {
		return nil, fmt.Errorf("steady rate: %d per second", perSecond)
	}
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("steady rate %d/s: %w", perSecond, err)
	}
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano())})
	probe := e.newAccessProbe(in.ID)
	pctx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan struct{})
	go func() { defer close(probeDone); probe.run(pctx) }()
	defer func() { stopProbe(); <-probeDone }()

	n := max(1, int(float64(perSecond)*duration.Seconds()))
	run := &steadyRun{Rate: perSecond, Sent: n, Answers: make([]time.Duration, 0, n)}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	cpu, err := e.startCPU()
	if err != nil {
		return nil, err
	}
	period := time.Second / time.Duration(perSecond)
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := sleepUntil(ctx, start.Add(time.Duration(i)*period)); err != nil {
			return nil, err
		}
		status := mixStatus(i)
		if wantsAccess(status) {
			run.Accepted++
		}
		pos, id, err := probe.register(wantsAccess(status))
		if err != nil {
			return nil, err
		}
		a := sim.AddAttendee(benchAttendee(id, i, status))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := postRegistration(ctx, sim, e.target(in), a)
			probe.sent(pos, sent.SentAt)
			mu.Lock()
			defer mu.Unlock()
			if sent.Err != nil || sent.Status != http.StatusOK {
				run.NotOK++
				return
			}
			run.Answers = append(run.Answers, sent.Latency)
		}()
	}
	run.SendTime = time.Since(start)
	run.Achieved = float64(n) / max(run.SendTime.Seconds(), period.Seconds())
	wg.Wait()
	if run.CPU, err = cpu.stop(); err != nil {
		return nil, err
	}
	probe.settle(ctx, settleNoProgress, settleLimit)
	stopProbe()
	<-probeDone
	run.ProbeTime = time.Since(start)
	run.Probe = probe.outcome()
	want := make(map[string]bool, n)
	for i, id := range run.Probe.Registered {
		want[id] = run.Probe.Want[i]
	}
	if run.Check, err = e.checkAccess(ctx, in.ID, want); err != nil {
		return nil, err
	}
	if run.Check.Missing > 0 {
		if st, err := e.Stats(ctx, in.ID); err == nil {
			run.Deliveries = st.Deliveries
		}
	}
	return run, nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// benchAttendee is the i-th registrant of a scenario, with the given id and status.
func benchAttendee(id string, i int, status string) simulator.Attendee {
	return simulator.Attendee{ID: id, FirstName: "Amara", LastName: "Okafor" + strconv.Itoa(i),
		Email: fmt.Sprintf("reg%d.%s@northwind.example", i, id[len(id)-12:]), Company: "Northwind Labs",
		Title: "Director of Research", Status: status, CustomFields: map[string]string{}}
}

// postRegistration sends one registration the way Cvent tells its status.
func postRegistration(ctx context.Context, sim *simulator.Simulator, t simulator.Target, a simulator.Attendee) simulator.Sent {
	eventType, withStatus := deliveryFor(a.Status)
	return sim.Post(ctx, t, eventType, []map[string]any{sim.WebhookItem(a, withStatus)})
}

// addSteady adds a step's metrics to a result.
func (r *Result) addSteady(step string, run *steadyRun, p50Target float64, answerTarget float64) {
	add := func(name, unit string, v float64) {
		r.Metrics = append(r.Metrics, Metric{Step: step, Name: name, Unit: unit, Value: v})
	}
	target := func(name, unit string, v, limit float64) {
		ok := v <= limit
		r.Metrics = append(r.Metrics, Metric{Step: step, Name: name, Unit: unit, Value: v, Target: fmt.Sprintf("≤ %g", limit), Ok: &ok})
	}
	maybe := func(name, unit string, v, limit float64) {
		if limit > 0 {
			target(name, unit, v, limit)
		} else {
			add(name, unit, v)
		}
	}
	add("registrations sent", "", float64(run.Sent))
	add("send rate achieved", "/s", run.Achieved)
	add("of which Accepted (get access)", "", float64(run.Accepted))
	add("answer p50", "ms", ms(Percentile(run.Answers, 50)))
	maybe("answer p99", "ms", ms(Percentile(run.Answers, 99)), answerTarget)
	maybe("registration to access p50", "ms", ms(Percentile(run.Probe.Latency, 50)), p50Target)
	target("registration to access p99", "ms", ms(Percentile(run.Probe.Latency, 99)), accessP99Target)
	target("lost (sent, never applied)", "", float64(run.Check.Missing), 0)
	target("wrong access", "", float64(run.Check.Wrong), 0)
	add("answers not 200", "", float64(run.NotOK))
	if secs := run.ProbeTime.Seconds(); secs > 0 {
		add("probe list requests", "/s", float64(run.Probe.Requests)/secs)
		add("probe rows read", "/s", float64(run.Probe.RowsRead)/secs)
	}
	r.addCPU(step, run.CPU)
	if len(run.Deliveries) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s%d lost; deliveries by status at the end: %s",
			stepPrefix(step), run.Check.Missing, formatCounts(run.Deliveries)))
	}
	if run.Probe.Unsettled > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%s%d registrations never visible with the right access (%d seen with the wrong one); counted in the percentiles with the time waited",
			stepPrefix(step), run.Probe.Unsettled, run.Probe.SeenWrong))
	}
}

func stepPrefix(step string) string {
	if step == "" {
		return ""
	}
	return step + ": "
}

// Live posts single registrations at a steady rate, sent by the Cvent
// simulator, and measures the answer and the time until the attendee is
// visible with the access it should have through the API.
func (e *Env) Live(ctx context.Context, perSecond int, duration time.Duration) (*Result, error) {
	run, err := e.steady(ctx, perSecond, duration)
	if err != nil {
		return nil, err
	}
	res := &Result{Key: "live", Scenario: "1. live registrations"}
	res.addSteady("", run, liveAccessP50Target, 0)
	base, err := e.baselineSingleInserts(ctx, run.Sent)
	if err != nil {
		return nil, err
	}
	res.add("baseline: single INSERT p50", "ms", ms(Percentile(base, 50)))
	res.add("ratio access p50 / INSERT p50", "x", ms(Percentile(run.Probe.Latency, 50))/ms(Percentile(base, 50)))
	return res, nil
}

// Sustained runs a steady step at each rate, each for duration on a fresh
// integration, and reports the highest rate at which registration → access
// p99 stays within its target.
func (e *Env) Sustained(ctx context.Context, rates []int, duration time.Duration) (*Result, error) {
	res := &Result{Key: "sustained", Scenario: "5. sustained rate"}
	p99 := map[int]float64{}
	for _, rate := range rates {
		e.log.Info("sustained rate step", "rate", rate, "duration", duration)
		run, err := e.steady(ctx, rate, duration)
		if err != nil {
			return nil, fmt.Errorf("sustained %d/s: %w", rate, err)
		}
		res.addSteady(RateStep(rate), run, 0, answerP99Target)
		p99[rate] = ms(Percentile(run.Probe.Latency, 99))
	}
	best, ok := highestHolding(p99, accessP99Target)
	res.add("highest rate with registration to access p99 ≤ 1 s", "/s", float64(best))
	if !ok {
		res.Notes = append(res.Notes, "registration to access p99 exceeded 1 s at every rate tried")
	}
	if len(rates) > 0 {
		if err := e.commitControl(ctx, res, rates[len(rates)-1], duration); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// commitControl runs the highest rate again with PostgreSQL's commits not
// waiting for the disk (synchronous_commit off, a control, never a setting
// to run with: an acknowledged webhook must be on disk). What the answer
// loses against the step itself is the wait for the WAL flush; what is left
// is CPU and scheduling.
func (e *Env) commitControl(ctx context.Context, res *Result, rate int, duration time.Duration) error {
	set := func(q string) error {
		if _, err := e.Store.DB().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("commit control: %s: %w", q, err)
		}
		if _, err := e.Store.DB().ExecContext(ctx, `SELECT pg_reload_conf()`); err != nil {
			return fmt.Errorf("commit control: reload: %w", err)
		}
		return nil
	}
	if err := set(`ALTER SYSTEM SET synchronous_commit = off`); err != nil {
		return err
	}
	e.log.Info("sustained rate control step: commits not waiting for the disk", "rate", rate, "duration", duration)
	run, err := e.steady(ctx, rate, duration)
	if rerr := set(`ALTER SYSTEM RESET synchronous_commit`); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("sustained %d/s control: %w", rate, err)
	}
	step := ControlStep(rate)
	for _, m := range []struct {
		name string
		v    float64
	}{
		{"answer p50", ms(Percentile(run.Answers, 50))},
		{"answer p99", ms(Percentile(run.Answers, 99))},
		{"registration to access p50", ms(Percentile(run.Probe.Latency, 50))},
		{"registration to access p99", ms(Percentile(run.Probe.Latency, 99))},
	} {
		res.Metrics = append(res.Metrics, Metric{Step: step, Name: m.name, Unit: "ms", Value: m.v})
	}
	res.Metrics = append(res.Metrics, Metric{Step: step, Name: "lost (sent, never applied)", Value: float64(run.Check.Missing)})
	res.addCPU(step, run.CPU)
	return nil
}

// ControlStep names the sustained scenario's control step at rate.
func ControlStep(rate int) string {
	return RateStep(rate) + ", commits not waiting for the disk (control)"
}

// isControlStep tells the control step from the rate steps.
func isControlStep(step string) bool { return strings.HasSuffix(step, "(control)") }

// RateStep names a sustained step.
func RateStep(rate int) string { return strconv.Itoa(rate) + "/s" }

// highestHolding is the highest rate up to which p99 (ms) stays within
// limit: rates are taken in ascending order and the first one that misses
// ends the search, so a lucky higher rate after a miss does not count.
// false when the lowest rate misses already.
func highestHolding(p99 map[int]float64, limit float64) (int, bool) {
	rates := make([]int, 0, len(p99))
	for r := range p99 {
		rates = append(rates, r)
	}
	sort.Ints(rates)
	best, ok := 0, false
	for _, r := range rates {
		if p99[r] > limit {
			break
		}
		best, ok = r, true
	}
	return best, ok
}

// formatCounts writes counts as "a 3, b 1", by name.
func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
