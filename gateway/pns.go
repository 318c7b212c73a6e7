package gateway

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/pns"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// Cvent Supplier Network (PNS): integrations of kind "pns" for a hotel or
// venue, the notification endpoint, and the RFP API.

// KindPNS is the integration kind of a Supplier Network integration.
const KindPNS = "pns"

type pnsPullRequest struct {
	Flavour        string  `json:"flavour"`
	BaseURL        string  `json:"baseUrl"`
	ClientID       string  `json:"clientId"`
	ClientSecret   string  `json:"clientSecret"`
	APIKey         string  `json:"apiKey"`
	CallsPerSecond float64 `json:"callsPerSecond"`
	Burst          int     `json:"burst"`
}

type pnsIntegrationJSON struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Name           string    `json:"name"`
	SupplierIDs    []string  `json:"supplierIds"`
	APIKeyRequired bool      `json:"apiKeyRequired"`
	WebhookURL     string    `json:"webhookUrl"`
	Pull           any       `json:"pull"`
	PlatformKey    string    `json:"platformKey,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

// createPNSIntegration creates a Supplier Network integration from the
// fields of POST /api/v1/integrations with "kind": "pns".
func (s *Server) createPNSIntegration(c *gin.Context, base, sections map[string]json.RawMessage) {
	var problems []string
	var name string
	if raw, ok := base["name"]; ok {
		_ = json.Unmarshal(raw, &name)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		problems = append(problems, "name is required")
	}
	var suppliers []string
	var apiKey string
	var pull pnsPullRequest
	for k, raw := range sections {
		var err error
		switch k {
		case "supplierIds":
			err = json.Unmarshal(raw, &suppliers)
		case "apiKey":
			err = json.Unmarshal(raw, &apiKey)
		case "pull":
			d := json.NewDecoder(strings.NewReader(string(raw)))
			d.DisallowUnknownFields()
			err = d.Decode(&pull)
		default:
			problems = append(problems, k+" is not a field of a pns integration (name, supplierIds, apiKey, pull)")
		}
		if err != nil {
			problems = append(problems, k+": "+err.Error())
		}
	}
	for k := range base {
		if k != "name" {
			problems = append(problems, k+" is not a field of a pns integration")
		}
	}
	var ids []string
	for _, id := range suppliers {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		problems = append(problems, "supplierIds must list at least one supplier id")
	}
	pull.Flavour = strings.ToLower(strings.TrimSpace(pull.Flavour))
	if pull.Flavour == "" {
		pull.Flavour = pns.FlavourREST
	}
	sealed := ""
	switch pull.Flavour {
	case pns.FlavourREST:
		if pull.ClientID == "" || pull.ClientSecret == "" {
			problems = append(problems, "pull.clientId and pull.clientSecret are required for the rest flavour")
		}
		sealed = pull.ClientSecret
	case pns.FlavourLegacy:
		if pull.APIKey == "" {
			problems = append(problems, "pull.apiKey is required for the legacy flavour")
		}
		sealed = pull.APIKey
	default:
		problems = append(problems, `pull.flavour must be "rest" or "legacy"`)
	}
	if pull.CallsPerSecond < 0 || pull.Burst < 0 {
		problems = append(problems, "pull.callsPerSecond and pull.burst must not be negative")
	}
	if len(problems) > 0 {
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: strings.Join(problems, "; "), Details: problems})
		return
	}
	if pull.CallsPerSecond == 0 {
		pull.CallsPerSecond, pull.Burst = 10, 10 // Cvent's Standard tier
	}
	if pull.Burst == 0 {
		pull.Burst = max(1, int(pull.CallsPerSecond))
	}
	if s.opts.SecretBox != nil {
		sealed = s.opts.SecretBox.Seal(sealed)
	}
	platformKey := secret.NewToken()
	in := &store.Integration{ID: uuid.NewString(), Name: name, Environment: "production", Region: "na",
		WebhookTokenHash: secret.HashToken(secret.NewToken()), PlatformKeyHash: secret.HashToken(platformKey)}
	p := &store.PNSIntegration{SupplierIDs: ids, Flavour: pull.Flavour, BaseURL: strings.TrimSpace(pull.BaseURL),
		ClientID: pull.ClientID, SecretSealed: sealed, CallsPerSecond: pull.CallsPerSecond, Burst: pull.Burst}
	if apiKey != "" {
		p.APIKeyHash = secret.HashToken(apiKey)
	}
	if err := s.opts.Store.CreatePNSIntegration(c, in, p); err != nil {
		s.internalError(c, "create pns integration", err)
		return
	}
	out := s.pnsIntegrationJSON(in, p)
	out.PlatformKey = platformKey // shown once
	c.JSON(http.StatusCreated, out)
}

func (s *Server) pnsIntegrationJSON(in *store.Integration, p *store.PNSIntegration) pnsIntegrationJSON {
	return pnsIntegrationJSON{ID: in.ID, Kind: KindPNS, Name: in.Name, SupplierIDs: p.SupplierIDs, APIKeyRequired: len(p.APIKeyHash) > 0,
		WebhookURL: strings.TrimRight(s.opts.PublicURL, "/") + "/webhooks/pns/" + in.ID, CreatedAt: in.CreatedAt,
		Pull: gin.H{"flavour": p.Flavour, "baseUrl": p.BaseURL, "clientId": p.ClientID, "callsPerSecond": p.CallsPerSecond, "burst": p.Burst}}
}

// pnsAuthorized checks Cvent's optional API key: with a key configured the
// header must be "api_key <key>"; without one no header is expected and
// whatever comes is ignored.
func pnsAuthorized(p *store.PNSIntegration, header string) bool {
	if len(p.APIKeyHash) == 0 {
		return true
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(header), " ")
	return ok && strings.EqualFold(scheme, "api_key") && secret.TokenMatches(p.APIKeyHash, strings.TrimSpace(key))
}

type pnsAnswer struct {
	Status         string `json:"status"`
	NotificationID int64  `json:"notificationId,omitempty"`
	WorkflowID     string `json:"workflowId,omitempty"`
	Error          string `json:"error,omitempty"`
}

// pnsReceive stores a PNS notification and hands it to its RFP's workflow.
// The notification is in PostgreSQL before the 2xx, and the 2xx waits for
// nothing else: the hand-on (a signal-with-start, shared by the RFP's
// notifications arriving meanwhile) goes on after it, so a burst is
// acknowledged at the pace of the store and PNS never retries for want of
// Temporal. One not handed (Temporal down, the gateway stopped) is handed
// on by the maintenance sweep; a repeat of one not yet handed is handed on
// again at once. A body we cannot use (not JSON, no RFP id, a type we do
// not act on) is stored and acknowledged as ignored: PNS would otherwise
// retry it for ever.
func (s *Server) pnsReceive(c *gin.Context) {
	p, err := s.opts.Store.GetPNSIntegration(c, c.Param("integrationId"))
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no pns integration with id "+c.Param("integrationId"))
		return
	}
	if err != nil {
		s.internalError(c, "load pns integration", err)
		return
	}
	if !pnsAuthorized(p, c.GetHeader("Authorization")) {
		abort(c, http.StatusUnauthorized, "missing or wrong key: the Authorization header must be api_key <the agreed key>")
		return
	}
	// PNS notifications are small: read whole, within the same bounds as
	// Cvent's webhooks (see readBody).
	body, release, err := s.readBody(c, pnsMaxBody)
	defer release()
	if err != nil {
		answerBodyError(c, err)
		return
	}
	n, decodeErr := pns.Decode(body)
	row := &store.PNSNotification{IntegrationID: p.IntegrationID, IdemKey: pns.IdempotencyKey(n, body), EventType: n.Type,
		RFPID: n.RFPID, SupplierID: n.SupplierID, NotifiedAt: sql.NullTime{Time: n.Time, Valid: !n.Time.IsZero()}, Body: body,
		Status: store.PNSReceived}
	switch {
	case decodeErr != nil:
		row.Status, row.Error = store.PNSIgnored, decodeErr.Error()
	case n.RFPID == "":
		row.Status, row.Error = store.PNSIgnored, "no RFP id found in the notification"
	case !pns.TriggersPull(n.Type):
		row.Status, row.Error = store.PNSIgnored, "cventsync does not act on notification type "+quote(n.Type)
	default:
		row.WorkflowID = workflows.RFPWorkflowID(p.IntegrationID, n.RFPID)
	}
	duplicate, err := s.opts.Store.InsertPNSNotification(c, row)
	if err != nil {
		s.internalError(c, "store pns notification", err)
		return
	}
	status := "accepted"
	switch {
	case duplicate && row.Status != store.PNSReceived:
		c.JSON(http.StatusOK, pnsAnswer{Status: "duplicate", NotificationID: row.ID, WorkflowID: row.WorkflowID})
		return
	case row.Status == store.PNSIgnored:
		c.JSON(http.StatusOK, pnsAnswer{Status: store.PNSIgnored, NotificationID: row.ID, Error: row.Error})
		return
	case duplicate:
		status = "duplicate"
	}
	notice := workflows.RFPNotice{NotificationID: row.ID, Type: row.EventType, SupplierID: row.SupplierID}
	s.handOnRFP(context.WithoutCancel(c.Request.Context()), p.IntegrationID, row.RFPID, notice)
	c.JSON(http.StatusOK, pnsAnswer{Status: status, NotificationID: row.ID, WorkflowID: row.WorkflowID})
}

// handOnRFP signals the notice to its RFP's workflow in the background and
// marks the notifications the signal covered handed; on failure they stay
// received, for the maintenance sweep.
func (s *Server) handOnRFP(ctx context.Context, integrationID, rfpID string, notice workflows.RFPNotice) {
	h := &rfpHandOff{s: s, ctx: ctx, integrationID: integrationID, rfpID: rfpID, notice: notice}
	rfpSignals.hand(workflows.RFPWorkflowID(integrationID, rfpID), notice.NotificationID, h)
}

// rfpHandOff hands notifications of one RFP to its workflow.
type rfpHandOff struct {
	s                    *Server
	ctx                  context.Context
	integrationID, rfpID string
	notice               workflows.RFPNotice
}

func (h *rfpHandOff) send() error {
	return h.s.signalRFP(h.ctx, h.integrationID, h.rfpID, h.notice)
}

// answered: a pull that began after they were stored answered them all.
func (h *rfpHandOff) answered(ids []int64) bool {
	ok, err := h.s.opts.Store.PNSProcessed(h.ctx, ids...)
	return err == nil && ok
}

func (h *rfpHandOff) landed(ids []int64, err error) {
	key := workflows.RFPWorkflowID(h.integrationID, h.rfpID)
	if err != nil {
		h.s.log.Warn("pns notifications stored but not handed on; the maintenance sweep will", "workflow", key, "notifications", ids, "error", err)
		return
	}
	if err := h.s.opts.Store.MarkPNSHanded(h.ctx, ids...); err != nil {
		h.s.log.Warn("mark pns notifications handed", "workflow", key, "notifications", ids, "error", err)
	}
}

// handOff is how a flight hands its notifications on.
type handOff interface {
	// send signals the workflow.
	send() error
	// answered tells notifications a pull has answered already: a
	// follow-up that covers only such needs no signal.
	answered(ids []int64) bool
	// landed hears a signal's outcome with the notifications it covered.
	landed(ids []int64, err error)
}

// rfpSignals coalesces the signals of one RFP's notifications. A signal
// waits for one of rfpSignalsInFlight slots, so a burst never floods
// Temporal with signals and leaves it room to run the workflows they start;
// notifications of the RFP stored while it waits join it. Those stored
// while it is on its way share one follow-up, which keeps gathering for
// rfpFollowUpGather after the signal landed, and while the integration's
// notifications keep coming (PNS flushing a queue, a burst) until they have
// paused for rfpStreamSettle, at most rfpFollowUpHold; then it goes —
// unless the pull that signal caused began after they were all stored and
// so answered them. The pull a signal causes reads every notification
// stored before it began, so none is missed, and a burst costs Temporal
// one or two signals per RFP, not one per notification: the first, so a
// new RFP is pulled at once, and one after the burst.
var rfpSignals = &signalFlights{flights: map[string]*signalFlight{}, gather: rfpFollowUpGather,
	settle: rfpStreamSettle, hold: rfpFollowUpHold, slots: make(chan struct{}, rfpSignalsInFlight)}

const (
	// rfpFollowUpGather is as long as the RFP workflow spaces its pulls
	// (MinPullGap): a follow-up that waits this long after the signal before
	// it delays no pull.
	rfpFollowUpGather = time.Second
	// rfpStreamSettle is the pause in an integration's notifications that
	// ends a burst; rfpFollowUpHold bounds how long a follow-up waits for
	// one after its signal landed, so an integration that never pauses
	// still has its RFPs pulled again within seconds.
	rfpStreamSettle = 500 * time.Millisecond
	rfpFollowUpHold = 10 * time.Second
	// rfpSignalsInFlight bounds the gateway's RFP signals on their way to
	// Temporal at once.
	rfpSignalsInFlight = 16
)

type signalFlights struct {
	mu      sync.Mutex
	flights map[string]*signalFlight
	gather  time.Duration
	// settle > 0: a follow-up also waits until its stream has had no
	// notification for settle, at most hold after the previous signal
	// landed. A key's stream is the key up to its last slash (an RFP's
	// integration).
	settle, hold time.Duration
	streams      map[string]time.Time // stream → its latest notification
	landed       map[string]landing   // key → its last signal, for hold
	pruned       time.Time            // when landed last lost its old entries
	slots        chan struct{}        // nil: unbounded
}

type signalFlight struct {
	h   handOff // the latest notice's: the pull reads them all
	ids []int64
	// open: not sent yet, still taking notifications.
	open bool
	// followUp: sent after the key's previous signal landed.
	followUp bool
	// Of a follow-up: the key's previous signal.
	prev    landing
	skipped bool // a pull answered them all: no signal
	done    chan struct{}
	err     error
	next    *signalFlight
}

// hand hands notification id (0: a refresh, which is no notification) on
// for key and returns at once: it joins the signal of the key that has not
// gone yet, or starts one. Only a flight has a goroutine, so a burst costs
// one per RFP, not one per notification.
func (g *signalFlights) hand(key string, id int64, h handOff) {
	if f, first := g.enter(key, id, h); first {
		go g.run(key, f)
	}
}

// do is hand, then waits for the outcome of the signal that covers id.
func (g *signalFlights) do(key string, id int64, h handOff) error {
	f, first := g.enter(key, id, h)
	if first {
		g.run(key, f)
	} else {
		<-f.done
	}
	return f.err
}

// enter puts id on the key's flight that has not gone yet (a new one when
// none is on its way: first).
func (g *signalFlights) enter(key string, id int64, h handOff) (f *signalFlight, first bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.settle > 0 {
		if g.streams == nil {
			g.streams = map[string]time.Time{}
		}
		g.streams[streamOf(key)] = time.Now()
	}
	f, busy := g.flights[key]
	if !busy {
		f = &signalFlight{open: true, done: make(chan struct{})}
		// A signal of the key landed a moment ago: this one follows it up,
		// as if it had been on its way (one signal per burst, not one per
		// gather).
		if l, ok := g.landed[key]; ok && time.Since(l.at) < g.hold {
			f.followUp, f.prev = true, l
		}
		g.flights[key] = f
		first = true
	} else if !f.open {
		if f.next == nil {
			f.next = &signalFlight{open: true, followUp: true, done: make(chan struct{})}
		}
		f = f.next
	}
	f.join(id, h)
	return f, first
}

func (f *signalFlight) join(id int64, h handOff) {
	f.h = h
	if id != 0 {
		f.ids = append(f.ids, id)
	}
}

// run sends f, then hands the key to f's follow-up (sent by its own
// goroutine, so that no caller waits for more than its own signal).
func (g *signalFlights) run(key string, f *signalFlight) {
	if f.followUp {
		time.Sleep(time.Until(f.prev.at.Add(g.gather)))
		g.awaitPause(streamOf(key), time.Until(f.prev.at.Add(g.hold)))
		g.awaitPrevPull(f)
	}
	if g.slots != nil {
		g.slots <- struct{}{}
	}
	g.mu.Lock()
	f.open = false // later callers join f.next
	g.mu.Unlock()
	f.skipped = f.followUp && len(f.ids) > 0 && f.h.answered(f.ids)
	if !f.skipped {
		f.err = f.h.send()
	}
	if g.slots != nil {
		<-g.slots
	}
	g.mu.Lock()
	landed := landing{ids: f.ids, err: f.err, at: time.Now()}
	next := f.next
	if next == nil {
		delete(g.flights, key)
		g.noteLanded(key, landed)
	} else {
		g.flights[key] = next
		next.prev = landed
	}
	g.mu.Unlock()
	if !f.skipped {
		f.h.landed(f.ids, f.err)
	}
	close(f.done)
	if next != nil {
		go g.run(key, next)
	}
}

// landing is a key's last signal, kept for g.hold after it landed.
type landing struct {
	ids []int64
	err error
	at  time.Time
}

// noteLanded keeps the key's landing (with settle > 0) and forgets the
// landings and stream arrivals older than the hold; g.mu is held.
func (g *signalFlights) noteLanded(key string, l landing) {
	if g.settle <= 0 {
		return
	}
	if g.landed == nil {
		g.landed = map[string]landing{}
	}
	g.landed[key] = l
	if l.at.Sub(g.pruned) < g.hold {
		return
	}
	g.pruned = l.at
	for k, old := range g.landed {
		if l.at.Sub(old.at) >= g.hold {
			delete(g.landed, k)
		}
	}
	for stream, last := range g.streams {
		if l.at.Sub(last) >= g.hold {
			delete(g.streams, stream)
		}
	}
}

// awaitPause returns once stream has had no notification for g.settle, or
// after at most limit.
func (g *signalFlights) awaitPause(stream string, limit time.Duration) {
	if g.settle <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	for {
		g.mu.Lock()
		last := g.streams[stream]
		g.mu.Unlock()
		wait := time.Until(last.Add(g.settle))
		if wait <= 0 || !time.Now().Before(deadline) {
			return
		}
		time.Sleep(min(wait, time.Until(deadline)))
	}
}

// awaitPrevPull holds a follow-up until the pull its previous signal
// caused has answered what that signal carried, at most g.hold after that
// signal landed: a signal sent before that pull began would cost the
// workflow a task for nothing when the pull answers the follow-up's
// notifications too, as it does whenever it begins after they were stored.
// A failed or empty previous signal caused no pull to wait for.
func (g *signalFlights) awaitPrevPull(f *signalFlight) {
	if g.settle <= 0 || len(f.prev.ids) == 0 || f.prev.err != nil {
		return
	}
	deadline := f.prev.at.Add(g.hold)
	for wait := 50 * time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, 500*time.Millisecond) {
		g.mu.Lock()
		h := f.h
		g.mu.Unlock()
		if h.answered(f.prev.ids) {
			return
		}
		time.Sleep(min(wait, time.Until(deadline)))
	}
}

// streamOf is the stream of key: key up to its last slash.
func streamOf(key string) string { return key[:strings.LastIndexByte(key, '/')+1] }

// signalRFP signal-with-starts the RFP's workflow with ids only.
func (s *Server) signalRFP(ctx context.Context, integrationID, rfpID string, notice workflows.RFPNotice) error {
	if s.temporalLikelyDown() {
		return errors.New("temporal unreachable a moment ago")
	}
	// A loaded Temporal answers a burst slowly but answers: wait for it
	// rather than send PNS into retries. Only an unreachable Temporal
	// short-circuits the next calls.
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	id := workflows.RFPWorkflowID(integrationID, rfpID)
	_, err := s.opts.Temporal.SignalWithStartWorkflow(sctx, id, workflows.RFPSignal, notice,
		client.StartWorkflowOptions{ID: id, TaskQueue: s.opts.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(searchattr.IntegrationID.ValueSet(integrationID))}, workflows.RFP,
		&workflows.RFPInput{IntegrationID: integrationID, RFPID: rfpID, PullInline: true})
	var unavailable *serviceerror.Unavailable
	if errors.As(err, &unavailable) {
		s.noteTemporalDown()
	}
	return err
}

// rfpJSON is an RFP as the API shows it: its state and bookkeeping.
type rfpJSON struct {
	pns.State
	Pulls        int        `json:"pulls"`
	LastPulledAt *time.Time `json:"lastPulledAt,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	WorkflowID   string     `json:"workflowId"`
}

func toRFPJSON(r *store.RFPRow) rfpJSON {
	st, _ := r.State()
	out := rfpJSON{State: st, Pulls: r.Pulls, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		WorkflowID: workflows.RFPWorkflowID(r.IntegrationID, r.RFPID)}
	if r.LastPulledAt.Valid {
		t := r.LastPulledAt.Time
		out.LastPulledAt = &t
	}
	return out
}

func (s *Server) loadPNS(c *gin.Context) (*store.PNSIntegration, bool) {
	p, err := s.opts.Store.GetPNSIntegration(c, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		abort(c, http.StatusNotFound, "no pns integration with id "+c.Param("id"))
		return nil, false
	}
	if err != nil {
		s.internalError(c, "load pns integration", err)
		return nil, false
	}
	return p, true
}

// listRFPs answers GET /api/v1/integrations/{id}/rfps?status=&dueBefore=&updatedAfter=&limit=.
func (s *Server) listRFPs(c *gin.Context) {
	if _, ok := s.loadPNS(c); !ok {
		return
	}
	var f store.RFPFilter
	var problems []string
	f.Status = strings.TrimSpace(c.Query("status"))
	for _, q := range []struct {
		name string
		to   *time.Time
	}{{"dueBefore", &f.DueBefore}, {"updatedAfter", &f.UpdatedAfter}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				if t, err = time.Parse("2006-01-02", v); err != nil {
					problems = append(problems, q.name+" must be an RFC 3339 time or a date")
				}
			}
			*q.to = t
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			problems = append(problems, "limit must be 1–1000")
		}
		f.Limit = n
	}
	if len(problems) > 0 {
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Error: strings.Join(problems, "; "), Details: problems})
		return
	}
	rows, err := s.opts.Store.ListRFPs(c, c.Param("id"), f)
	if err != nil {
		s.internalError(c, "list rfps", err)
		return
	}
	out := make([]rfpJSON, len(rows))
	for i := range rows {
		out[i] = toRFPJSON(&rows[i])
	}
	c.JSON(http.StatusOK, gin.H{"rfps": out})
}

// getRFP answers GET /api/v1/integrations/{id}/rfps/{rfpId}: the state and
// the timeline of notifications and pulls. An RFP notified but not yet
// pulled answers 200 with "pending": true and its timeline.
func (s *Server) getRFP(c *gin.Context) {
	if _, ok := s.loadPNS(c); !ok {
		return
	}
	timeline, err := s.opts.Store.RFPTimeline(c, c.Param("id"), c.Param("rfpId"))
	if err != nil {
		s.internalError(c, "rfp timeline", err)
		return
	}
	r, err := s.opts.Store.GetRFP(c, c.Param("id"), c.Param("rfpId"))
	switch {
	case errors.Is(err, store.ErrNotFound) && len(timeline) > 0:
		c.JSON(http.StatusOK, gin.H{"rfp": gin.H{"rfpId": c.Param("rfpId"), "pending": true,
			"workflowId": workflows.RFPWorkflowID(c.Param("id"), c.Param("rfpId"))}, "timeline": timeline})
	case errors.Is(err, store.ErrNotFound):
		abort(c, http.StatusNotFound, "no rfp "+c.Param("rfpId")+" in this integration")
	case err != nil:
		s.internalError(c, "get rfp", err)
	default:
		c.JSON(http.StatusOK, gin.H{"rfp": toRFPJSON(r), "timeline": timeline})
	}
}

// refreshRFP answers POST …/rfps/{rfpId}/refresh: the RFP's workflow pulls
// it again (started if it had ended).
func (s *Server) refreshRFP(c *gin.Context) {
	if _, ok := s.loadPNS(c); !ok {
		return
	}
	if err := s.signalRFP(c, c.Param("id"), c.Param("rfpId"), workflows.RFPNotice{Type: "REFRESH"}); err != nil {
		c.Header("Retry-After", "10")
		abort(c, http.StatusServiceUnavailable, "the workflow engine is unreachable; retry later")
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "refreshing", "workflowId": workflows.RFPWorkflowID(c.Param("id"), c.Param("rfpId"))})
}
