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
	HTTP     *http.Client
	Logger   *slog.Logger

	mu    sync.Mutex
	cache map[string]cachedClient
}

type cachedClient struct {
	key    string // changes when the integration's connection settings change
	client *cvent.Client
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
		Environment: in.Environment, BaseURL: s.BaseURL, HTTPClient: c.HTTP, Limiter: c.Limiters.For(s.ClientID), Logger: c.Logger})
	if err != nil {
		return nil, err
	}
	if c.cache == nil {
		c.cache = map[string]cachedClient{}
	}
	c.cache[in.ID] = cachedClient{key: key, client: client}
	return client, nil
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

// Classify implements activities.ErrorClassifier with Cvent's rules.
func Classify(err error, attempt int) (activities.ErrorKind, time.Duration) {
	kind, wait := cvent.ClassifyAt(err, attempt, time.Now())
	switch kind {
	case cvent.Permanent:
		return activities.ErrorPermanent, wait
	case cvent.TooManyRequests:
		return activities.ErrorRateLimited, wait
	case cvent.LimitExceeded:
		return activities.ErrorDailyLimit, wait
	default:
		return activities.ErrorTransient, wait
	}
}

type checkInAPI struct{ c *cvent.Client }

func (a checkInAPI) CheckIn(ctx context.Context, eventID string, items []activities.CheckIn) ([]activities.CheckInOutcome, error) {
	body := make([]cvent.CheckIn, len(items))
	for i, it := range items {
		body[i] = cvent.CheckIn{ID: it.AttendeeID, CheckIn: it.At.UTC().Truncate(time.Second), Device: it.Device}
	}
	res, err := a.c.CheckInAttendees(ctx, eventID, body)
	if err != nil {
		return nil, err
	}
	out := make([]activities.CheckInOutcome, 0, len(res))
	for i, r := range res {
		id := r.ID()
		if id == "" && i < len(items) {
			id = items[i].AttendeeID // results come in request order
		}
		out = append(out, activities.CheckInOutcome{AttendeeID: id, OK: r.OK(), Error: r.ErrorMessage()})
	}
	return out, nil
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

type contactAPI struct{ c *cvent.Client }

func (a contactAPI) PatchContact(ctx context.Context, contactID string, fields map[string]string) error {
	body := make(map[string]any, len(fields))
	for k, v := range fields {
		body[k] = v
	}
	return a.c.PatchContact(ctx, contactID, body)
}
