package connection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// Clients builds Cvent API clients for integrations and caches them, so a
// token is fetched once per account, not once per activity. Every client of
// one Cvent account shares that account's rate limiter.
type Clients struct {
	Box      *secret.Box
	Limiters *cvent.Limiters
	// Usage, when set, counts every call against the account's daily quota
	// and keeps the account's tier (*cventusage.Recorder).
	Usage  UsageRecorder
	HTTP   *http.Client
	Logger *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedClient
	sized map[string]bool // accounts whose tier was looked up
}

type cachedClient struct {
	key    string // changes when the integration's connection settings change
	client *cvent.Client
}

// UsageRecorder counts calls per account and keeps each account's usage
// tier, which the count is read against.
type UsageRecorder interface {
	cvent.CallCounter
	SaveTier(ctx context.Context, clientID string, t cvent.UsageTier) error
}

// ErrNoCredentials says an integration has no REST credentials.
var ErrNoCredentials = errors.New("the integration has no Cvent REST credentials: PATCH it with {\"cvent\":{\"clientId\":...,\"clientSecret\":...}}")

// For returns the client of an integration's Cvent account.
func (c *Clients) For(in *store.Integration) (*cvent.Client, error) {
	s, err := Decode(in.Settings)
	if err != nil {
		return nil, err
	}
	if !s.HasCredentials() {
		return nil, ErrNoCredentials
	}
	key := strings.Join([]string{s.ClientID, s.ClientSecretSealed, s.BaseURL, s.Scope, in.Region, in.Environment}, "|")
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.cache[in.ID]; ok && cc.key == key {
		return cc.client, nil
	}
	if c.Box == nil {
		return nil, errors.New("cannot open stored Cvent credentials: CVENTSYNC_SECRET_KEY is not set")
	}
	plain, err := c.Box.Open(s.ClientSecretSealed)
	if err != nil {
		return nil, fmt.Errorf("cvent credentials of integration %s: %w", in.ID, err)
	}
	if c.Limiters == nil {
		c.Limiters = &cvent.Limiters{}
	}
	client, err := cvent.New(cvent.Config{ClientID: s.ClientID, ClientSecret: plain, Scope: s.Scope, Region: in.Region,
		Environment: in.Environment, BaseURL: s.BaseURL, HTTPClient: c.HTTP, Limiter: c.Limiters.For(s.ClientID), Calls: c.Usage,
		Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	if c.cache == nil {
		c.cache = map[string]cachedClient{}
	}
	c.cache[in.ID] = cachedClient{key: key, client: client}
	c.sizeLimiter(client)
	return client, nil
}

// sizeLimiter sets the account's limiter to its real tier, once per
// account and process; until then the default (Standard) applies.
func (c *Clients) sizeLimiter(client *cvent.Client) {
	if c.sized == nil {
		c.sized = map[string]bool{}
	}
	if c.sized[client.ClientID()] {
		return
	}
	c.sized[client.ClientID()] = true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		tier, err := client.GetUsageTier(ctx)
		if err != nil {
			c.logger().Warn("could not read the Cvent usage tier; pacing at the default", "error", err)
			return
		}
		c.Limiters.Apply(client.ClientID(), *tier)
		if c.Usage != nil {
			if err := c.Usage.SaveTier(ctx, client.ClientID(), *tier); err != nil {
				c.logger().Warn("could not save the Cvent usage tier", "error", err)
			}
		}
		c.logger().Info("Cvent usage tier", "tier", tier.Name, "perSecond", tier.RateLimit, "burst", tier.BurstLimit, "perDay", tier.Quota)
	}()
}

func (c *Clients) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// CheckIns implements activities.CventAccounts.
func (c *Clients) CheckIns(_ context.Context, in *store.Integration) (activities.CheckInAPI, string, error) {
	client, err := c.For(in)
	if err != nil {
		return nil, "", err
	}
	return checkInAPI{client}, in.CventEventID, nil
}

// Contacts implements activities.ContactAccounts.
func (c *Clients) Contacts(_ context.Context, in *store.Integration) (activities.ContactAPI, error) {
	client, err := c.For(in)
	if err != nil {
		return nil, err
	}
	return contactAPI{client}, nil
}

// Classify implements activities.ErrorClassifier: cvent.Decide now.
func Classify(err error, attempt int) cvent.Decision {
	return cvent.Decide(err, attempt, time.Now())
}

type checkInAPI struct{ c *cvent.Client }

func (a checkInAPI) CheckIn(ctx context.Context, eventID string, items []activities.CheckIn) ([]activities.CheckInOutcome, error) {
	res, err := a.c.CheckInAttendees(ctx, eventID, toCheckIns(items))
	return toOutcomes(items, res), err
}

func (a checkInAPI) SessionCheckIn(ctx context.Context, sessionID string, items []activities.CheckIn) ([]activities.CheckInOutcome, error) {
	res, err := a.c.SessionCheckIn(ctx, sessionID, toCheckIns(items))
	return toOutcomes(items, res), err
}

func toCheckIns(items []activities.CheckIn) []cvent.CheckIn {
	body := make([]cvent.CheckIn, len(items))
	for i, it := range items {
		body[i] = cvent.CheckIn{ID: it.AttendeeID, CheckIn: it.At.UTC().Truncate(time.Second), Device: it.Device}
	}
	return body
}

// toOutcomes reads a 207 answer; results come in request order, so an item
// without an id is the request's item at that position.
func toOutcomes(items []activities.CheckIn, res []cvent.ItemResult) []activities.CheckInOutcome {
	out := make([]activities.CheckInOutcome, 0, len(res))
	for i, r := range res {
		id := r.ID()
		if id == "" && i < len(items) {
			id = items[i].AttendeeID
		}
		out = append(out, activities.CheckInOutcome{AttendeeID: id, OK: r.OK(), Error: r.ErrorMessage()})
	}
	return out
}

func (a checkInAPI) CheckedIn(ctx context.Context, _ string, attendeeIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for at, err := range a.c.Attendees(cvent.ListOptions{Filter: cvent.IDsFilter(attendeeIDs), Limit: 200}).All(ctx) {
		if err != nil {
			return nil, err
		}
		out[strings.ToLower(at.ID)] = at.CheckedIn
	}
	return out, nil
}

// SessionCheckedIn reads the session's attendance: which of the attendees
// Cvent has checked in to it.
func (a checkInAPI) SessionCheckedIn(ctx context.Context, sessionID string, attendeeIDs []string) (map[string]bool, error) {
	want := make(map[string]bool, len(attendeeIDs))
	for _, id := range attendeeIDs {
		want[strings.ToLower(id)] = true
	}
	out := map[string]bool{}
	for at, err := range a.c.SessionAttendance(sessionID).All(ctx) {
		if err != nil {
			return nil, err
		}
		if id := strings.ToLower(at.Attendee.ID); want[id] && !at.Deleted {
			out[id] = true
		}
	}
	return out, nil
}

// CallTimeout is the client's limit on one call.
func (a checkInAPI) CallTimeout() time.Duration { return a.c.Timeout() }

type contactAPI struct{ c *cvent.Client }

// GetContact reads a contact's fields.
func (a contactAPI) GetContact(ctx context.Context, contactID string) (map[string]any, error) {
	c, err := a.c.GetContact(ctx, contactID)
	return map[string]any(c), err
}

// CallTimeout is the client's limit on one call.
func (a contactAPI) CallTimeout() time.Duration { return a.c.Timeout() }

func (a contactAPI) PatchContact(ctx context.Context, contactID string, fields map[string]string) error {
	body := make(map[string]any, len(fields))
	for k, v := range fields {
		body[k] = v
	}
	return a.c.PatchContact(ctx, contactID, body)
}
