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
	Name   string
	Unit   string
	Value  float64
	Target string // e.g. "≤ 250"; empty when there is none
	// Ok reports whether Value meets Target; nil when there is no target.
	Ok *bool
}

// Result is one run of one scenario.
type Result struct {
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

// Live posts single registrations at a steady rate, sent by the Cvent
// simulator, and measures the answer and the time until the attendee is
// visible with access through the API.
func (e *Env) Live(ctx context.Context, perSecond int, duration time.Duration) (*Result, error) {
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return nil, err
	}
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano())})
	target := e.target(in)
	n := perSecond * int(duration/time.Second)
	answers, access := make([]time.Duration, n), make([]time.Duration, n)
	failures := make([]error, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		a := sim.Register(1)[0]
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sent := sim.Post(ctx, target, "InviteeOrGuestAccepted", []map[string]any{sim.WebhookItem(a, false)})
			if sent.Err == nil && sent.Status != http.StatusOK {
				sent.Err = fmt.Errorf("status %d", sent.Status)
			}
			if sent.Err != nil {
				failures[i] = sent.Err
				return
			}
			answers[i] = sent.Latency
			_, err := WaitBackoff(ctx, 60*time.Second, 5*time.Millisecond, 40*time.Millisecond, func() (bool, error) {
				return e.HasAccess(ctx, in.ID, a.ID)
			})
			access[i] = time.Since(sent.SentAt)
			failures[i] = err
		}(i)
	}
	wg.Wait()
	res := &Result{Scenario: "1. live registrations"}
	res.add("registrations", "", float64(n))
	bad := 0
	for _, f := range failures {
		if f != nil {
			bad++
		}
	}
	res.addTarget("registrations without access", "", float64(bad), 0)
	res.add("answer p50", "ms", ms(Percentile(answers, 50)))
	res.add("answer p99", "ms", ms(Percentile(answers, 99)))
	res.addTarget("registration to access p50", "ms", ms(Percentile(access, 50)), 250)
	res.addTarget("registration to access p99", "ms", ms(Percentile(access, 99)), 1000)

	base, err := e.baselineSingleInserts(ctx, n)
	if err != nil {
		return nil, err
	}
	res.add("baseline: single INSERT p50", "ms", ms(Percentile(base, 50)))
	res.add("ratio access p50 / INSERT p50", "x", ms(Percentile(access, 50))/ms(Percentile(base, 50)))
	return res, nil
}

func (e *Env) target(in *Integration) simulator.Target {
	return simulator.Target{URL: in.WebhookURL, Token: in.WebhookToken, Client: e.HTTP}
}

// Burst posts registrations as fast as `concurrency` senders of the Cvent
// simulator can.
func (e *Env) Burst(ctx context.Context, total, concurrency int) (*Result, error) {
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return nil, err
	}
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano())})
	start := time.Now()
	sent := sim.SendRegistrations(ctx, e.target(in), total, 0, concurrency)
	sendTime := time.Since(start)
	answers := make([]time.Duration, 0, len(sent))
	rejected := 0
	for _, r := range sent {
		if r.Err != nil || r.Status != http.StatusOK {
			rejected++
			continue
		}
		answers = append(answers, r.Latency)
	}
	_, waitErr := WaitFor(ctx, 5*time.Minute, 50*time.Millisecond, func() (bool, error) {
		st, err := e.Stats(ctx, in.ID)
		return err == nil && st.WithAccess >= total, err
	})
	allAccess := time.Since(start)
	st, err := e.Stats(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	res := &Result{Scenario: "2. burst"}
	res.add("webhooks", "", float64(total))
	res.add("send time", "s", sendTime.Seconds())
	res.add("answer p50", "ms", ms(Percentile(answers, 50)))
	res.addTarget("answer p99", "ms", ms(Percentile(answers, 99)), 100)
	res.addTarget("deliveries lost", "", float64(total-st.WithAccess), 0)
	res.add("answers not 200", "", float64(rejected))
	res.addTarget("all with access", "s", allAccess.Seconds(), 30)
	if waitErr != nil {
		res.Notes = append(res.Notes, "not all had access: "+waitErr.Error())
	}
	base, err := e.baselineConcurrentInserts(ctx, total, concurrency)
	if err != nil {
		return nil, err
	}
	res.add("baseline: INSERTs with same concurrency", "s", base.Seconds())
	res.add("ratio all-with-access / baseline", "x", allAccess.Seconds()/base.Seconds())
	return res, nil
}

// ManualSync posts one AttendeeManualSynced of n attendees, sampling the
// gateway's and worker's memory meanwhile.
func (e *Env) ManualSync(ctx context.Context, n int) (*Result, error) {
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return nil, err
	}
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano()), Attendees: n})
	for _, a := range sim.Attendees() {
		if a.Status != "Accepted" { // the scenario wants all 10,000 admitted
			sim.Update(a.ID, func(a *simulator.Attendee) { a.Status = "Accepted" })
		}
	}
	admitted := n
	peak := e.sampleRSS()
	start := time.Now()
	sent := sim.SendManualSync(ctx, e.target(in))
	if sent.Err != nil || sent.Status != http.StatusOK {
		peak.stop()
		return nil, fmt.Errorf("manual sync post: status %d, %v", sent.Status, sent.Err)
	}
	answer := sent.Latency
	_, waitErr := WaitFor(ctx, 5*time.Minute, 20*time.Millisecond, func() (bool, error) {
		st, err := e.Stats(ctx, in.ID)
		return err == nil && st.Attendees >= n && st.WithAccess >= admitted, err
	})
	all := time.Since(start)
	gw, wk := peak.stop()
	res := &Result{Scenario: "3. manual sync"}
	res.add("attendees", "", float64(n))
	res.add("of which Accepted (get access)", "", float64(admitted))
	res.addTarget("answer", "s", answer.Seconds(), 2)
	res.addTarget("all with access", "s", all.Seconds(), 15)
	res.add("attendees per second", "/s", float64(n)/all.Seconds())
	res.addTarget("peak RSS gateway", "MB", float64(gw)/1e6, 300)
	res.addTarget("peak RSS worker", "MB", float64(wk)/1e6, 300)
	if waitErr != nil {
		res.Notes = append(res.Notes, "not all had access: "+waitErr.Error())
	}
	body, _ := ManualSync(n)
	base, err := e.baselineBatchInsert(ctx, body)
	if err != nil {
		return nil, err
	}
	res.add("baseline: one batched INSERT of the same records", "s", base.Seconds())
	res.add("ratio all-with-access / baseline", "x", all.Seconds()/base.Seconds())
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
		if _, err := e.Store.DB().ExecContext(ctx, fmt.Sprintf(baselineInsert, table), id, "e", "f", "l", "c", "t", item); err != nil {
			return nil, err
		}
		out[i] = time.Since(start)
	}
	return out, nil
}

func (e *Env) baselineConcurrentInserts(ctx context.Context, n, concurrency int) (time.Duration, error) {
	table, err := e.baselineTable(ctx)
	if err != nil {
		return 0, err
	}
	jobs := make(chan int)
	errc := make(chan error, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id := uuid.NewString()
				item, _ := json.Marshal(attendeeItem(id, i, ""))
				if _, err := e.Store.DB().ExecContext(ctx, fmt.Sprintf(baselineInsert, table), id, "e", "f", "l", "c", "t", item); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	return time.Since(start), nil
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
	for i, raw := range env.Message {
		var it struct{ InviteeStub, Email string }
		_ = json.Unmarshal(raw, &it)
		ids[i], emails[i], items[i] = it.InviteeStub, it.Email, string(raw)
	}
	_, err = e.Store.DB().ExecContext(ctx, `INSERT INTO `+table+` (invitee_id, email, access, item)
		SELECT u.id, u.email, true, u.item::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, email, item)`,
		pq.StringArray(ids), pq.StringArray(emails), pq.StringArray(items))
	return time.Since(start), err
}
