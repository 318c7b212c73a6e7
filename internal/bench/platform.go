package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/receiver"
	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// The platform scenario (issue 11, "Targets in make bench"): the leg from
// cventsync to the event platform. The platform is the reference receiver
// (internal/receiver), served on 127.0.0.1 inside the benchmark process and
// registered as a destination of a fresh integration per step; it verifies
// every signature, deduplicates by webhook-id and keeps each key's seqs in
// arrival order, and tells the benchmark when each change arrived.

// PlatformEnv is what the gateway and the worker need for the platform
// scenario: its receiver listens on plain http on the loopback address,
// which the outbound policy refuses by default.
var PlatformEnv = []string{"CVENTSYNC_OUTBOUND_POLICY=http,loopback"}

// Targets and fixed parameters of the platform scenario.
const (
	platformLiveRate      = 20     // registrations per second of the first live step
	platformP50Target     = 150.0  // ms, webhook sent → platform has the change, p50
	platformP99Target     = 1000.0 // ms, the same, p99
	platformSyncBatch     = 500    // batchSize of the manual-sync step's destination
	platformSyncAllTarget = 3.0    // s after the sync's answer until the platform has every attendee
	platformFeedTarget    = 1.0    // s to read the sync's entries from the change feed
	platformFeedPage      = 1000   // limit of one feed request (the API's maximum)

	// The outage step streams outageLead before taking the receiver down
	// and outageTail after bringing it back.
	outageLead = 10 * time.Second
	outageTail = 10 * time.Second
	// Every followEvery-th registration, if Accepted, is cancelled
	// followDelay later, so that attendees get a second change queued
	// behind their first one: per-attendee order means something.
	followEvery = 4
	followDelay = 2 * time.Second
	// maxRetryInterval is the Destination workflow's longest retry
	// interval: after an outage the next attempt may be that far away.
	maxRetryInterval = workflows.DestinationMaxRetryInterval
)

// PlatformOptions configure the platform scenario.
type PlatformOptions struct {
	LiveDuration time.Duration // each live step (issue: 20/s; the second at HighRate)
	HighRate     int           // registrations per second of the second live step
	SyncSize     int           // attendees of the manual-sync step
	Outage       time.Duration // how long the receiver is down during the outage step
}

// DefaultPlatformOptions are the figures: 30 s live steps, the
// second at 100/s (an approximation of the pipeline's highest sustained
// rate), a 10,000-attendee sync and a 5-minute outage.
func DefaultPlatformOptions() PlatformOptions {
	return PlatformOptions{LiveDuration: 30 * time.Second, HighRate: 100, SyncSize: 10000, Outage: 5 * time.Minute}
}

// CheckPlatformOptions validates the platform flags.
func CheckPlatformOptions(o PlatformOptions) error {
	switch {
	case o.LiveDuration < time.Second:
		return fmt.Errorf("--platform-seconds: %v is shorter than a second", o.LiveDuration)
	case o.HighRate <= 0:
		return fmt.Errorf("--platform-rate: %d is not a positive rate", o.HighRate)
	case o.SyncSize <= 0:
		return fmt.Errorf("--platform-sync-size: %d is not a positive count", o.SyncSize)
	case o.Outage < time.Second:
		return fmt.Errorf("--platform-outage: %v is shorter than a second", o.Outage)
	}
	return nil
}

// Platform runs the platform scenario's steps: live registrations at 20/s
// and at the high rate, a manual sync with a batching destination and the
// change feed, and a receiver outage during a live stream.
func (e *Env) Platform(ctx context.Context, o PlatformOptions) (*Result, error) {
	if err := CheckPlatformOptions(o); err != nil {
		return nil, err
	}
	res := &Result{Key: "platform", Scenario: "7. platform leg: changes to the event platform"}
	rates := []int{platformLiveRate}
	if o.HighRate != platformLiveRate {
		rates = append(rates, o.HighRate)
	}
	for _, rate := range rates {
		e.log.Info("platform: live step", "rate", rate, "duration", o.LiveDuration)
		if err := e.platformLive(ctx, res, rate, o.LiveDuration); err != nil {
			return nil, fmt.Errorf("live %d/s: %w", rate, err)
		}
	}
	e.log.Info("platform: manual sync step", "attendees", o.SyncSize)
	if err := e.platformSync(ctx, res, o.SyncSize); err != nil {
		return nil, fmt.Errorf("manual sync: %w", err)
	}
	e.log.Info("platform: outage step", "outage", o.Outage)
	if err := e.platformOutage(ctx, res, o.Outage); err != nil {
		return nil, fmt.Errorf("outage: %w", err)
	}
	return res, nil
}

// platformMethod describes the scenario for BENCHMARKS.md.
func platformMethod() string {
	return fmt.Sprintf(`
The platform scenario (7) measures the leg to the event platform. The platform is
the reference receiver (internal/receiver: verifies the Standard Webhooks signature,
deduplicates by webhook-id, keeps each key's seqs in arrival order) on 127.0.0.1 in the
benchmark process, registered as a destination of a fresh integration per step.
"Webhook to platform" runs from sending the Cvent webhook until the receiver has the
signed change of that attendee (first change of its key), at %d/s and at the second
rate (--platform-rate, standing in for the pipeline's highest sustained rate), each
registration from its own goroutine, batchSize 1. The sync step posts one
AttendeeManualSynced to a destination of batchSize %d, times the platform having every
attendee from the sync's answer (the sync also logs each attendee's agenda, agenda.changed,
reported apart), then reads the sync's entries from the change feed with the platform key
(limit %d, paging with next). The outage step streams %d/s; %s in,
the receiver answers 503 for --platform-outage, then accepts again, and the stream goes
on for %s; every %dth registration, if Accepted, is cancelled %s later. Every step then
compares the change log (read through the feed) with what the receiver got: "missing"
entries it never got, "out of order" changes that arrived after a higher seq of the
same attendee, "duplicates with a new webhook-id" a seq of an attendee received again
under another id (repeats under the same id are allowed and counted apart), and the
receiver's final record of every attendee against the directory's access.
`, platformLiveRate, platformSyncBatch, platformFeedPage, platformLiveRate, outageLead, outageTail, followEvery, followDelay)
}

// platform is one step's receiver and destination.
type platform struct {
	env    *Env
	in     *Integration
	rcv    *receiver.Receiver
	srv    *http.Server
	arr    *arrivals
	destID string
	url    string
}

// newPlatform serves a reference receiver on 127.0.0.1 and registers it as
// a destination of the integration with the given batch size.
func (e *Env) newPlatform(ctx context.Context, in *Integration, batchSize int) (*platform, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &platform{env: e, in: in, arr: newArrivals(), url: "http://" + ln.Addr().String() + "/hooks/cventsync"}
	var d struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := e.admin(ctx, http.MethodPost, "/api/v1/integrations/"+in.ID+"/destinations",
		map[string]any{"url": p.url, "types": []string{}, "batchSize": batchSize, "enabled": true}, &d); err != nil {
		ln.Close()
		return nil, fmt.Errorf("create destination (the worker and gateway need %s): %w", strings.Join(PlatformEnv, " "), err)
	}
	p.destID = d.ID
	// Connections wait in the listener's backlog until Serve: nothing is
	// logged yet, so the destination has nothing to send meanwhile.
	p.rcv, err = receiver.New(receiver.Config{Secrets: []string{d.Secret}, OnChange: p.arr.add, MaxBodyBytes: 256 << 20, Logger: e.log})
	if err != nil {
		ln.Close()
		p.deleteDestination()
		return nil, err
	}
	p.srv = &http.Server{Handler: p.rcv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *platform) deleteDestination() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.env.admin(ctx, http.MethodDelete, "/api/v1/integrations/"+p.in.ID+"/destinations/"+p.destID, nil, nil); err != nil {
		p.env.log.Warn("platform: delete destination", "destination", p.destID, "error", err)
	}
}

// close deletes the destination (its workflow ends) and stops the receiver.
func (p *platform) close() {
	p.deleteDestination()
	_ = p.srv.Close()
}

// arrivals records what the receiver's OnChange hook reports.
type arrivals struct {
	mu      sync.Mutex
	first   map[string]time.Time // key → first arrival
	seqAt   map[int64]time.Time  // seq → first arrival
	maxSeq  int64
	changes int // changes of first deliveries (repeats under a new id included)
	// attendees counts the attendee keys that arrived (a manual sync also
	// logs agenda.changed under agenda:<id> keys).
	attendees int
}

func newArrivals() *arrivals {
	return &arrivals{first: map[string]time.Time{}, seqAt: map[int64]time.Time{}}
}

func (a *arrivals) add(x receiver.Arrival) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.changes++
	if _, ok := a.first[x.Key]; !ok {
		a.first[x.Key] = x.Arrived
		if strings.HasPrefix(x.Key, "attendee:") {
			a.attendees++
		}
	}
	if _, ok := a.seqAt[x.Seq]; !ok {
		a.seqAt[x.Seq] = x.Arrived
	}
	a.maxSeq = max(a.maxSeq, x.Seq)
}

func (a *arrivals) count() (changes int, attendees int, maxSeq int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changes, a.attendees, a.maxSeq
}

// firstArrivals copies key → first arrival.
func (a *arrivals) firstArrivals() map[string]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]time.Time, len(a.first))
	for k, v := range a.first {
		out[k] = v
	}
	return out
}

// seqArrivals copies seq → first arrival.
func (a *arrivals) seqArrivals() map[int64]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int64]time.Time, len(a.seqAt))
	for k, v := range a.seqAt {
		out[k] = v
	}
	return out
}

// wait polls until done holds (true), or nothing arrived for noProgress,
// or limit passed (false). Polling is in-process and cheap; arrival times
// come from the receiver, so the poll interval does not blur them.
func (a *arrivals) wait(ctx context.Context, done func() bool, noProgress, limit time.Duration) bool {
	start := time.Now()
	lastCount, lastProgress := -1, start
	for {
		if done() {
			return true
		}
		n, _, _ := a.count()
		if n != lastCount {
			lastCount, lastProgress = n, time.Now()
		}
		if time.Since(lastProgress) > noProgress || time.Since(start) > limit {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// streamEvent is one webhook of a stream: registration Index, or its
// cancellation when FollowUp.
type streamEvent struct {
	At       time.Duration
	Index    int
	FollowUp bool
}

// streamPlan schedules rate registrations a second for d, with the mixed
// statuses; every followEvery-th one that is Accepted is cancelled
// followDelay later if that is still within d (followEvery 0: none).
func streamPlan(rate int, d time.Duration, followEvery int, followDelay time.Duration) []streamEvent {
	if rate <= 0 || d <= 0 {
		return nil
	}
	period := time.Second / time.Duration(rate)
	n := max(1, int(float64(rate)*d.Seconds()))
	out := make([]streamEvent, 0, n+n/max(1, followEvery))
	for i := 0; i < n; i++ {
		at := time.Duration(i) * period
		out = append(out, streamEvent{At: at, Index: i})
		if followEvery > 0 && i%followEvery == 0 && wantsAccess(mixStatus(i)) && at+followDelay < d {
			out = append(out, streamEvent{At: at + followDelay, Index: i, FollowUp: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// streamRun is what a stream sent.
type streamRun struct {
	Registrations, FollowUps int
	NotOK                    int
	SentAt                   map[string]time.Time // invitee id → registration sent
	SendTime                 time.Duration
	Achieved                 float64 // registrations per second actually sent
}

// stream sends the plan's webhooks on schedule, each from its own
// goroutine as Cvent does, and waits for every answer. started is called
// with the clock's start.
func (e *Env) stream(ctx context.Context, in *Integration, plan []streamEvent, started func(time.Time)) (*streamRun, error) {
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano())})
	run := &streamRun{SentAt: map[string]time.Time{}}
	ids := map[int]string{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	post := func(a simulator.Attendee, registration bool) {
		defer wg.Done()
		sent := postRegistration(ctx, sim, e.target(in), a)
		mu.Lock()
		defer mu.Unlock()
		if sent.Err != nil || sent.Status != http.StatusOK {
			run.NotOK++
		}
		if registration {
			run.SentAt[a.ID] = sent.SentAt
		}
	}
	start := time.Now()
	if started != nil {
		started(start)
	}
	for _, ev := range plan {
		if err := sleepUntil(ctx, start.Add(ev.At)); err != nil {
			wg.Wait()
			return nil, err
		}
		if ev.FollowUp {
			a, ok := sim.Cancel(ids[ev.Index])
			if !ok {
				continue
			}
			run.FollowUps++
			wg.Add(1)
			go post(a, false)
			continue
		}
		a := sim.AddAttendee(benchAttendee(uuid.NewString(), ev.Index, mixStatus(ev.Index)))
		ids[ev.Index] = a.ID
		run.Registrations++
		wg.Add(1)
		go post(a, true)
	}
	run.SendTime = time.Since(start)
	run.Achieved = float64(run.Registrations) / max(run.SendTime.Seconds(), 1e-3)
	wg.Wait()
	return run, nil
}

// attendeeKey is the change log key of an attendee.
func attendeeKey(inviteeID string) string { return "attendee:" + strings.ToLower(inviteeID) }

// arrivalLatencies is, for every registration sent, the time until its
// attendee's first change arrived; one that never arrived counts with the
// time until end, and is counted in missing.
func arrivalLatencies(sentAt map[string]time.Time, first map[string]time.Time, end time.Time) (lat []time.Duration, missing int) {
	lat = make([]time.Duration, 0, len(sentAt))
	for id, sent := range sentAt {
		if at, ok := first[attendeeKey(id)]; ok {
			lat = append(lat, at.Sub(sent))
			continue
		}
		missing++
		lat = append(lat, end.Sub(sent))
	}
	return lat, missing
}

// feedEntry is what the benchmark reads of a change feed entry.
type feedEntry struct {
	Seq    int64           `json:"seq"`
	Type   string          `json:"type"`
	Key    string          `json:"key"`
	Record json.RawMessage `json:"record"`
}

// readFeed reads the change feed after the cursor up to seq upTo (or until
// a short page), paging with limit platformFeedPage, as the platform does:
// with its platform key.
func (e *Env) readFeed(ctx context.Context, in *Integration, after, upTo int64) ([]feedEntry, int, error) {
	token := in.PlatformKey
	if token == "" {
		token = e.AdminToken
	}
	var out []feedEntry
	pages := 0
	for after < upTo {
		q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(platformFeedPage)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.BaseURL+"/api/v1/integrations/"+in.ID+"/changes?"+q.Encode(), nil)
		if err != nil {
			return nil, pages, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := e.HTTP.Do(req)
		if err != nil {
			return nil, pages, fmt.Errorf("change feed: %w", err)
		}
		var page struct {
			Changes []feedEntry `json:"changes"`
			Next    string      `json:"next"`
		}
		if resp.StatusCode != http.StatusOK {
			drain(resp.Body)
			return nil, pages, fmt.Errorf("change feed after %d: answered %d", after, resp.StatusCode)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		drain(resp.Body)
		if err != nil {
			return nil, pages, fmt.Errorf("change feed after %d: %w", after, err)
		}
		pages++
		out = append(out, page.Changes...)
		next, err := strconv.ParseInt(page.Next, 10, 64)
		if err != nil {
			return nil, pages, fmt.Errorf("change feed: next %q", page.Next)
		}
		if len(page.Changes) < platformFeedPage || next <= after {
			break
		}
		after = next
	}
	return out, pages, nil
}

// platformCheck compares the change log with what the receiver got.
type platformCheck struct {
	Logged     int // entries in the change log
	Missing    int // entries whose seq never arrived
	OutOfOrder int // changes that arrived after a higher seq of their key
	DupNewID   int // a seq of a key received again under another webhook-id
}

// comparePlatform checks the log's entries against the seqs that arrived
// (got) and each key's seqs in arrival order (the receiver deduplicates by
// webhook-id before recording a seq, so a seq recorded twice came under a
// new id).
func comparePlatform(log []feedEntry, got map[int64]time.Time, seqsByKey map[string][]int64) platformCheck {
	c := platformCheck{Logged: len(log)}
	for _, x := range log {
		if _, ok := got[x.Seq]; !ok {
			c.Missing++
		}
	}
	for _, seqs := range seqsByKey {
		o, d := orderCheck(seqs)
		c.OutOfOrder += o
		c.DupNewID += d
	}
	return c
}

// orderCheck counts, in one key's seqs in arrival order, those lower than
// one seen before (out of order) and those equal to one seen before
// (duplicates).
func orderCheck(seqs []int64) (outOfOrder, duplicates int) {
	seen := make(map[int64]bool, len(seqs))
	var high int64
	for i, s := range seqs {
		switch {
		case seen[s]:
			duplicates++
		case i > 0 && s < high:
			outOfOrder++
		}
		seen[s] = true
		if i == 0 || s > high {
			high = s
		}
	}
	return outOfOrder, duplicates
}

// platformVsDirectory counts the directory's attendees the receiver has no
// record of, and those whose record at the receiver has another access.
func (p *platform) vsDirectory(ctx context.Context) (missing, wrong int, err error) {
	const page = 2000
	after := ""
	for {
		list, err := p.env.listAttendees(ctx, p.in.ID, after, page)
		if err != nil {
			return 0, 0, err
		}
		for _, a := range list {
			rec, ok := p.rcv.Record(attendeeKey(a.InviteeID))
			if !ok {
				missing++
				continue
			}
			var r struct {
				Access bool `json:"access"`
			}
			if json.Unmarshal(rec, &r) != nil || r.Access != a.Access {
				wrong++
			}
		}
		if len(list) < page {
			return missing, wrong, nil
		}
		after = list[len(list)-1].InviteeID
	}
}

// settle waits until the integration's deliveries are all processed (the
// change log is complete), then until the receiver has its last entry.
// It returns the log's head and whether the receiver caught up.
func (p *platform) settle(ctx context.Context, deliveries int, noProgress, limit time.Duration) (int64, bool, error) {
	e := p.env
	if _, err := WaitBackoff(ctx, 5*time.Minute, 20*time.Millisecond, time.Second, func() (bool, error) {
		st, err := e.Stats(ctx, p.in.ID)
		if err != nil {
			return false, err
		}
		total := 0
		for _, n := range st.Deliveries {
			total += n
		}
		return total >= deliveries && st.Deliveries[store.DeliveryReceived] == 0 && st.Deliveries[store.StatusReceiving] == 0, nil
	}); err != nil {
		return 0, false, fmt.Errorf("deliveries not processed: %w", err)
	}
	head, err := e.Store.GetChangeHead(ctx, p.in.ID)
	if err != nil {
		return 0, false, err
	}
	ok := p.arr.wait(ctx, func() bool { _, _, m := p.arr.count(); return m >= head.LastSeq }, noProgress, limit)
	return head.LastSeq, ok, nil
}

// check reads the log through the feed and compares it with the receiver.
func (p *platform) check(ctx context.Context, after, head int64) (platformCheck, error) {
	log, _, err := p.env.readFeed(ctx, p.in, after, head)
	if err != nil {
		return platformCheck{}, err
	}
	seqs := map[string][]int64{}
	for _, k := range p.rcv.Keys() {
		seqs[k] = p.rcv.Seqs(k)
	}
	return comparePlatform(log, p.arr.seqArrivals(), seqs), nil
}

// stepMetrics adds a step's rows to a result.
type stepMetrics struct {
	res  *Result
	step string
}

func (s stepMetrics) add(name, unit string, v float64) {
	s.res.Metrics = append(s.res.Metrics, Metric{Step: s.step, Name: name, Unit: unit, Value: v})
}

func (s stepMetrics) target(name, unit string, v, limit float64) {
	ok := v <= limit
	s.res.Metrics = append(s.res.Metrics, Metric{Step: s.step, Name: name, Unit: unit, Value: v, Target: fmt.Sprintf("≤ %g", limit), Ok: &ok})
}

func (s stepMetrics) note(format string, args ...any) {
	s.res.Notes = append(s.res.Notes, stepPrefix(s.step)+fmt.Sprintf(format, args...))
}

// addChecks adds the rows every step has: the log against the receiver,
// signatures, the receiver against the directory.
func (s stepMetrics) addChecks(c platformCheck, st receiver.Stats, dirMissing, dirWrong int) {
	s.add("changes logged", "", float64(c.Logged))
	s.add("messages received", "", float64(st.Deliveries))
	s.target("changes missing at the platform", "", float64(c.Missing), 0)
	s.target("changes out of order (per attendee)", "", float64(c.OutOfOrder), 0)
	s.target("duplicates with a new webhook-id", "", float64(c.DupNewID), 0)
	s.add("redeliveries with the same webhook-id", "", float64(st.Duplicates))
	s.target("requests failing signature check", "", float64(st.BadSignatures+st.BadBodies), 0)
	s.target("attendees missing at the platform", "", float64(dirMissing), 0)
	s.target("platform records with other access than the directory", "", float64(dirWrong), 0)
}

// platformLive streams single registrations at rate for d to a fresh
// integration whose destination (batchSize 1) is the receiver, and
// measures webhook sent → the receiver has the attendee's change.
func (e *Env) platformLive(ctx context.Context, res *Result, rate int, d time.Duration) error {
	s := stepMetrics{res: res, step: fmt.Sprintf("live %d/s", rate)}
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return err
	}
	p, err := e.newPlatform(ctx, in, 1)
	if err != nil {
		return err
	}
	defer p.close()
	plan := streamPlan(rate, d, 0, 0)
	cpu, err := e.startCPU()
	if err != nil {
		return err
	}
	run, err := e.stream(ctx, in, plan, nil)
	if err != nil {
		_, _ = cpu.stop()
		return err
	}
	// Every attendee's first change: the latency measure.
	allKeys := p.arr.wait(ctx, func() bool {
		_, attendees, _ := p.arr.count()
		return attendees >= run.Registrations
	}, settleNoProgress, settleLimit)
	waitEnd := time.Now()
	usage, err := cpu.stop()
	if err != nil {
		return err
	}
	lat, unarrived := arrivalLatencies(run.SentAt, p.arr.firstArrivals(), waitEnd)
	head, caughtUp, err := p.settle(ctx, run.Registrations-run.NotOK, settleNoProgress, settleLimit)
	if err != nil {
		return err
	}
	c, err := p.check(ctx, 0, head)
	if err != nil {
		return err
	}
	dirMissing, dirWrong, err := p.vsDirectory(ctx)
	if err != nil {
		return err
	}
	s.add("registrations sent", "", float64(run.Registrations))
	s.add("send rate achieved", "/s", run.Achieved)
	s.add("answers not 200", "", float64(run.NotOK))
	s.target("webhook to platform p50", "ms", ms(Percentile(lat, 50)), platformP50Target)
	s.target("webhook to platform p99", "ms", ms(Percentile(lat, 99)), platformP99Target)
	s.add("webhook to platform max", "ms", ms(Percentile(lat, 100)))
	s.addChecks(c, p.rcv.Stats(), dirMissing, dirWrong)
	res.addCPU(s.step, usage)
	if !allKeys || unarrived > 0 {
		s.note("%d of %d attendees never reached the platform; counted in the percentiles with the time waited", unarrived, run.Registrations)
	}
	if !caughtUp {
		s.note("the platform did not get the change log up to seq %d", head)
	}
	return nil
}

// platformSync posts one manual sync of n attendees to a fresh integration
// whose destination batches 500 changes a message, times the platform
// having every attendee from the sync's answer, then reads the sync's
// entries from the change feed.
func (e *Env) platformSync(ctx context.Context, res *Result, n int) error {
	s := stepMetrics{res: res, step: fmt.Sprintf("sync of %s, batchSize %d", sizeLabel(n), platformSyncBatch)}
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return err
	}
	p, err := e.newPlatform(ctx, in, platformSyncBatch)
	if err != nil {
		return err
	}
	defer p.close()
	sim := simulator.New(simulator.Config{Seed: uint64(time.Now().UnixNano()), Attendees: n})
	for i, a := range sim.Attendees() {
		if status := mixStatus(i); a.Status != status {
			sim.Update(a.ID, func(a *simulator.Attendee) { a.Status = status })
		}
	}
	before, err := e.Store.GetChangeHead(ctx, in.ID)
	if err != nil {
		return err
	}
	cpu, err := e.startCPU()
	if err != nil {
		return err
	}
	sent := sim.SendManualSync(ctx, e.target(in))
	if sent.Err != nil || sent.Status != http.StatusOK {
		_, _ = cpu.stop()
		return fmt.Errorf("manual sync post: status %d, %v", sent.Status, sent.Err)
	}
	answered := sent.SentAt.Add(sent.Latency)
	limit := 2*time.Minute + time.Duration(n)*2*time.Millisecond
	allKeys := p.arr.wait(ctx, func() bool {
		_, attendees, _ := p.arr.count()
		return attendees >= n
	}, settleNoProgress, limit)
	usage, err := cpu.stop()
	if err != nil {
		return err
	}
	first := p.arr.firstArrivals()
	var lastKey time.Time
	got := 0
	for _, a := range sim.Attendees() {
		if at, ok := first[attendeeKey(a.ID)]; ok {
			got++
			if at.After(lastKey) {
				lastKey = at
			}
		}
	}
	if !allKeys || got < n {
		lastKey = time.Now()
		s.note("%d of %d attendees never reached the platform; the time is until the wait ended", n-got, n)
	}
	head, caughtUp, err := p.settle(ctx, 1, settleNoProgress, limit)
	if err != nil {
		return err
	}
	var lastEntry time.Time // the last entry of the sync to arrive
	for seq, at := range p.arr.seqArrivals() {
		if seq > before.LastSeq && seq <= head && at.After(lastEntry) {
			lastEntry = at
		}
	}
	// The feed, as a platform reads it: every entry of the sync, 1,000 a request.
	feedStart := time.Now()
	log, pages, err := e.readFeed(ctx, in, before.LastSeq, head)
	feedTime := time.Since(feedStart)
	if err != nil {
		return err
	}
	seqs := map[string][]int64{}
	for _, k := range p.rcv.Keys() {
		seqs[k] = p.rcv.Seqs(k)
	}
	c := comparePlatform(log, p.arr.seqArrivals(), seqs)
	dirMissing, dirWrong, err := p.vsDirectory(ctx)
	if err != nil {
		return err
	}
	st := p.rcv.Stats()
	s.add("attendees", "", float64(n))
	s.add("answer", "s", sent.Latency.Seconds())
	s.target("platform has all "+sizeLabel(n)+", after the answer", "s", lastKey.Sub(answered).Seconds(), platformSyncAllTarget)
	s.add("platform has all attendees, from the start of the POST", "s", lastKey.Sub(sent.SentAt).Seconds())
	if caughtUp && !lastEntry.IsZero() {
		// Attendees and their agendas (agenda.changed): every entry the sync logged.
		s.add("platform has every change of the sync, after the answer", "s", lastEntry.Sub(answered).Seconds())
	}
	if st.Deliveries > 0 {
		s.add("changes per message", "", float64(st.Changes)/float64(st.Deliveries))
	}
	s.target("change feed: read every entry of the sync (attendees and agendas)", "s", feedTime.Seconds(), platformFeedTarget)
	s.add("change feed requests", "", float64(pages))
	if feedTime > 0 {
		s.add("change feed entries per second", "/s", float64(len(log))/feedTime.Seconds())
	}
	s.addChecks(c, st, dirMissing, dirWrong)
	res.addCPU(s.step, usage)
	if !caughtUp {
		s.note("the platform did not get the change log up to seq %d", head)
	}
	return nil
}

// platformOutage streams registrations at 20/s with cancellations to a
// fresh integration whose receiver goes down for outage after outageLead
// and comes back for outageTail more, then waits until the platform has the
// whole change log and checks it: none missing, per-attendee order, no
// duplicate under a new webhook-id.
func (e *Env) platformOutage(ctx context.Context, res *Result, outage time.Duration) error {
	s := stepMetrics{res: res, step: "receiver down " + outage.String()}
	in, err := e.CreateIntegration(ctx, nil)
	if err != nil {
		return err
	}
	p, err := e.newPlatform(ctx, in, 1)
	if err != nil {
		return err
	}
	defer p.close()
	var (
		mu           sync.Mutex
		downAt, upAt time.Time
		headAtUp     int64
		seqAtUp      int64
		upErr        error
		timers       []*time.Timer
		upDone       = make(chan struct{})
	)
	started := func(t0 time.Time) {
		timers = append(timers,
			time.AfterFunc(time.Until(t0.Add(outageLead)), func() {
				p.rcv.Down()
				mu.Lock()
				downAt = time.Now()
				mu.Unlock()
			}),
			time.AfterFunc(time.Until(t0.Add(outageLead+outage)), func() {
				defer close(upDone)
				h, err := e.Store.GetChangeHead(context.WithoutCancel(ctx), in.ID)
				_, _, m := p.arr.count()
				p.rcv.Up()
				mu.Lock()
				upAt, headAtUp, seqAtUp, upErr = time.Now(), h.LastSeq, m, err
				mu.Unlock()
			}))
	}
	plan := streamPlan(platformLiveRate, outageLead+outage+outageTail, followEvery, followDelay)
	run, err := e.stream(ctx, in, plan, started)
	if err != nil {
		for _, t := range timers {
			t.Stop()
		}
		p.rcv.Up()
		return err
	}
	<-upDone
	mu.Lock()
	err = upErr
	mu.Unlock()
	if err != nil {
		return err
	}
	// The next attempt may be maxRetryInterval away; then the backlog drains.
	limit := time.Until(upAt.Add(maxRetryInterval+2*time.Minute)) + time.Duration(run.Registrations+run.FollowUps)*20*time.Millisecond
	head, caughtUp, err := p.settle(ctx, run.Registrations+run.FollowUps-run.NotOK, limit, max(limit, time.Minute))
	if err != nil {
		return err
	}
	arrived := p.arr.seqArrivals()
	var firstAfter, lastAll time.Time
	for seq, at := range arrived {
		if seq <= head && at.After(lastAll) {
			lastAll = at
		}
		if !at.Before(upAt) && (firstAfter.IsZero() || at.Before(firstAfter)) {
			firstAfter = at
		}
	}
	c, err := p.check(ctx, 0, head)
	if err != nil {
		return err
	}
	dirMissing, dirWrong, err := p.vsDirectory(ctx)
	if err != nil {
		return err
	}
	st := p.rcv.Stats()
	backlog := headAtUp - seqAtUp
	s.add("registrations sent", "", float64(run.Registrations))
	s.add("cancellations sent", "", float64(run.FollowUps))
	s.add("answers not 200", "", float64(run.NotOK))
	s.add("receiver down", "s", upAt.Sub(downAt).Seconds())
	s.add("requests refused while down (503)", "", float64(st.Unavailable))
	s.add("changes waiting when the receiver came back", "", float64(backlog))
	if !firstAfter.IsZero() {
		s.add("first change after the receiver came back", "s", firstAfter.Sub(upAt).Seconds())
	}
	s.add("all changes arrived, after the receiver came back", "s", lastAll.Sub(upAt).Seconds())
	if !firstAfter.IsZero() && lastAll.After(firstAfter) {
		s.add("changes delivered per second after the first", "/s", float64(head-seqAtUp)/lastAll.Sub(firstAfter).Seconds())
	}
	s.addChecks(c, st, dirMissing, dirWrong)
	if !caughtUp {
		s.note("the platform did not get the change log up to seq %d within %v of the receiver coming back", head, time.Since(upAt).Round(time.Second))
	}
	return nil
}
