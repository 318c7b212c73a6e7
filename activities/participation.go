package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

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
}

// CventAccounts gives the Cvent API of an integration's account.
type CventAccounts interface {
	CheckIns(ctx context.Context, in *store.Integration) (api CheckInAPI, eventID string, err error)
}

// ErrorKind is how a Cvent error must be handled.
type ErrorKind int

// Error kinds.
const (
	ErrorPermanent   ErrorKind = iota // retrying cannot help
	ErrorTransient                    // retry with backoff; Cvent may or may not have acted
	ErrorRateLimited                  // per-second limit: nothing was done, retry after the delay
	ErrorDailyLimit                   // daily quota spent: nothing was done, wait for 00:00 UTC
)

// ErrorClassifier classifies a Cvent error and says how long to wait before
// retry attempt `attempt` (1-based; rate-limit backoff doubles with it).
type ErrorClassifier func(err error, attempt int) (ErrorKind, time.Duration)

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
// once each: attendees are claimed in PostgreSQL before the call, and a claim
// left by a crashed run is settled by asking Cvent before anything is re-sent.
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
	res := &WriteBackResult{}
	if err := p.settleInFlight(ctx, integ.ID, api, eventID, res); err != nil {
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
		batchID := fmt.Sprintf("%s/%d", activity.GetInfo(ctx).ActivityID, res.Calls)
		claimed, err := p.Store.ClaimDue(ctx, integ.ID, batchID, p.now(), MaxCheckInsPerCall)
		if err != nil {
			return res, err
		}
		if len(claimed) == 0 {
			break
		}
		if err := p.send(ctx, integ.ID, api, eventID, cfg.Device, claimed, res); err != nil {
			return res, err
		}
		activity.RecordHeartbeat(ctx, res.Calls)
	}
	if cfg.SessionMinutes > 0 {
		if err := p.writeSessions(ctx, integ.ID, api, cfg.Device, res); err != nil {
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

// writeSessions checks attendees in to the sessions they watched long
// enough, a session at a time, 100 attendees per call.
func (p *Participation) writeSessions(ctx context.Context, integrationID string, api CheckInAPI, device string, res *WriteBackResult) error {
	for i := 0; i < 20; i++ {
		batchID := fmt.Sprintf("%s/s%d", activity.GetInfo(ctx).ActivityID, i)
		claimed, err := p.Store.ClaimDueSessions(ctx, integrationID, batchID, p.now(), MaxCheckInsPerCall)
		if err != nil || len(claimed) == 0 {
			return err
		}
		items := make([]CheckIn, len(claimed))
		for j, c := range claimed {
			items[j] = CheckIn{AttendeeID: c.InviteeID, At: c.DueAt.Time, Device: device}
		}
		res.Calls++
		outcomes, err := api.SessionCheckIn(ctx, claimed[0].SessionID, items)
		if err != nil {
			kind, wait := p.Classify(err, int(activity.GetInfo(ctx).Attempt))
			if kind == ErrorRateLimited || kind == ErrorDailyLimit {
				return temporal.NewApplicationErrorWithOptions("Cvent rate limit: "+err.Error(), "CventTooManyRequests",
					temporal.ApplicationErrorOptions{NextRetryDelay: min(wait, time.Hour), Cause: err})
			}
			return fmt.Errorf("session check-in: %w", err)
		}
		ids := make([]string, len(claimed))
		for j, c := range claimed {
			ids[j] = c.InviteeID
		}
		records, written, _ := outcomeRecords(ids, outcomes)
		res.SessionWritten += written
		if err := p.Store.RecordSessionOutcomes(context.WithoutCancel(ctx), integrationID, claimed[0].SessionID, records); err != nil {
			return err
		}
	}
	return nil
}

func (p *Participation) send(ctx context.Context, integrationID string, api CheckInAPI, eventID, device string,
	claimed []store.Participation, res *WriteBackResult) error {
	items := make([]CheckIn, len(claimed))
	for i, c := range claimed {
		items[i] = CheckIn{AttendeeID: c.InviteeID, At: c.DueAt.Time, Device: device}
	}
	res.Calls++
	outcomes, err := api.CheckIn(ctx, eventID, items)
	if err != nil {
		return p.callFailed(ctx, integrationID, claimed, err, res)
	}
	ids := make([]string, len(claimed))
	for i, c := range claimed {
		ids[i] = c.InviteeID
	}
	records, written, failed := outcomeRecords(ids, outcomes)
	res.Written += written
	res.Failed += failed
	return p.Store.RecordWriteOutcomes(context.WithoutCancel(ctx), integrationID, records)
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

// callFailed decides what a failed call means for the attendees it carried.
func (p *Participation) callFailed(ctx context.Context, integrationID string, claimed []store.Participation, callErr error, res *WriteBackResult) error {
	kind, wait := p.Classify(callErr, int(activity.GetInfo(ctx).Attempt))
	records := func(status, msg string) []store.WriteOutcome {
		out := make([]store.WriteOutcome, len(claimed))
		for i, c := range claimed {
			out[i] = store.WriteOutcome{InviteeID: c.InviteeID, Status: status, Error: msg}
		}
		return out
	}
	switch kind {
	case ErrorRateLimited:
		// Cvent did nothing: release the claim and let Temporal retry after the delay.
		if err := p.Store.RecordWriteOutcomes(context.WithoutCancel(ctx), integrationID, records(store.ParticipationPending, callErr.Error())); err != nil {
			return err
		}
		return temporal.NewApplicationErrorWithOptions("Cvent rate limit: "+callErr.Error(), "CventTooManyRequests",
			temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: callErr})
	case ErrorDailyLimit:
		until := p.now().Add(wait)
		msg := fmt.Sprintf("Cvent daily API limit reached; parked until %s", until.UTC().Format(time.RFC3339))
		if err := p.Store.RecordWriteOutcomes(context.WithoutCancel(ctx), integrationID, records(store.ParticipationPending, msg)); err != nil {
			return err
		}
		p.logger().Warn(msg, "integrationId", integrationID)
		res.ParkedUntil = until
		return nil
	case ErrorPermanent:
		res.Failed += len(claimed)
		return p.Store.RecordWriteOutcomes(context.WithoutCancel(ctx), integrationID, records(store.ParticipationFailed, callErr.Error()))
	default:
		// Unknown outcome (timeout, 5xx): keep the claim; the retry asks Cvent
		// which of them it has before sending anything again.
		return fmt.Errorf("check-in call: %w", callErr)
	}
}

// settleInFlight resolves claims left by a run that died mid-call.
func (p *Participation) settleInFlight(ctx context.Context, integrationID string, api CheckInAPI, eventID string, res *WriteBackResult) error {
	for {
		inflight, err := p.Store.InFlight(ctx, integrationID, MaxCheckInsPerCall)
		if err != nil || len(inflight) == 0 {
			return err
		}
		ids := make([]string, len(inflight))
		for i, f := range inflight {
			ids[i] = f.InviteeID
		}
		done, err := api.CheckedIn(ctx, eventID, ids)
		if err != nil {
			kind, wait := p.Classify(err, int(activity.GetInfo(ctx).Attempt))
			if kind == ErrorRateLimited {
				return temporal.NewApplicationErrorWithOptions("Cvent rate limit: "+err.Error(), "CventTooManyRequests",
					temporal.ApplicationErrorOptions{NextRetryDelay: wait, Cause: err})
			}
			return fmt.Errorf("ask Cvent about in-flight check-ins: %w", err)
		}
		records := make([]store.WriteOutcome, len(inflight))
		for i, f := range inflight {
			if done[f.InviteeID] {
				records[i] = store.WriteOutcome{InviteeID: f.InviteeID, Status: store.ParticipationWritten}
				res.Recovered++
				res.Written++
			} else {
				records[i] = store.WriteOutcome{InviteeID: f.InviteeID, Status: store.ParticipationPending}
			}
		}
		if err := p.Store.RecordWriteOutcomes(ctx, integrationID, records); err != nil {
			return err
		}
	}
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
