package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/pns"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// RFP pulls RFPs from Cvent's Supplier Network after a PNS notification and
// stores what changed.
type RFP struct {
	Store *store.Store
	// Box opens the sealed pull secret (nil: stored in clear, dev only).
	Box        *secret.Box
	HTTPClient *http.Client
	// Calls counts the REST flavour's calls against the account's daily
	// quota (nil: not counted).
	Calls  cvent.CallCounter
	Logger *slog.Logger
	// HeartbeatEvery is how often a running pull heartbeats (default 2 s).
	HeartbeatEvery time.Duration

	mu      sync.Mutex
	pullers map[string]*paced // per integration: shares the token and the pace
}

// paced is an integration's puller and the limiter that paces its calls.
type paced struct {
	pns.Puller
	limiter *rate.Limiter // nil: unpaced
}

// roomFor tells whether the pace lets a pull of suppliers make its calls
// now: the REST API answers in two calls, the legacy one in a call per
// supplier. (Another pull may take the room first; then a call's wait is
// bounded by the inline attempt's deadline.)
func (p *paced) roomFor(flavour string, suppliers []string) bool {
	if p.limiter == nil {
		return true
	}
	calls := 2
	if flavour == pns.FlavourLegacy {
		calls = len(suppliers)
	}
	return p.limiter.Tokens() >= float64(calls)
}

// PullRFPInput names the RFP to pull and the notifications the pull answers.
type PullRFPInput struct {
	IntegrationID string
	RFPID         string
	// SupplierIDs are the suppliers notifications named (legacy API: one
	// call each); empty means every supplier of the integration.
	SupplierIDs []string
	// NotificationIDs came with the signals since the last pull (for the
	// record of a refused pull; a successful pull answers every stored
	// notification of the RFP up to its start, signalled or not).
	NotificationIDs []int64
}

// PullRFPResult is what the pull found.
type PullRFPResult struct {
	// ChangeType is the rfp.* change appended, "" when nothing changed.
	ChangeType string
	Closed     bool
	Pulls      int
	// Refused is Cvent's reason when it refused the pull (403, 404, 422):
	// recorded in the timeline, not retried.
	Refused string
	// UpTo is the last notification of the RFP the pull answered (0 when
	// refused): every one stored before the pull began.
	UpTo int64
}

// PullRFP pulls the RFP and our suppliers' responses and applies them. Temporal
// owns the retries: transient failures and rate limits are returned as
// errors (cvent.ToTemporal sets the delay); a refusal is recorded and
// answered, so the workflow carries on.
func (a *RFP) PullRFP(ctx context.Context, in *PullRFPInput) (*PullRFPResult, error) {
	return a.pull(ctx, in, false)
}

// ErrWouldWait is PullRFPNow's answer when the account's pace has no room
// for the pull's calls now: the workflow pulls as an activity instead.
var ErrWouldWait = errors.New("the account's pace has no room for this pull now")

// PullRFPNow is PullRFP run inline, as a local activity within the RFP
// workflow's task: one attempt that never waits on the account's pace and
// records no heartbeat. Any error sends the workflow to PullRFP, so a busy
// account, a failing Cvent or a dead worker cost the fast path nothing but
// the attempt.
func (a *RFP) PullRFPNow(ctx context.Context, in *PullRFPInput) (*PullRFPResult, error) {
	return a.pull(ctx, in, true)
}

func (a *RFP) pull(ctx context.Context, in *PullRFPInput, inline bool) (res *PullRFPResult, err error) {
	defer func() {
		path, outcome := "activity", "applied"
		if inline {
			path = "inline"
		}
		switch {
		case errors.Is(err, ErrWouldWait):
			outcome = "would_wait"
		case err != nil:
			outcome = "failed"
		case res.Refused != "":
			outcome = "refused"
		}
		metrics.RFPPull(path, outcome)
	}()
	p, cfg, err := a.puller(ctx, in.IntegrationID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, temporal.NewNonRetryableApplicationError("no pns integration "+in.IntegrationID, "NotFound", err)
	}
	if err != nil {
		return nil, err
	}
	// Every supplier the RFP's notifications named, whichever signal
	// carried them (the gateway's signals coalesce notifications and name
	// one), and the legacy API is asked per supplier.
	notified, err := a.Store.PNSNotifiedSuppliers(ctx, in.IntegrationID, in.RFPID)
	if err != nil {
		return nil, err
	}
	suppliers := union(in.SupplierIDs, notified)
	if cfg.Flavour != pns.FlavourLegacy || len(suppliers) == 0 {
		suppliers = union(suppliers, cfg.SupplierIDs) // those named first
	}
	if inline && !p.roomFor(cfg.Flavour, suppliers) {
		return nil, ErrWouldWait
	}
	// Every notification stored before the pull begins is answered by it.
	upTo, err := a.Store.LastPNSNotificationID(ctx, in.IntegrationID, in.RFPID)
	if err != nil {
		return nil, err
	}
	stop := func() {}
	if !inline {
		stop = a.heartbeat(ctx)
	}
	snap, err := p.Pull(ctx, in.RFPID, suppliers)
	stop()
	if err != nil {
		terr := cvent.ToTemporal(err, int(activity.GetInfo(ctx).Attempt))
		var appErr *temporal.ApplicationError
		if errors.As(terr, &appErr) && appErr.NonRetryable() {
			if rerr := a.Store.RecordRFPPullFailure(ctx, in.IntegrationID, in.RFPID, err.Error(), in.NotificationIDs); rerr != nil {
				return nil, rerr
			}
			return &PullRFPResult{Refused: err.Error()}, nil
		}
		return nil, fmt.Errorf("pull rfp %s: %w", in.RFPID, terr)
	}
	st := pns.StateOf(snap)
	if st.RFPID == "" {
		st.RFPID = in.RFPID
	}
	applied, err := a.Store.ApplyRFPPull(ctx, in.IntegrationID, st, upTo)
	if err != nil {
		return nil, err
	}
	if applied.ChangeType != "" {
		a.logger().Info("rfp changed", "integration", in.IntegrationID, "rfp", in.RFPID, "change", applied.ChangeType, "inline", inline)
	}
	return &PullRFPResult{ChangeType: applied.ChangeType, Closed: applied.Closed, Pulls: applied.Pulls, UpTo: upTo}, nil
}

// union is first, then those of more not among them (supplier ids compare
// without case).
func union(first, more []string) []string {
	out := append([]string{}, first...)
	for _, m := range more {
		dup := false
		for _, f := range first {
			dup = dup || strings.EqualFold(m, f)
		}
		if !dup {
			out = append(out, m)
		}
	}
	return out
}

// heartbeat keeps a pull alive while it waits on the limiter or Cvent, so a
// worker that dies mid-pull is noticed within the heartbeat timeout. The
// first beat comes after one interval: most pulls end sooner and cost
// Temporal no heartbeat write (the timeout runs from the start anyway).
func (a *RFP) heartbeat(ctx context.Context) func() {
	every := a.HeartbeatEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}

func (a *RFP) puller(ctx context.Context, integrationID string) (*paced, *store.PNSIntegration, error) {
	cfg, err := a.Store.GetPNSIntegration(ctx, integrationID)
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.pullers[integrationID]; ok {
		return p, cfg, nil
	}
	sec := cfg.SecretSealed
	if a.Box != nil && sec != "" {
		if sec, err = a.Box.Open(sec); err != nil {
			return nil, nil, temporal.NewNonRetryableApplicationError("pull secret: "+err.Error(), "BadSecret", err)
		}
	}
	pc := pns.PullConfig{Flavour: cfg.Flavour, BaseURL: cfg.BaseURL, ClientID: cfg.ClientID, HTTPClient: a.HTTPClient, Calls: a.Calls}
	if cfg.Flavour == pns.FlavourLegacy {
		pc.APIKey = sec
	} else {
		pc.ClientSecret = sec
	}
	if cfg.CallsPerSecond > 0 {
		// A little under the tier, like internal/cvent's limiters.
		pc.Limiter = rate.NewLimiter(rate.Limit(cfg.CallsPerSecond*cvent.Margin), max(1, cfg.Burst-1))
	}
	puller, err := pns.NewPuller(pc)
	if err != nil {
		return nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadConfig", err)
	}
	p := &paced{Puller: puller, limiter: pc.Limiter}
	if a.pullers == nil {
		a.pullers = map[string]*paced{}
	}
	a.pullers[integrationID] = p
	return p, cfg, nil
}

func (a *RFP) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
