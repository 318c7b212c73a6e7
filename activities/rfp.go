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
	pullers map[string]pns.Puller // per integration: shares the token and the pace
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
	// Every notification stored before the pull begins is answered by it.
	upTo, err := a.Store.LastPNSNotificationID(ctx, in.IntegrationID, in.RFPID)
	if err != nil {
		return nil, err
	}
	stop := a.heartbeat(ctx)
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
	res, err := a.Store.ApplyRFPPull(ctx, in.IntegrationID, st, upTo)
	if err != nil {
		return nil, err
	}
	if res.ChangeType != "" {
		a.logger().Info("rfp changed", "integration", in.IntegrationID, "rfp", in.RFPID, "change", res.ChangeType)
	}
	return &PullRFPResult{ChangeType: res.ChangeType, Closed: res.Closed, Pulls: res.Pulls, UpTo: upTo}, nil
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

func (a *RFP) puller(ctx context.Context, integrationID string) (pns.Puller, *store.PNSIntegration, error) {
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
	p, err := pns.NewPuller(pc)
	if err != nil {
		return nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadConfig", err)
	}
	if a.pullers == nil {
		a.pullers = map[string]pns.Puller{}
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
