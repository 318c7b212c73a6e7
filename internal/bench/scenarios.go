package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/cventsync/cventsync/internal/simulator"
)

// Metric is one measured number.
type Metric struct {
	// Step names a part of a scenario (e.g. "100/s"); "" for the whole.
	Step   string
	Name   string
	Unit   string
	Value  float64
	Target string // e.g. "≤ 250"; empty when there is none
	// Ok reports whether Value meets Target; nil when there is no target.
	Ok *bool
	// CPU marks the cores one component (Name) used during the step.
	CPU bool
}

// Result is one run of one scenario.
type Result struct {
	Key      string // the --only name: live, burst, sync, participation, sustained
	Scenario string
	Metrics  []Metric
	Notes    []string
}

func (r *Result) add(name, unit string, v float64) {
	r.Metrics = append(r.Metrics, Metric{Name: name, Unit: unit, Value: v})
}

func (r *Result) addTarget(name, unit string, v, limit float64) {
	ok := v <= limit
	r.Metrics = append(r.Metrics, Metric{Name: name, Unit: unit, Value: v, Target: fmt.Sprintf("≤ %g", limit), Ok: &ok})
}

func (e *Env) target(in *Integration) simulator.Target {
	return simulator.Target{URL: in.WebhookURL, Token: in.WebhookToken, Client: e.HTTP}
}

// Burst posts registrations of mixed statuses as fast as `concurrency`
// senders of the Cvent simulator can.
func (e *Env) Burst(ctx context.Context, total, concurrency int) (*Result, error) {
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return nil, err
	}
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano())})
	regs, want, admitted := registrations(sim, total)
	cpu, err := e.startCPU()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	sent := sendAll(ctx, concurrency, len(regs), func(i int) simulator.Sent {
		return postRegistration(ctx, sim, e.target(in), regs[i])
	})
	sendTime := time.Since(start)
	answers := make([]time.Duration, 0, len(sent))
	// The first wave is the `concurrency` webhooks sent at the same instant,
	// into an integration with no drainer yet; the rest arrive as answers free
	// the senders.
	var firstWave, later []time.Duration
	rejected := 0
	for i, r := range sent {
		if r.Err != nil || r.Status != http.StatusOK {
			rejected++
			continue
		}
		answers = append(answers, r.Latency)
		if i < concurrency {
			firstWave = append(firstWave, r.Latency)
		} else {
			later = append(later, r.Latency)
		}
	}
	waitErr := e.waitApplied(ctx, in.ID, total, admitted, 50*time.Millisecond)
	allAccess := time.Since(start)
	usage, err := cpu.stop()
	if err != nil {
		return nil, err
	}
	check, err := e.checkAccess(ctx, in.ID, want)
	if err != nil {
		return nil, err
	}
	res := &Result{Key: "burst", Scenario: "2. burst"}
	res.add("webhooks", "", float64(total))
	res.add("of which Accepted (get access)", "", float64(admitted))
	res.add("send time", "s", sendTime.Seconds())
	res.add("answer p50", "ms", ms(Percentile(answers, 50)))
	res.addTarget("answer p99", "ms", ms(Percentile(answers, 99)), 100)
	res.add("answer p99 of the first wave (sent at once)", "ms", ms(Percentile(firstWave, 99)))
	res.add("answer p99 after the first wave", "ms", ms(Percentile(later, 99)))
	res.addTarget("deliveries lost", "", float64(check.Missing), 0)
	res.addTarget("wrong access", "", float64(check.Wrong), 0)
	res.add("answers not 200", "", float64(rejected))
	res.addTarget("all applied", "s", allAccess.Seconds(), 30)
	if waitErr != nil {
		res.Notes = append(res.Notes, "not all applied: "+waitErr.Error())
	}
	res.addCPU("", usage)
	base, baseLatency, err := e.baselineConcurrentInserts(ctx, total, concurrency)
	if err != nil {
		return nil, err
	}
	res.add("baseline: INSERTs with same concurrency", "s", base.Seconds())
	res.add("baseline: INSERT p99 at that concurrency", "ms", ms(Percentile(baseLatency, 99)))
	res.add("ratio all-applied / baseline", "x", allAccess.Seconds()/base.Seconds())
	return res, nil
}

// registrations makes n registrants of mixed statuses in the simulator and
// returns them, the access each should end with, and how many get access.
func registrations(sim *simulator.Simulator, n int) ([]simulator.Attendee, map[string]bool, int) {
	regs := make([]simulator.Attendee, n)
	want := make(map[string]bool, n)
	admitted := 0
	for i := range regs {
		status := mixStatus(i)
		regs[i] = sim.AddAttendee(benchAttendee(uuid.NewString(), i, status))
		want[regs[i].ID] = wantsAccess(status)
		if wantsAccess(status) {
			admitted++
		}
	}
	return regs, want, admitted
}

// sendAll runs n sends from `parallel` senders.
func sendAll(ctx context.Context, parallel, n int, send func(i int) simulator.Sent) []simulator.Sent {
	out := make([]simulator.Sent, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, parallel); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = send(i)
			}
		}()
	}
	for i := range out {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// waitApplied polls the stats until n attendees are in the directory and
// `admitted` of them have access.
func (e *Env) waitApplied(ctx context.Context, integrationID string, n, admitted int, every time.Duration) error {
	_, err := WaitFor(ctx, 5*time.Minute, every, func() (bool, error) {
		st, err := e.Stats(ctx, integrationID)
		return err == nil && st.Attendees >= n && st.WithAccess >= admitted, err
	})
	return err
}

// ManualSync posts one AttendeeManualSynced of n attendees, sampling the
// gateway's and worker's memory meanwhile.
func (e *Env) ManualSync(ctx context.Context, n int) (*Result, error) {
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return nil, err
	}
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano()), Attendees: n})
	want := make(map[string]bool, n)
	admitted := 0
	for i, a := range sim.Attendees() {
		status := mixStatus(i)
		if a.Status != status {
			sim.Update(a.ID, func(a *simulator.Attendee) { a.Status = status })
		}
		want[a.ID] = wantsAccess(status) // guests are admitted too (mapping default)
		if wantsAccess(status) {
			admitted++
		}
	}
	peak := e.sampleRSS()
	cpu, err := e.startCPU()
	if err != nil {
		peak.stop()
		return nil, err
	}
	start := time.Now()
	sent := sim.SendManualSync(ctx, e.target(in))
	if sent.Err != nil || sent.Status != http.StatusOK {
		peak.stop()
		return nil, fmt.Errorf("manual sync post: status %d, %v", sent.Status, sent.Err)
	}
	answer := sent.Latency
	waitErr := e.waitApplied(ctx, in.ID, n, admitted, 20*time.Millisecond)
	all := time.Since(start)
	usage, err := cpu.stop()
	gw, wk := peak.stop()
	if err != nil {
		return nil, err
	}
	check, err := e.checkAccess(ctx, in.ID, want)
	if err != nil {
		return nil, err
	}
	res := &Result{Key: "sync", Scenario: "3. manual sync"}
	res.add("attendees", "", float64(n))
	res.add("of which Accepted (get access)", "", float64(admitted))
	res.addTarget("answer", "s", answer.Seconds(), 2)
	res.addTarget("all applied", "s", all.Seconds(), 15)
	res.add("attendees per second", "/s", float64(n)/all.Seconds())
	res.addTarget("attendees missing", "", float64(check.Missing), 0)
	res.addTarget("wrong access", "", float64(check.Wrong), 0)
	res.addTarget("peak RSS gateway", "MB", float64(gw)/1e6, 300)
	res.addTarget("peak RSS worker", "MB", float64(wk)/1e6, 300)
	if waitErr != nil {
		res.Notes = append(res.Notes, "not all applied: "+waitErr.Error())
	}
	res.addCPU("", usage)
	body, _ := ManualSync(n)
	base, err := e.baselineBatchInsert(ctx, body)
	if err != nil {
		return nil, err
	}
	res.add("baseline: one batched INSERT of the same records", "s", base.Seconds())
	res.add("ratio all-applied / baseline", "x", all.Seconds()/base.Seconds())
	return res, nil
}

type rssSampler struct {
	done     chan struct{}
	mu       sync.Mutex
	gw, wk   int64
	finished chan struct{}
}

func (e *Env) sampleRSS() *rssSampler {
	s := &rssSampler{done: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		for {
			g, _ := RSS(e.Gateway.Process.Pid)
			w, _ := RSS(e.Worker.Process.Pid)
			s.mu.Lock()
			s.gw, s.wk = max(s.gw, g), max(s.wk, w)
			s.mu.Unlock()
			select {
			case <-s.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() (gateway, worker int64) {
	close(s.done)
	<-s.finished
	return s.gw, s.wk
}

// The baselines: the same records into PostgreSQL, no Temporal, no cventsync.

func (e *Env) baselineTable(ctx context.Context) (string, error) {
	name := "bench_baseline_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	_, err := e.Store.DB().ExecContext(ctx, `CREATE TABLE `+name+` (invitee_id text PRIMARY KEY, email text, first_name text,
		last_name text, company text, title text, access boolean, item jsonb, updated_at timestamptz DEFAULT now())`)
	return name, err
}

const baselineInsert = `INSERT INTO %s (invitee_id, email, first_name, last_name, company, title, access, item)
	VALUES ($1, $2, $3, $4, $5, $6, true, $7)`

func (e *Env) baselineSingleInserts(ctx context.Context, n int) ([]time.Duration, error) {
	table, err := e.baselineTable(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]time.Duration, n)
	for i := range out {
		id := uuid.NewString()
		item, _ := json.Marshal(attendeeItem(id, i, ""))
		start := time.Now()
		if _, err := e.Store.DB().ExecContext(ctx, fmt.Sprintf(baselineInsert, table), id, "e", "f", "l", "c", "t", string(item)); err != nil {
			return nil, err
		}
		out[i] = time.Since(start)
	}
	return out, nil
}

func (e *Env) baselineConcurrentInserts(ctx context.Context, n, concurrency int) (time.Duration, []time.Duration, error) {
	table, err := e.baselineTable(ctx)
	if err != nil {
		return 0, nil, err
	}
	latency := make([]time.Duration, n)
	jobs := make(chan int)
	errc := make(chan error, concurrency)
	failed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id := uuid.NewString()
				item, _ := json.Marshal(attendeeItem(id, i, ""))
				began := time.Now()
				if _, err := e.Store.DB().ExecContext(ctx, fmt.Sprintf(baselineInsert, table), id, "e", "f", "l", "c", "t", string(item)); err != nil {
					errc <- err
					once.Do(func() { close(failed) })
					return
				}
				latency[i] = time.Since(began)
			}
		}()
	}
send:
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
		case <-failed:
			break send
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return 0, nil, err
	default:
	}
	return time.Since(start), latency, nil
}

// baselineBatchInsert decodes the same body and inserts its items in one statement.
func (e *Env) baselineBatchInsert(ctx context.Context, body []byte) (time.Duration, error) {
	table, err := e.baselineTable(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	var env struct {
		Message []json.RawMessage `json:"message"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, err
	}
	ids, emails, items := make([]string, len(env.Message)), make([]string, len(env.Message)), make([]string, len(env.Message))
	access := make([]bool, len(env.Message))
	for i, raw := range env.Message {
		var it struct{ InviteeStub, Email, InviteeStatus string }
		_ = json.Unmarshal(raw, &it)
		ids[i], emails[i], items[i] = it.InviteeStub, it.Email, string(raw)
		access[i] = wantsAccess(it.InviteeStatus)
	}
	_, err = e.Store.DB().ExecContext(ctx, `INSERT INTO `+table+` (invitee_id, email, access, item)
		SELECT u.id, u.email, u.access, u.item::jsonb FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[]) AS u(id, email, access, item)`,
		pq.StringArray(ids), pq.StringArray(emails), pq.BoolArray(access), pq.StringArray(items))
	return time.Since(start), err
}
