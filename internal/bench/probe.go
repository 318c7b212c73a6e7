package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The access probe's pacing. It reads the attendee list every
// probeMinInterval, or, when a round takes longer, waits probeIdleFactor
// times the round's duration, so that it is busy at most a quarter of the
// time however far the system falls behind: the pollers must not become the
// load that slows down what they measure.
const (
	probeMinInterval = 10 * time.Millisecond
	probeIdleFactor  = 3
	// A page covers consecutive pending attendees while at most probeMaxGap
	// settled ones lie between them (reading those costs less than another
	// request) and the page stays within probeMaxPage rows.
	probeMaxGap  = 50
	probeMaxPage = 1000
)

// window is one list request: the attendees after position from−1 of the
// probe's ids (from the first when from is 0), at most limit of them.
type window struct{ from, limit int }

// planWindows covers the pending positions (ascending) with list pages.
func planWindows(pending []int, maxGap, maxPage int) []window {
	var out []window
	for i := 0; i < len(pending); {
		from, to, j := pending[i], pending[i], i+1
		for j < len(pending) && pending[j]-to-1 <= maxGap && pending[j]-from < maxPage {
			to = pending[j]
			j++
		}
		out = append(out, window{from: from, limit: to - from + 1})
		i = j
	}
	return out
}

// accessProbe measures registration → access: the time from sending a
// registration until the attendee is visible through the admin API with the
// access it should have. Invitee ids are time-ordered UUIDs (version 7), and
// the attendee list is ordered by invitee id, so the attendees still pending
// sit together at the end of the list: one goroutine reads them in a page or
// a few per round, instead of one GET per attendee.
type accessProbe struct {
	env           *Env
	integrationID string
	log           *slog.Logger
	wake          chan struct{}

	mu       sync.Mutex
	ids      []string // lower case, ascending: the order of the attendee list
	pos      map[string]int
	want     []bool
	sentAt   []time.Time
	latency  []time.Duration // set once visible with the right access
	wrong    []bool          // seen with the wrong access
	pending  map[int]struct{}
	progress time.Time // last time an attendee settled
	requests int
	rows     int
}

func (e *Env) newAccessProbe(integrationID string) *accessProbe {
	return &accessProbe{env: e, integrationID: integrationID, log: e.log, wake: make(chan struct{}, 1),
		pos: map[string]int{}, pending: map[int]struct{}{}, progress: time.Now()}
}

// register makes the id of the next registration, which should end with
// access or without. Ids are made under the lock, so they ascend.
func (p *accessProbe) register(access bool) (pos int, id string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, err := uuid.NewV7()
	if err != nil {
		return 0, "", fmt.Errorf("invitee id: %w", err)
	}
	id = u.String()
	pos = len(p.ids)
	p.ids, p.want = append(p.ids, id), append(p.want, access)
	p.sentAt, p.latency, p.wrong = append(p.sentAt, time.Time{}), append(p.latency, 0), append(p.wrong, false)
	p.pos[id] = pos
	return pos, id, nil
}

// sent starts the clock of a registration: from now on the probe looks for it.
func (p *accessProbe) sent(pos int, at time.Time) {
	if at.IsZero() {
		at = time.Now()
	}
	p.mu.Lock()
	p.sentAt[pos] = at
	p.pending[pos] = struct{}{}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// snapshot returns the pending positions in order and the ids they index.
func (p *accessProbe) snapshot() ([]int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, len(p.pending))
	for i := range p.pending {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, p.ids
}

// run probes until ctx ends.
func (p *accessProbe) run(ctx context.Context) {
	for {
		pending, ids := p.snapshot()
		if len(pending) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
				continue
			}
		}
		start := time.Now()
		for _, w := range planWindows(pending, probeMaxGap, probeMaxPage) {
			if err := p.read(ctx, ids, w); err != nil {
				if ctx.Err() != nil {
					return
				}
				p.log.Warn("access probe", "err", err)
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(probeMinInterval, probeIdleFactor*time.Since(start))):
		}
	}
}

// listedAttendee is what the probe reads of an attendee.
type listedAttendee struct {
	InviteeID   string `json:"inviteeId"`
	Access      bool   `json:"access"`
	CventStatus string `json:"cventStatus"`
}

// listAttendees reads one page of an integration's attendee list.
func (e *Env) listAttendees(ctx context.Context, integrationID, after string, limit int) ([]listedAttendee, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if after != "" {
		q.Set("after", after)
	}
	var out struct {
		Attendees []listedAttendee `json:"attendees"`
	}
	if err := e.admin(ctx, http.MethodGet, "/api/v1/integrations/"+integrationID+"/attendees?"+q.Encode(), nil, &out); err != nil {
		return nil, fmt.Errorf("list attendees: %w", err)
	}
	return out.Attendees, nil
}

// read fetches one window and settles the pending attendees it shows.
func (p *accessProbe) read(ctx context.Context, ids []string, w window) error {
	after := ""
	if w.from > 0 {
		after = ids[w.from-1]
	}
	page, err := p.env.listAttendees(ctx, p.integrationID, after, w.limit)
	if err != nil {
		return err
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	p.rows += len(page)
	for _, a := range page {
		i, ok := p.pos[strings.ToLower(a.InviteeID)]
		if !ok {
			continue
		}
		if _, pending := p.pending[i]; !pending {
			continue
		}
		if a.Access != p.want[i] {
			p.wrong[i] = true
			continue
		}
		p.latency[i] = now.Sub(p.sentAt[i])
		delete(p.pending, i)
		p.progress = now
	}
	return nil
}

// settle waits until nothing is pending, or nothing settled for noProgress,
// or limit passed.
func (p *accessProbe) settle(ctx context.Context, noProgress, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		p.mu.Lock()
		left, idle := len(p.pending), time.Since(p.progress)
		p.mu.Unlock()
		if left == 0 || idle > noProgress || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// probeOutcome is what the probe saw.
type probeOutcome struct {
	// Latency of every sent registration; one never seen with the right
	// access counts with the time it waited, a lower bound.
	Latency    []time.Duration
	Unsettled  int
	SeenWrong  int
	Requests   int
	RowsRead   int
	Registered []string
	Want       []bool
}

func (p *accessProbe) outcome() probeOutcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	o := probeOutcome{Requests: p.requests, RowsRead: p.rows, Registered: p.ids, Want: p.want}
	for i := range p.ids {
		if p.sentAt[i].IsZero() {
			continue
		}
		if _, pending := p.pending[i]; pending {
			o.Unsettled++
			o.Latency = append(o.Latency, now.Sub(p.sentAt[i]))
			if p.wrong[i] {
				o.SeenWrong++
			}
			continue
		}
		o.Latency = append(o.Latency, p.latency[i])
	}
	return o
}

// accessCheck is the directory compared with what Cvent said.
type accessCheck struct {
	Missing int // sent, not in the directory
	Wrong   int // in the directory with access where it should have none, or the reverse
}

// checkAccess reads the whole attendee list of an integration once and
// compares each attendee's access with want (invitee id → access).
func (e *Env) checkAccess(ctx context.Context, integrationID string, want map[string]bool) (accessCheck, error) {
	const page = 2000
	seen := make(map[string]bool, len(want))
	after := ""
	for {
		list, err := e.listAttendees(ctx, integrationID, after, page)
		if err != nil {
			return accessCheck{}, fmt.Errorf("check access: %w", err)
		}
		for _, a := range list {
			seen[strings.ToLower(a.InviteeID)] = a.Access
		}
		if len(list) < page {
			break
		}
		after = list[len(list)-1].InviteeID
	}
	return compareAccess(want, seen), nil
}

// compareAccess counts the attendees missing from got and those whose access differs.
func compareAccess(want, got map[string]bool) accessCheck {
	var c accessCheck
	for id, w := range want {
		g, ok := got[strings.ToLower(id)]
		switch {
		case !ok:
			c.Missing++
		case g != w:
			c.Wrong++
		}
	}
	return c
}
