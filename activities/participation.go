package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/participation"
	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/internal/store"
)

// CheckIn is one attendee to mark as "Event Participant – Yes" in Cvent.
type CheckIn struct {
	AttendeeID string
	At         time.Time
	Device     string
}

// CheckInOutcome is Cvent's answer for one attendee of a check-in call.
type CheckInOutcome struct {
	AttendeeID string
	OK         bool
	Error      string
}

// CheckInAPI is the part of Cvent's API the write-back needs.
type CheckInAPI interface {
	// CheckIn posts up to MaxCheckInsPerCall check-ins and returns Cvent's
	// per-attendee answers (the 207 multi-status).
	CheckIn(ctx context.Context, eventID string, items []CheckIn) ([]CheckInOutcome, error)
	// CheckedIn reports which of the attendees Cvent already has checked in.
	CheckedIn(ctx context.Context, eventID string, attendeeIDs []string) (map[string]bool, error)
	// SessionCheckIn checks up to MaxCheckInsPerCall attendees in to a session.
	SessionCheckIn(ctx context.Context, sessionID string, items []CheckIn) ([]CheckInOutcome, error)
	// SessionCheckedIn reports which of the attendees Cvent has checked in
	// to the session.
	SessionCheckedIn(ctx context.Context, sessionID string, attendeeIDs []string) (map[string]bool, error)
	// CallTimeout is the client's limit on one call (0: none): a call's
	// lease is derived from it.
	CallTimeout() time.Duration
}

// CventAccounts gives the Cvent API of an integration's account.
type CventAccounts interface {
	CheckIns(ctx context.Context, in *store.Integration) (api CheckInAPI, eventID string, err error)
}

// ErrorClassifier classifies a failed Cvent call for retry attempt
// `attempt` (1-based): cvent.Decide, the one table of cases. Nil means
// cvent.Decide at the current time.
type ErrorClassifier func(err error, attempt int) cvent.Decision

// MaxCheckInsPerCall is Cvent's limit for one check-in call.
const MaxCheckInsPerCall = 100

// DefaultLinger is how long a partial check-in batch waits to fill.
const DefaultLinger = time.Second

// Participation writes participation back to Cvent.
type Participation struct {
	Store    *store.Store
	Accounts CventAccounts
	Classify ErrorClassifier
	Logger   *slog.Logger
	// MaxCallsPerRun bounds one activity run; the workflow runs it again
	// while there is more to write.
	MaxCallsPerRun int
	// Linger is how long a partial batch (under 100) may wait for more
	// attendees to become due, so a wave of logins fills calls instead of
	// spending Cvent's quota on half-empty ones. DefaultLinger when zero.
	Linger time.Duration
	Now    func() time.Time
}

// WriteBackInput names the integration to write back for.
type WriteBackInput struct {
	IntegrationID string
}

// WriteBackResult says what a write-back run did and what is left.
type WriteBackResult struct {
	Calls     int
	Written   int
	Failed    int
	Recovered int // in-flight attendees found already checked in after a crash
	// SessionWritten counts session check-ins written.
	SessionWritten int
	// More is true when due attendees remain (the run hit its call budget).
	More bool
	// NextDue is when the next pending attendee becomes due, if any.
	NextDue time.Time
	// ParkedUntil is set when Cvent's daily quota is spent.
	ParkedUntil time.Time
}

// ErrTypeNotConfigured marks an integration without what write-back needs.
const ErrTypeNotConfigured = "NotConfigured"

// WriteBackDue checks due attendees in to Cvent in batches of 100, exactly
// once each (see writeback.go): attendees are claimed in PostgreSQL for this
// attempt before the call, the attempt heartbeats while Cvent answers, and
// claims left by an attempt that died or lost its answer are taken over and
// settled by asking Cvent before anything is sent again.
func (p *Participation) WriteBackDue(ctx context.Context, in *WriteBackInput) (*WriteBackResult, error) {
	integ, err := p.Store.GetIntegration(ctx, in.IntegrationID)
	if err != nil {
		return nil, fmt.Errorf("load integration: %w", err)
	}
	var cfg participation.Config
	if err := settings.Decode(integ.Settings, participation.SettingsSection, &cfg); err != nil || cfg.Criterion == "" {
		return nil, temporal.NewNonRetryableApplicationError("participation tracking is not configured", ErrTypeNotConfigured, err)
	}
	api, eventID, err := p.Accounts.CheckIns(ctx, integ)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotConfigured, err)
	}
	w := &writeBack{p: p, integrationID: integ.ID, owner: fenceToken(ctx), api: api, eventID: eventID,
		device: cfg.Device, timeout: callTimeout(ctx, api.CallTimeout())}
	res := &WriteBackResult{}
	if err := w.settleInFlight(ctx, res); err != nil {
		return res, err
	}
	budget := p.MaxCallsPerRun
	if budget <= 0 {
		budget = 20
	}
	linger := p.Linger
	if linger == 0 {
		linger = DefaultLinger
	}
	for ; budget > 0; budget-- {
		sum, err := p.Store.SummarizeParticipation(ctx, integ.ID, p.now())
		if err != nil {
			return res, err
		}
		if sum.DueNow == 0 {
			break
		}
		if sum.DueNow < MaxCheckInsPerCall && p.now().Sub(sum.OldestDue) < linger {
			// A partial batch: give it a moment to fill; the workflow's timer
			// comes back for it.
			res.NextDue = sum.OldestDue.Add(linger)
			return res, nil
		}
		claimed, err := p.Store.ClaimDue(ctx, integ.ID, w.owner, p.now(), w.leaseUntil(), MaxCheckInsPerCall)
		if err != nil {
			return res, err
		}
		if len(claimed) == 0 {
			break
		}
		if err := w.send(ctx, claimed, res); err != nil {
			return res, err
		}
		heartbeat(ctx, res.Calls)
		if !res.ParkedUntil.IsZero() {
			return res, nil
		}
	}
	// Session check-ins left in flight are settled even when session
	// tracking was turned off since: they may have reached Cvent.
	if err := w.settleSessions(ctx, res); err != nil {
		return res, err
	}
	if cfg.SessionMinutes > 0 && res.ParkedUntil.IsZero() {
		if err := w.writeSessions(ctx, res); err != nil {
			return res, err
		}
	}
	sum, err := p.Store.SummarizeParticipation(ctx, integ.ID, p.now())
	if err != nil {
		return res, err
	}
	res.More, res.NextDue = sum.DueNow > 0, sum.NextDue
	return res, nil
}

// writeBack is one attempt of WriteBackDue.
type writeBack struct {
	p             *Participation
	integrationID string
	owner         string // this attempt's fence token
	api           CheckInAPI
	eventID       string
	device        string
	timeout       time.Duration // for one Cvent call
}

// leaseUntil is the lease of a claim made now: the call cannot act after it.
func (w *writeBack) leaseUntil() time.Time { return time.Now().Add(w.timeout + leaseMargin) }

// send checks one claimed batch in to the event.
func (w *writeBack) send(ctx context.Context, claimed []store.Participation, res *WriteBackResult) error {
	items := make([]CheckIn, len(claimed))
	ids := make([]string, len(claimed))
	for i, c := range claimed {
		items[i] = CheckIn{AttendeeID: c.InviteeID, At: c.DueAt.Time, Device: w.device}
		ids[i] = c.InviteeID
	}
	res.Calls++
	outcomes, err := waitingCall(ctx, w.timeout, "event check-in", func(cctx context.Context) ([]CheckInOutcome, error) {
		return w.api.CheckIn(cctx, w.eventID, items)
	})
	if err != nil {
		return w.callFailed(ctx, ids, err, res, func(records []store.WriteOutcome) (int, error) {
			return w.p.Store.RecordWriteOutcomes(context.WithoutCancel(ctx), w.integrationID, w.owner, records)
		}, func(at time.Time) error {
			return w.p.Store.EndLease(context.WithoutCancel(ctx), w.integrationID, w.owner, ids, at)
		})
	}
	records, written, failed := outcomeRecords(ids, outcomes)
	n, err := w.p.Store.RecordWriteOutcomes(context.WithoutCancel(ctx), w.integrationID, w.owner, records)
	if err != nil {
		return err
	}
	w.fencedOut(len(records)-n, "event check-in")
	res.Written += written
	res.Failed += failed
	return nil
}

// fencedOut logs outcomes a later attempt's take-over kept out.
func (w *writeBack) fencedOut(n int, what string) {
	if n > 0 {
		w.p.logger().Warn("a later attempt owns these check-ins now; it settles them from Cvent's state",
			"integrationId", w.integrationID, "kind", what, "attendees", n, "attempt", w.owner)
	}
}

// outcomeRecords turns Cvent's per-item answers into what is stored for
// each attendee sent. One Cvent did not answer for was not done: retry it.
func outcomeRecords(inviteeIDs []string, outcomes []CheckInOutcome) (records []store.WriteOutcome, written, failed int) {
	byID := make(map[string]CheckInOutcome, len(outcomes))
	for _, o := range outcomes {
		byID[strings.ToLower(o.AttendeeID)] = o
	}
	records = make([]store.WriteOutcome, len(inviteeIDs))
	for i, id := range inviteeIDs {
		o, ok := byID[id]
		switch {
		case !ok:
			records[i] = store.WriteOutcome{InviteeID: id, Status: store.ParticipationPending, Error: "no answer from Cvent for this attendee"}
		case o.OK:
			records[i] = store.WriteOutcome{InviteeID: id, Status: store.ParticipationWritten}
			written++
		default:
			records[i] = store.WriteOutcome{InviteeID: id, Status: store.ParticipationFailed, Error: o.Error}
			failed++
		}
	}
	return records, written, failed
}

// callFailed decides what a failed check-in call means for the attendees it
// carried: record stores outcomes (fenced by the claim), endLease marks the
// call as over when its outcome is unknown.
func (w *writeBack) callFailed(ctx context.Context, ids []string, callErr error, res *WriteBackResult,
	record func([]store.WriteOutcome) (int, error), endLease func(time.Time) error) error {
	d := w.p.decide(callErr, attemptOf(ctx))
	records := func(status, msg string) []store.WriteOutcome {
		out := make([]store.WriteOutcome, len(ids))
		for i, id := range ids {
			out[i] = store.WriteOutcome{InviteeID: id, Status: status, Error: msg}
		}
		return out
	}
	switch {
	case d.Limit == cvent.PerSecond:
		// Cvent did nothing: release the claim and let Temporal retry after the delay.
		if _, err := record(records(store.ParticipationPending, callErr.Error())); err != nil {
			return err
		}
		return cvent.TemporalError(fmt.Errorf("Cvent rate limit: %w", callErr), d)
	case d.Limit == cvent.Daily:
		until := w.p.now().Add(d.Delay)
		msg := fmt.Sprintf("Cvent daily API limit reached; parked until %s", until.UTC().Format(time.RFC3339))
		if _, err := record(records(store.ParticipationPending, msg)); err != nil {
			return err
		}
		w.p.logger().Warn(msg, "integrationId", w.integrationID)
		res.ParkedUntil = until
		return nil
	case d.Action == cvent.GiveUp:
		n, err := record(records(store.ParticipationFailed, callErr.Error()))
		res.Failed += n
		return err
	default:
		// Unknown outcome (no answer, a 5xx): Cvent may have acted. Keep the
		// claim; the call is over on our side, so the lease ends after the
		// margin, and the next attempt asks Cvent which of them it has then
		// and sends only the rest.
		if err := endLease(time.Now().Add(leaseMargin)); err != nil {
			return err
		}
		return fmt.Errorf("check-in call (outcome unknown; the retry asks Cvent before sending again): %w", callErr)
	}
}

// settleInFlight takes over event check-ins left in flight by other
// attempts, waits until their calls cannot act any more, and records what
// Cvent has; the others go back to pending and are sent again.
func (w *writeBack) settleInFlight(ctx context.Context, res *WriteBackResult) error {
	for range 1000 {
		taken, err := w.p.Store.TakeOverInFlight(ctx, w.integrationID, w.owner, MaxCheckInsPerCall)
		if err != nil || len(taken) == 0 {
			return err
		}
		ids := make([]string, len(taken))
		var lease time.Time
		for i, f := range taken {
			ids[i] = f.InviteeID
			if f.LeaseUntil.Valid && f.LeaseUntil.Time.After(lease) {
				lease = f.LeaseUntil.Time
			}
		}
		if err := w.waitForLease(ctx, lease, len(ids), "event check-ins"); err != nil {
			return err
		}
		done, err := waitingCall(ctx, w.timeout, "which attendees are checked in", func(cctx context.Context) (map[string]bool, error) {
			return w.api.CheckedIn(cctx, w.eventID, ids)
		})
		if err != nil {
			return w.settleFailed(ctx, err, "ask Cvent about in-flight check-ins")
		}
		records := settledRecords(ids, done)
		n, err := w.p.Store.RecordWriteOutcomes(ctx, w.integrationID, w.owner, records)
		if err != nil {
			return err
		}
		w.fencedOut(len(records)-n, "event check-in")
		for _, r := range records {
			if r.Status == store.ParticipationWritten {
				res.Recovered++
				res.Written++
			}
		}
	}
	return nil
}

// waitForLease waits until a taken-over claim's call can no longer act.
func (w *writeBack) waitForLease(ctx context.Context, lease time.Time, n int, what string) error {
	if d := time.Until(lease); d > 0 {
		w.p.logger().Info("waiting for a replaced attempt's Cvent call to end before settling its check-ins",
			"integrationId", w.integrationID, "kind", what, "attendees", n, "wait", d.Round(time.Millisecond))
	}
	return waitUntil(ctx, lease, "waiting for the lease of "+what+" in flight")
}

// settleFailed turns a failed "what does Cvent have" question into the
// activity's error; the claims stay for the next attempt.
func (w *writeBack) settleFailed(ctx context.Context, err error, what string) error {
	if d := w.p.decide(err, attemptOf(ctx)); d.Action == cvent.RetryLater {
		// Asked again within the hour at the latest, even when the daily quota is spent.
		d.Delay = min(d.Delay, time.Hour)
		return cvent.TemporalError(fmt.Errorf("Cvent rate limit: %s: %w", what, err), d)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// settledRecords: what Cvent has is written; the rest goes back to pending.
func settledRecords(ids []string, done map[string]bool) []store.WriteOutcome {
	records := make([]store.WriteOutcome, len(ids))
	for i, id := range ids {
		if done[strings.ToLower(id)] {
			records[i] = store.WriteOutcome{InviteeID: id, Status: store.ParticipationWritten}
		} else {
			records[i] = store.WriteOutcome{InviteeID: id, Status: store.ParticipationPending}
		}
	}
	return records
}

// settleSessions is settleInFlight for session check-ins, a session at a time.
func (w *writeBack) settleSessions(ctx context.Context, res *WriteBackResult) error {
	for range 1000 {
		taken, err := w.p.Store.TakeOverSessionsInFlight(ctx, w.integrationID, w.owner, MaxCheckInsPerCall)
		if err != nil || len(taken) == 0 {
			return err
		}
		session := taken[0].SessionID
		ids := make([]string, len(taken))
		var lease time.Time
		for i, f := range taken {
			ids[i] = f.InviteeID
			if f.LeaseUntil.Valid && f.LeaseUntil.Time.After(lease) {
				lease = f.LeaseUntil.Time
			}
		}
		if err := w.waitForLease(ctx, lease, len(ids), "session check-ins"); err != nil {
			return err
		}
		done, err := waitingCall(ctx, w.timeout, "session attendance", func(cctx context.Context) (map[string]bool, error) {
			return w.api.SessionCheckedIn(cctx, session, ids)
		})
		if err != nil {
			return w.settleFailed(ctx, err, "ask Cvent about in-flight session check-ins")
		}
		records := settledRecords(ids, done)
		n, err := w.p.Store.RecordSessionOutcomes(ctx, w.integrationID, session, w.owner, records)
		if err != nil {
			return err
		}
		w.fencedOut(len(records)-n, "session check-in")
		for _, r := range records {
			if r.Status == store.ParticipationWritten {
				res.Recovered++
				res.SessionWritten++
			}
		}
	}
	return nil
}

// writeSessions checks attendees in to the sessions they watched long
// enough, a session at a time, 100 attendees per call, claimed and settled
// like event check-ins.
func (w *writeBack) writeSessions(ctx context.Context, res *WriteBackResult) error {
	for range 20 {
		claimed, err := w.p.Store.ClaimDueSessions(ctx, w.integrationID, w.owner, w.p.now(), w.leaseUntil(), MaxCheckInsPerCall)
		if err != nil || len(claimed) == 0 {
			return err
		}
		session := claimed[0].SessionID
		items := make([]CheckIn, len(claimed))
		ids := make([]string, len(claimed))
		for j, c := range claimed {
			items[j] = CheckIn{AttendeeID: c.InviteeID, At: c.DueAt.Time, Device: w.device}
			ids[j] = c.InviteeID
		}
		res.Calls++
		outcomes, err := waitingCall(ctx, w.timeout, "session check-in", func(cctx context.Context) ([]CheckInOutcome, error) {
			return w.api.SessionCheckIn(cctx, session, items)
		})
		if err != nil {
			err = w.callFailed(ctx, ids, err, res, func(records []store.WriteOutcome) (int, error) {
				return w.p.Store.RecordSessionOutcomes(context.WithoutCancel(ctx), w.integrationID, session, w.owner, records)
			}, func(at time.Time) error {
				return w.p.Store.EndSessionLease(context.WithoutCancel(ctx), w.integrationID, session, w.owner, ids, at)
			})
			if err != nil || !res.ParkedUntil.IsZero() {
				return err
			}
			continue
		}
		records, written, _ := outcomeRecords(ids, outcomes)
		n, err := w.p.Store.RecordSessionOutcomes(context.WithoutCancel(ctx), w.integrationID, session, w.owner, records)
		if err != nil {
			return err
		}
		w.fencedOut(len(records)-n, "session check-in")
		res.SessionWritten += written
		heartbeat(ctx, res.Calls)
	}
	return nil
}

// decide classifies a failed Cvent call with the injected classifier, or
// cvent.Decide.
func (p *Participation) decide(err error, attempt int) cvent.Decision {
	if p.Classify != nil {
		return p.Classify(err, attempt)
	}
	return cvent.Decide(err, attempt, time.Now())
}

func attemptOf(ctx context.Context) int {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return int(activity.GetInfo(ctx).Attempt)
}

func (p *Participation) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Participation) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
