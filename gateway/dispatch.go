package gateway

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/singleflight"

	"github.com/cventsync/cventsync/internal/reqid"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func deliveryWorkflowID(d *store.Delivery) string {
	return workflows.DeliveryWorkflowID(d.IntegrationID, d.MessageStub.String)
}

// LargeItems is the item count above which a delivery (a manual sync) gets a
// workflow of its own, applied in chunks; smaller ones are drained in
// batches by the integration's ingest workflow.
const LargeItems = 100

// startTimeout bounds a workflow start made while Cvent waits for its answer.
const startTimeout = 3 * time.Second

// startLarge starts a large delivery's workflow, or finds it running. A
// finished run of the same id may run again (a replay): applying is
// idempotent, and only a delivery still waiting is applied.
func (s *Server) startLarge(ctx context.Context, in *store.Integration, d *store.Delivery) error {
	if s.temporalLikelyDown() {
		s.retryLargeLater(in, d)
		return errTemporalDown
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startTimeout)
	defer cancel()
	_, err := s.opts.Temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID:                       d.WorkflowID,
		TaskQueue:                s.opts.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			searchattr.IntegrationID.ValueSet(in.ID),
			searchattr.EventID.ValueSet(in.CventEventID),
			searchattr.EventType.ValueSet(d.EventType),
		),
	}, workflows.Delivery, &workflows.DeliveryInput{
		DeliveryID: d.ID, IntegrationID: d.IntegrationID, EventType: d.EventType, MessageStub: d.MessageStub.String,
	})
	if err != nil {
		s.noteTemporalDown()
		s.log.Warn("temporal did not take the delivery; retrying", "deliveryId", d.ID, "error", err)
		s.retryLargeLater(in, d)
		return fmt.Errorf("start workflow: %w", err)
	}
	if err := s.opts.Store.MarkDispatched(context.WithoutCancel(ctx), d.ID, d.WorkflowID); err != nil {
		s.log.Error("could not record dispatch", "deliveryId", d.ID, "error", err)
	}
	return nil
}

// retryLargeLater hands a large delivery's failed start to the retry loop
// (the maintenance sweep is the backstop should this gateway die).
func (s *Server) retryLargeLater(in *store.Integration, d *store.Delivery) {
	// What the start needs, not the body: a queued start holds no payload.
	slim := &store.Delivery{ID: d.ID, IntegrationID: d.IntegrationID, EventType: d.EventType, MessageStub: d.MessageStub,
		WorkflowID: d.WorkflowID}
	s.ingest.retryLater("large:"+itoa(d.ID), func(ctx context.Context) error { return s.startLarge(ctx, in, slim) })
}

var errTemporalDown = fmt.Errorf("temporal unreachable")

// ingestStarter makes sure an integration with waiting deliveries has a
// drainer. It reads the drainer's lease after the delivery is stored: a live
// lease means the running drainer sees the delivery (the store's protocol,
// see internal/store/drain.go); otherwise it starts the ingest workflow. A
// gateway thus calls Temporal when an integration goes from quiet to busy,
// not once per webhook. A start that fails is retried here until it
// succeeds; if this gateway dies first, the maintenance sweep starts it.
type ingestStarter struct {
	s *Server

	// flight joins concurrent starts for one integration: a burst's first
	// webhooks all find no lease, and one start serves them all.
	flight singleflight.Group

	mu sync.Mutex
	// started remembers recent starts, so a burst before the drainer has
	// taken its lease starts one workflow, not one per webhook.
	started map[string]time.Time
	// failed holds the starts that failed, to retry, by what they start:
	// "ingest:<integration>" or "large:<delivery>".
	failed map[string]func(context.Context) error
	wake   chan struct{}
	// liveUntil remembers a lease seen live, for liveFor: a busy
	// integration's webhooks then skip the lease read.
	liveUntil map[string]time.Time
}

// liveFor is how long a lease seen live is trusted without reading it
// again. It is safe because a drainer gives its lease up only after
// ingestIdle (30 s) without work, and then claims once more: a delivery
// stored within liveFor of a delivery that found the lease live is either
// seen by the running drainer or by that last claim.
const liveFor = 250 * time.Millisecond

// recentStart is how long a start is trusted before the lease must show it.
const recentStart = 2 * time.Second

func newIngestStarter(s *Server) *ingestStarter {
	return &ingestStarter{s: s, started: map[string]time.Time{}, failed: map[string]func(context.Context) error{},
		wake: make(chan struct{}, 1), liveUntil: map[string]time.Time{}}
}

// kick makes sure in's deliveries will be drained. Temporal is never on
// the path of the answer: when no drainer holds the lease, the start runs
// in the background (one per integration at a time) and kick returns at
// once. It reports false when Temporal is known to be down (the delivery is
// stored and is applied once a start succeeds).
func (k *ingestStarter) kick(ctx context.Context, in *store.Integration) bool {
	asked := time.Now()
	k.mu.Lock()
	trusted := asked.Before(k.liveUntil[in.ID])
	k.mu.Unlock()
	if trusted {
		return true
	}
	live, err := k.s.opts.Store.DrainerLive(ctx, in.ID)
	if err == nil && live {
		if time.Since(asked) < liveFor { // an answer that took long is not trusted for later
			k.mu.Lock()
			k.liveUntil[in.ID] = asked.Add(liveFor)
			if len(k.liveUntil) > 256 {
				for id, until := range k.liveUntil {
					if asked.After(until) {
						delete(k.liveUntil, id)
					}
				}
			}
			k.mu.Unlock()
		}
		return true
	}
	k.mu.Lock()
	if t, ok := k.started[in.ID]; ok && time.Since(t) < recentStart {
		k.mu.Unlock()
		return true
	}
	k.mu.Unlock()
	if k.s.temporalLikelyDown() {
		k.retryIngestLater(in)
		return false
	}
	// DoChan joins a start already under way; nobody waits on the result.
	k.flight.DoChan(in.ID, func() (any, error) {
		err := k.start(context.WithoutCancel(ctx), in)
		if err != nil {
			k.retryIngestLater(in)
		}
		return nil, err
	})
	return true
}

func (k *ingestStarter) retryIngestLater(in *store.Integration) {
	k.retryLater("ingest:"+in.ID, func(ctx context.Context) error { return k.start(ctx, in) })
}

// retryLater hands a start that failed to the retry loop.
func (k *ingestStarter) retryLater(key string, start func(context.Context) error) {
	k.mu.Lock()
	k.failed[key] = start
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

func (k *ingestStarter) start(ctx context.Context, in *store.Integration) error {
	if k.s.temporalLikelyDown() {
		return errTemporalDown
	}
	// The drainer serves every request after this one; its log line for each
	// delivery names that delivery's request id.
	sctx, cancel := context.WithTimeout(reqid.Without(context.WithoutCancel(ctx)), startTimeout)
	defer cancel()
	// Signal-with-start: a run that is just ending after a quiet spell hears
	// the wake-up and drains once more instead of ending.
	_, err := k.s.opts.Temporal.SignalWithStartWorkflow(sctx, workflows.IngestWorkflowID(in.ID), workflows.IngestWakeSignal, nil,
		client.StartWorkflowOptions{
			TaskQueue:             k.s.opts.TaskQueue,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				searchattr.IntegrationID.ValueSet(in.ID),
				searchattr.EventID.ValueSet(in.CventEventID),
			),
		}, workflows.Ingest, &workflows.IngestInput{IntegrationID: in.ID})
	if err != nil {
		k.s.noteTemporalDown()
		k.s.log.Warn("temporal did not start the ingest workflow; retrying", "integrationId", in.ID, "error", err)
		return fmt.Errorf("start ingest workflow: %w", err)
	}
	k.mu.Lock()
	k.started[in.ID] = time.Now()
	delete(k.failed, "ingest:"+in.ID)
	for id, t := range k.started {
		if time.Since(t) > recentStart {
			delete(k.started, id)
		}
	}
	k.mu.Unlock()
	return nil
}

// retry makes, with a growing pause, the workflow starts that failed
// (ingest workflows and large deliveries' workflows), until ctx ends.
func (k *ingestStarter) retry(ctx context.Context) {
	pause := 500 * time.Millisecond
	for {
		k.mu.Lock()
		pending := make(map[string]func(context.Context) error, len(k.failed))
		for key, start := range k.failed {
			pending[key] = start
		}
		k.mu.Unlock()
		if len(pending) == 0 {
			pause = 500 * time.Millisecond
			select {
			case <-ctx.Done():
				return
			case <-k.wake:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		k.s.temporalDownUntil.Store(0) // probe for real instead of trusting the last failure
		ok := true
		for key, start := range pending {
			if err := start(ctx); err != nil {
				ok = false
				break
			}
			k.mu.Lock()
			delete(k.failed, key)
			k.mu.Unlock()
		}
		if ok {
			pause = 500 * time.Millisecond
		} else {
			pause = min(2*pause, 10*time.Second)
		}
	}
}
