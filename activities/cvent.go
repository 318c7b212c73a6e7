package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/schedules"
	"github.com/cventsync/cventsync/internal/store"
)

// RESTAccounts gives the REST client of an integration's Cvent account.
type RESTAccounts interface {
	For(in *store.Integration) (*cvent.Client, error)
}

// Cvent pulls attendees from Cvent's REST API into the directory.
type Cvent struct {
	Store    *store.Store
	Accounts RESTAccounts
	Logger   *slog.Logger
}

// PollInput names the integration to poll.
type PollInput = schedules.PollInput

// PollResult says what a poll read and wrote.
type PollResult struct {
	Fetched   int
	Written   int
	Stale     int
	Watermark time.Time
}

// pollOverlap re-reads a little before the watermark: clocks differ, and
// applying a record twice changes nothing.
const pollOverlap = time.Minute

// PollAttendees reads every attendee Cvent changed since the last poll
// (lastModified after the watermark) and applies them with the webhook rules:
// new registrants appear, changes land, cancellations lose access — also
// those whose webhook was lost.
func (c *Cvent) PollAttendees(ctx context.Context, in *PollInput) (*PollResult, error) {
	integ, client, cfg, err := c.withMapping(ctx, in.IntegrationID)
	if err != nil {
		return nil, err
	}
	watermark, err := c.Store.Watermark(ctx, integ.ID)
	if err != nil {
		return nil, err
	}
	pager := client.Attendees(PollOptions(integ.CventEventID, watermark))
	fetched := 0
	res, err := pollPages(ctx, watermark, pager.Next, func(ctx context.Context, page []cvent.Attendee) (*ingest.Result, error) {
		applied, err := c.applyPage(ctx, integ.ID, cfg, page)
		if err == nil {
			fetched += len(page)
			activity.RecordHeartbeat(ctx, fetched)
		}
		return applied, err
	})
	if err != nil {
		_ = c.Store.RecordPoll(context.WithoutCancel(ctx), integ.ID, res.Watermark, res.Fetched, err.Error())
		var pullErr *pullError
		if errors.As(err, &pullErr) {
			return nil, cvent.ToTemporal(pullErr.err, int(activity.GetInfo(ctx).Attempt))
		}
		return nil, err
	}
	if err := c.Store.RecordPoll(ctx, integ.ID, res.Watermark, res.Fetched, ""); err != nil {
		return nil, err
	}
	return res, nil
}

// PollOptions is the incremental pull of a poll: the event's attendees
// changed since a little before the watermark (all of them the first time),
// with their registration question answers, mapped as for a webhook.
func PollOptions(eventID string, watermark time.Time) cvent.ListOptions {
	opts := cvent.ListOptions{Filter: cvent.EventFilter(eventID), Limit: 200, Expand: expandAnswers}
	if !watermark.IsZero() {
		opts.After = watermark.Add(-pollOverlap)
	}
	return opts
}

// ResyncOptions is a full re-sync's pull, resumed from a page token, with
// the registration question answers.
func ResyncOptions(eventID, token string) cvent.ListOptions {
	return cvent.ListOptions{Filter: cvent.EventFilter(eventID), Limit: 200, Token: token, Expand: expandAnswers}
}

// expandAnswers is Cvent's expansion that adds an attendee's registration
// question answers (answers[].question, answers[].value).
const expandAnswers = "answers.question"

// pullError marks a failed read from Cvent, as opposed to a failed apply.
type pullError struct{ err error }

func (e *pullError) Error() string { return e.err.Error() }
func (e *pullError) Unwrap() error { return e.err }

// pollPages reads pages with next and applies each with apply. The result's
// Watermark is where the poll leaves the integration's watermark: the newest
// lastModified (Cvent's clock) of the records applied once every page is
// applied, and the starting watermark when a pull or an apply fails. Cvent's
// pages are not ordered by lastModified, so a change on a page that was not
// read may be older than those applied; the retry re-reads the applied pages,
// which changes nothing.
func pollPages(ctx context.Context, watermark time.Time,
	next func(context.Context) ([]cvent.Attendee, bool, error),
	apply func(context.Context, []cvent.Attendee) (*ingest.Result, error)) (*PollResult, error) {
	res := &PollResult{Watermark: watermark}
	newest := watermark
	for {
		page, ok, err := next(ctx)
		if err != nil {
			res.Watermark = watermark
			return res, &pullError{err}
		}
		if !ok {
			res.Watermark = newest
			return res, nil
		}
		applied, err := apply(ctx, page)
		if err != nil {
			res.Watermark = watermark
			return res, err
		}
		res.Fetched += len(page)
		res.Written += applied.Written
		res.Stale += applied.Stale
		for _, a := range page {
			if a.LastModified.After(newest) {
				newest = a.LastModified
			}
		}
	}
}

// applyPage applies one page of REST attendees in its own transaction.
func (c *Cvent) applyPage(ctx context.Context, integrationID string, cfg *mapping.Config, page []cvent.Attendee) (*ingest.Result, error) {
	fetchedAt := time.Now()
	var applied *ingest.Result
	err := c.Store.Apply(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		applied, err = ingest.ApplyREST(ctx, tx, integrationID, cfg, page, fetchedAt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("apply REST attendees: %w", err)
	}
	return applied, nil
}

// ResyncPageInput continues a full re-sync from a page token.
type ResyncPageInput struct {
	IntegrationID string
	ResyncID      int64
	Token         string // "" = first page
	Done, Written int    // totals so far
	MaxPages      int
}

// ResyncPageResult is where the re-sync stands after this run.
type ResyncPageResult struct {
	Token         string
	Done, Written int
	Total         int
	Finished      bool
}

// ResyncPages reads up to MaxPages pages of every attendee of the event,
// applies them, and records progress. The workflow carries the page token,
// so a re-sync resumes where it stopped after a crash.
func (c *Cvent) ResyncPages(ctx context.Context, in *ResyncPageInput) (*ResyncPageResult, error) {
	integ, client, cfg, err := c.withMapping(ctx, in.IntegrationID)
	if err != nil {
		return nil, err
	}
	out := &ResyncPageResult{Token: in.Token, Done: in.Done, Written: in.Written}
	// A retried attempt goes on from the last page the failed one applied
	// (its heartbeat), not from where this run began.
	resumed := 0
	if activity.HasHeartbeatDetails(ctx) {
		var last resyncHeartbeat
		if err := activity.GetHeartbeatDetails(ctx, &last); err == nil && last.Progress.Done >= in.Done && last.Token == in.Token {
			out, resumed = &last.Progress, last.Pages
		}
	}
	if out.Finished {
		return out, nil
	}
	pager := client.Attendees(ResyncOptions(integ.CventEventID, out.Token))
	maxPages := max(1, in.MaxPages)
	for i := resumed; i < maxPages; i++ {
		page, ok, err := pager.Next(ctx)
		if err != nil {
			return nil, cvent.ToTemporal(err, int(activity.GetInfo(ctx).Attempt))
		}
		out.Total = pager.TotalCount
		if !ok {
			out.Finished = true
			break
		}
		applied, err := c.applyPage(ctx, integ.ID, cfg, page)
		if err != nil {
			return nil, err
		}
		out.Done += len(page)
		out.Written += applied.Written
		out.Token = pager.Token
		if out.Token == "" {
			out.Finished = true
		}
		if err := c.Store.ResyncProgress(ctx, in.ResyncID, out.Total, out.Done, out.Written); err != nil {
			return nil, err
		}
		activity.RecordHeartbeat(ctx, resyncHeartbeat{Token: in.Token, Pages: i + 1, Progress: *out})
		if out.Finished {
			break
		}
	}
	return out, nil
}

// resyncHeartbeat is a re-sync run's progress: the run that began at Token
// has applied Pages pages and stands at Progress.
type resyncHeartbeat struct {
	Token    string
	Pages    int
	Progress ResyncPageResult
}

// FinishResyncInput ends a re-sync.
type FinishResyncInput struct {
	ResyncID int64
	Status   string
	Error    string
}

// FinishResync records the end of a re-sync.
func (c *Cvent) FinishResync(ctx context.Context, in *FinishResyncInput) error {
	return c.Store.FinishResync(ctx, in.ResyncID, in.Status, in.Error)
}

// withMapping is client plus the integration's mapping settings.
func (c *Cvent) withMapping(ctx context.Context, integrationID string) (*store.Integration, *cvent.Client, *mapping.Config, error) {
	integ, client, err := c.client(ctx, integrationID)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := ingest.MappingConfig(integ.Settings)
	if err != nil {
		return nil, nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadSettings", err)
	}
	return integ, client, cfg, nil
}

func (c *Cvent) client(ctx context.Context, integrationID string) (*store.Integration, *cvent.Client, error) {
	integ, err := c.Store.GetIntegration(ctx, integrationID)
	if err != nil {
		return nil, nil, fmt.Errorf("load integration: %w", err)
	}
	client, err := c.Accounts.For(integ)
	if err != nil {
		return nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotConfigured, err)
	}
	return integ, client, nil
}

// ImportSessionsResult says what a session import did.
type ImportSessionsResult struct {
	Sessions    int
	Enrollments int
	Written     int
}

// ImportSessions reads the event's sessions and session enrollments from
// the REST API and applies them: sessions newest-wins, enrollments as
// personal agendas.
func (c *Cvent) ImportSessions(ctx context.Context, in *PollInput) (*ImportSessionsResult, error) {
	integ, client, err := c.client(ctx, in.IntegrationID)
	if err != nil {
		return nil, err
	}
	attempt := int(activity.GetInfo(ctx).Attempt)
	var sessions []cvent.Session
	for s, err := range client.Sessions(integ.CventEventID).All(ctx) {
		if err != nil {
			return nil, cvent.ToTemporal(err, attempt)
		}
		sessions = append(sessions, s)
	}
	var enrollments []cvent.Enrollment
	for e, err := range client.SessionEnrollment(integ.CventEventID).All(ctx) {
		if err != nil {
			return nil, cvent.ToTemporal(err, attempt)
		}
		enrollments = append(enrollments, e)
	}
	var res *ingest.Result
	if err := c.Store.Apply(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err = ingest.ApplyRESTSessions(ctx, tx, integ.ID, sessions, enrollments, time.Now())
		return err
	}); err != nil {
		return nil, fmt.Errorf("apply REST sessions: %w", err)
	}
	return &ImportSessionsResult{Sessions: len(sessions), Enrollments: len(enrollments), Written: res.Written}, nil
}
