package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
)

// RFPWorkflowID names the workflow of one RFP of a pns integration.
func RFPWorkflowID(integrationID, rfpID string) string { return "rfp/" + integrationID + "/" + rfpID }

// RFPSignal carries a stored notification (or a refresh) to the RFP's
// workflow; the gateway signal-with-starts it.
const RFPSignal = "rfp-notification"

// RFPNotice is the payload of RFPSignal: ids only, never the body.
type RFPNotice struct {
	// NotificationID is the stored notification; 0 for a refresh.
	NotificationID int64
	Type           string
	SupplierID     string
}

// RFPInput starts (or continues) an RFP's workflow.
type RFPInput struct {
	IntegrationID string
	RFPID         string
	// Carried across continue-as-new.
	SupplierIDs []string
	Pending     []int64
	Dirty       bool
	Closed      bool
	// How long the workflow waits for another notification before it ends:
	// QuietAfterClose once the RFP is closed (default 1 h), IdleTimeout
	// while it is open (default 24 h). The state is in PostgreSQL, and the
	// next notification starts the workflow again.
	QuietAfterClose time.Duration
	IdleTimeout     time.Duration
	// MinPullGap spaces the pulls of one RFP (default 1 s): the first
	// notification is pulled at once, but the rest of a burst that goes on
	// while it is pulled is gathered into one more pull, not one per
	// notification.
	MinPullGap time.Duration
	// AnsweredUpTo is the last notification a finished pull answered (every
	// notification of the RFP stored before a pull begins is answered by
	// it): a notice of one up to it is late news and causes no pull.
	AnsweredUpTo int64
	// PullInline makes each pull try a local activity first (PullRFPNow:
	// one attempt, within the workflow task, never waiting on the account's
	// pace) and fall back to the PullRFP activity, which Temporal retries
	// for as long as it takes. The common pull then costs the workflow one
	// task instead of an activity's three transitions and a second task.
	// Runs started before this field existed carry false and replay as
	// they were recorded (the field is their version).
	PullInline bool
}

// rfpPullNowTimeout bounds the inline pull: inside the workflow task's 10 s
// timeout (the SDK extends a task at 8 s), and long enough for a loaded
// worker. An inline pull that stored its result but ran out of time is
// pulled again by the activity: harmless (the second apply changes
// nothing), but a wasted pull, which a tight bound made common under load.
const rfpPullNowTimeout = 6 * time.Second

// rfpPullsPerRun bounds one run's history; then it continues as new.
const rfpPullsPerRun = 100

// rfpAnsweredChange (workflow.GetVersion) marks runs that skip notices of
// notifications a finished pull already answered; older runs replay as
// they were recorded. It is asked at the first notice that could be
// skipped, so a run that never has one carries no marker (nor the search
// attribute update that comes with it).
const (
	rfpAnsweredChange  = "rfp-answered-notices"
	rfpAnsweredVersion = 1
)

// RFP keeps one RFP in step with Cvent: every notification marks it dirty,
// and while it is dirty the workflow pulls (one pull answers every
// notification stored before it started; those stored during a pull cause
// one more, and a notice of one a finished pull already answered causes
// none). Temporal retries a failing pull for as long as it takes.
func RFP(ctx workflow.Context, in *RFPInput) error {
	if in == nil || in.IntegrationID == "" || in.RFPID == "" {
		return temporal.NewNonRetryableApplicationError("integration and rfp ids are required", "BadInput", nil)
	}
	r := &rfpRun{in: *in, signals: workflow.GetSignalChannel(ctx, RFPSignal)}
	if r.in.QuietAfterClose <= 0 {
		r.in.QuietAfterClose = time.Hour
	}
	if r.in.IdleTimeout <= 0 {
		r.in.IdleTimeout = 24 * time.Hour
	}
	if r.in.MinPullGap <= 0 {
		r.in.MinPullGap = time.Second
	}
	return r.run(ctx)
}

type rfpRun struct {
	in      RFPInput
	signals workflow.ReceiveChannel
}

func (r *rfpRun) run(ctx workflow.Context) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Generous: a pull may wait its turn on the account's rate limiter.
		StartToCloseTimeout: 5 * time.Minute,
		// The pull heartbeats every 2 s; a worker that died mid-pull is
		// replaced within this.
		HeartbeatTimeout: 10 * time.Second,
		// No attempt limit: Cvent's API may be down for hours and the RFP
		// must still catch up. Rate limits bring their own delay.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Second},
	})
	log := workflow.GetLogger(ctx)
	var lastPull time.Time
	for pulls := 0; ; {
		r.drain(ctx)
		if r.in.Dirty {
			if pulls >= rfpPullsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
				return workflow.NewContinueAsNewError(ctx, RFP, &r.in)
			}
			if gap := lastPull.Add(r.in.MinPullGap).Sub(workflow.Now(ctx)); pulls > 0 && gap > 0 {
				if err := workflow.Sleep(ctx, gap); err != nil {
					return err
				}
				r.drain(ctx)
			}
			lastPull = workflow.Now(ctx)
			pending := r.in.Pending
			r.in.Dirty, r.in.Pending = false, nil
			res, err := r.pull(ctx, actx, &activities.PullRFPInput{IntegrationID: r.in.IntegrationID,
				RFPID: r.in.RFPID, SupplierIDs: r.in.SupplierIDs, NotificationIDs: pending})
			pulls++
			if err != nil {
				// Only non-retryable errors get here (the integration is gone).
				log.Error("rfp pull failed", "error", err)
				return err
			}
			r.in.Closed = res.Closed
			r.in.AnsweredUpTo = max(r.in.AnsweredUpTo, res.UpTo)
			continue
		}
		wait := r.in.IdleTimeout
		if r.in.Closed {
			wait = r.in.QuietAfterClose
		}
		tctx, cancel := workflow.WithCancel(ctx)
		quiet := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(tctx, wait), func(workflow.Future) { quiet = true })
		sel.AddReceive(r.signals, func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		cancel()
		if quiet {
			r.drain(ctx)
			if !r.in.Dirty {
				return nil
			}
		}
	}
}

// pull pulls the RFP once: inline first when the run says so, else (or
// when the inline attempt did not succeed) as an activity.
func (r *rfpRun) pull(ctx, actx workflow.Context, in *activities.PullRFPInput) (activities.PullRFPResult, error) {
	var a *activities.RFP
	var res activities.PullRFPResult
	if r.in.PullInline {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			ScheduleToCloseTimeout: rfpPullNowTimeout,
			RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		err := workflow.ExecuteLocalActivity(lctx, a.PullRFPNow, in).Get(ctx, &res)
		if err == nil {
			return res, nil
		}
		workflow.GetLogger(ctx).Debug("inline rfp pull did not succeed; pulling as an activity", "error", err)
	}
	err := workflow.ExecuteActivity(actx, a.PullRFP, in).Get(ctx, &res)
	return res, err
}

// drain takes every buffered notice: the RFP is dirty, and the pull will
// answer them.
func (r *rfpRun) drain(ctx workflow.Context) {
	var n RFPNotice
	for r.signals.ReceiveAsync(&n) {
		needed := needsPull(n, r.in.AnsweredUpTo, r.in.SupplierIDs) ||
			workflow.GetVersion(ctx, rfpAnsweredChange, workflow.DefaultVersion, rfpAnsweredVersion) < rfpAnsweredVersion
		if n.SupplierID != "" && !slices.Contains(r.in.SupplierIDs, n.SupplierID) {
			r.in.SupplierIDs = append(r.in.SupplierIDs, n.SupplierID)
		}
		if !needed {
			continue
		}
		r.in.Dirty = true
		if n.NotificationID != 0 {
			r.in.Pending = append(r.in.Pending, n.NotificationID)
		}
	}
}

// needsPull tells whether a notice needs a pull. One whose notification a
// finished pull answered (stored before that pull began, so Cvent's answer
// already held what it announced) does not, unless it names a supplier the
// pulls did not ask about (the legacy API is asked per supplier). A refresh
// (no notification) always does.
func needsPull(n RFPNotice, answeredUpTo int64, pulledSuppliers []string) bool {
	if n.NotificationID == 0 || n.NotificationID > answeredUpTo {
		return true
	}
	return n.SupplierID != "" && !slices.Contains(pulledSuppliers, n.SupplierID)
}
