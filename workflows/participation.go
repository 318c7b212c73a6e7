package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cventsync/cventsync/activities"
)

// ParticipationWorkflowID names an integration's participation write-back
// workflow: one per integration, so check-ins are batched across attendees.
func ParticipationWorkflowID(integrationID string) string { return "participation/" + integrationID }

// ParticipationSignal is sent when platform activity made attendees due now
// (DueNow) or at a future time (NextDue); the payload lets the workflow move
// its timer without a database round trip.
const ParticipationSignal = "participation-due"

// ParticipationKick is the payload of ParticipationSignal.
type ParticipationKick struct {
	DueNow  bool
	NextDue time.Time
	// Resume is an operator's word that Cvent takes calls again (its daily
	// quota was raised or has reset): a write-back parked on the quota runs
	// now instead of at the parking time.
	Resume bool `json:",omitempty"`
}

// ParticipationInput starts the write-back workflow.
type ParticipationInput struct {
	IntegrationID string
	// NextDue carries the pending timer across continue-as-new.
	NextDue time.Time
}

// participationRounds bounds one run's history; then it continues as new.
const participationRounds = 200

// Participation writes check-ins back to Cvent for one integration, for
// ever: it sleeps on a durable timer until the next attendee is due (N
// minutes after login survives worker restarts and deploys), or until the
// gateway signals that someone is due now, and then runs a write-back.
func Participation(ctx workflow.Context, in *ParticipationInput) error {
	if in == nil || in.IntegrationID == "" {
		return temporal.NewNonRetryableApplicationError("integration id is required", "BadInput", nil)
	}
	w := &participationRun{in: in, kicks: workflow.GetSignalChannel(ctx, ParticipationSignal), nextDue: in.NextDue}
	return w.run(ctx)
}

type participationRun struct {
	in      *ParticipationInput
	kicks   workflow.ReceiveChannel
	nextDue time.Time
	// parked is set while Cvent's daily quota is spent: kicks cannot help then.
	parked bool
}

func (w *participationRun) run(ctx workflow.Context) error {
	var a *activities.Participation
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		// The activity heartbeats after every Cvent call; a worker that died
		// mid-write is noticed within this and the claim is settled by the retry.
		HeartbeatTimeout: 20 * time.Second,
		// Rate limits come back as errors with their own next-retry delay
		// (see internal/cvent); this policy covers everything else.
		// A 429 storm counts attempts too, so the interval is capped low
		// enough that a later transient error is not left for minutes.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		},
	})
	runNow := true // a fresh run first looks for work left by the previous one
	for round := 0; round < participationRounds; round++ {
		if runNow {
			var res activities.WriteBackResult
			err := workflow.ExecuteActivity(actx, a.WriteBackDue, &activities.WriteBackInput{IntegrationID: w.in.IntegrationID}).Get(ctx, &res)
			if err != nil {
				// Only non-retryable errors get here (e.g. no Cvent credentials);
				// the attendees stay pending, so wait for the next kick.
				workflow.GetLogger(ctx).Error("write-back failed", "error", err)
			}
			w.nextDue, w.parked = res.NextDue, !res.ParkedUntil.IsZero()
			if w.parked {
				// Cvent's daily quota is spent: nothing can be written before it resets.
				w.nextDue = res.ParkedUntil
			} else if res.More {
				continue
			}
		}
		runNow = w.wait(ctx)
	}
	w.drain()
	return workflow.NewContinueAsNewError(ctx, Participation, &ParticipationInput{IntegrationID: w.in.IntegrationID, NextDue: w.nextDue})
}

// wait blocks until a kick makes someone due now, or the timer for the next
// due attendee fires. It reports whether a write-back should run.
func (w *participationRun) wait(ctx workflow.Context) bool {
	for {
		tctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		fired := false
		if !w.nextDue.IsZero() {
			d := w.nextDue.Sub(workflow.Now(ctx))
			if d <= 0 {
				cancel()
				return true
			}
			sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) { fired = true })
		}
		var kick ParticipationKick
		sel.AddReceive(w.kicks, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &kick) })
		sel.Select(ctx)
		cancel()
		if fired {
			w.parked = false
			return true
		}
		if w.parked {
			if !kick.Resume {
				continue // nothing can be written before the quota resets
			}
			w.parked = false
			w.drain()
			return true
		}
		if kick.DueNow {
			w.drain() // one write-back serves every kick that arrived meanwhile
			return true
		}
		if !kick.NextDue.IsZero() && (w.nextDue.IsZero() || kick.NextDue.Before(w.nextDue)) {
			w.nextDue = kick.NextDue
		}
	}
}

// drain consumes buffered kicks, keeping the earliest future due time.
func (w *participationRun) drain() {
	var kick ParticipationKick
	for w.kicks.ReceiveAsync(&kick) {
		if !kick.NextDue.IsZero() && (w.nextDue.IsZero() || kick.NextDue.Before(w.nextDue)) {
			w.nextDue = kick.NextDue
		}
	}
}
