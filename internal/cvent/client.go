// Package cvent is a client for Cvent's REST API: OAuth2 client credentials,
// paging, Cvent's error body and rate limits, and the typed calls cventsync
// needs. See shared/cvent/FACTS.md.
//
// New(Config) makes a Client for one account; its token is cached, renewed a
// minute before expiry, refreshed by one caller at a time, and a 401 renews
// it once and retries once. Every request waits on Config.Limiter: take it
// from a process-wide Limiters registry (one limiter per client id, sized by
// Apply from GetUsageTier) so all callers of an account share the pace.
//
// Lists return a *Pager (Next page by page, or All as an iter.Seq2;
// TotalCount, and Token to resume): Attendees (ListOptions: filter, after,
// expand, limit; long filters go to POST /attendees/filter),
// RegistrationTypes, ContactCustomFields, EventQuestions, Sessions,
// SessionEnrollment. Single calls: GetEvent, GetAttendee, GetContact,
// PatchContact, CheckInAttendees (≤100, per-item ItemResult from the 207),
// DeleteCheckIn, SessionCheckIn, GetUsageTier.
//
// Failures are *Error; Classify says Permanent, Transient, TooManyRequests
// (with Cvent's backoff) or LimitExceeded (until 00:00 UTC, Error.ResetAt),
// and ToTemporal turns that into Temporal's retry decision.
package cvent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Hosts of Cvent's REST API.
const (
	BaseNA      = "https://api-platform.cvent.com/ea"
	BaseEU      = "https://api-platform-eur.cvent.com/ea"
	BaseSandbox = "https://api-platform-sandbox.cvent.com/ea"
)

// Regions and environments for Config.
const (
	RegionNA              = "na"
	RegionEU              = "eu"
	EnvironmentSandbox    = "sandbox"
	EnvironmentProduction = "production"
)

// BaseURLFor picks the host for a region (RegionNA or RegionEU) and
// environment (EnvironmentSandbox or EnvironmentProduction). Cvent's sandbox
// has one host for every region.
func BaseURLFor(region, environment string) string {
	switch {
	case strings.EqualFold(environment, EnvironmentSandbox):
		return BaseSandbox
	case strings.EqualFold(region, RegionEU):
		return BaseEU
	default:
		return BaseNA
	}
}

// Config configures a Client.
type Config struct {
	ClientID     string
	ClientSecret string
	Scope        string // optional, space separated
	Region       string // RegionNA (default) or RegionEU
	Environment  string // EnvironmentProduction (default) or EnvironmentSandbox
	// BaseURL overrides Region and Environment, e.g. a simulator's ".../ea".
	BaseURL    string
	HTTPClient *http.Client
	// Limiter paces every call; share one per Cvent account (see Limiters).
	Limiter *rate.Limiter
	// Calls, when set, counts every request the client sends (see CallCounter).
	Calls  CallCounter
	Logger *slog.Logger
	// RefreshMargin renews the token this long before it expires.
	RefreshMargin time.Duration
}

// CallCounter counts the requests a client sends to Cvent, by account
// (client id): every one, the token request, retries and those answered
// 429 or not at all included, since Cvent does not say which of them its
// daily quota counts (internal/cventusage keeps the count).
type CallCounter interface {
	CountCall(clientID string)
}

// Client calls Cvent's REST API for one account. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	http *http.Client
	log  *slog.Logger

	mu      sync.Mutex // guards token and expires, and serialises refreshes
	token   string
	expires time.Time
}

// New makes a client.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("cvent: client id and secret are required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = BaseURLFor(cfg.Region, cfg.Environment)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient(60 * time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RefreshMargin == 0 {
		cfg.RefreshMargin = time.Minute
	}
	return &Client{cfg: cfg, base: strings.TrimRight(base, "/"), http: cfg.HTTPClient, log: cfg.Logger}, nil
}

// Timeout is the longest one call may take (the HTTP client's timeout; 0
// means none). A write whose answer did not come within it has an unknown
// outcome: callers that settle such writes by asking Cvent wait at least
// this long after the call began, so the call cannot act after they asked.
func (c *Client) Timeout() time.Duration { return c.http.Timeout }

// ClientID is the account's client id (the rate-limit key).
func (c *Client) ClientID() string { return c.cfg.ClientID }

// accessToken returns a valid token, fetching one when there is none or it
// is about to expire. The mutex makes concurrent callers share one refresh.
func (c *Client) accessToken(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != stale && time.Now().Add(c.cfg.RefreshMargin).Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.cfg.ClientID}}
	if c.cfg.Scope != "" {
		form.Set("scope", c.cfg.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cfg.ClientID+":"+c.cfg.ClientSecret)))
	if err := c.wait(ctx); err != nil {
		return "", err
	}
	c.count()
	resp, err := c.http.Do(req)
	if err != nil {
		observe(http.MethodPost, "/oauth2/token", 0, nil)
		return "", &Error{Message: "token request: " + err.Error(), network: true}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := decodeError(resp)
		observe(http.MethodPost, "/oauth2/token", resp.StatusCode, err)
		return "", err
	}
	observe(http.MethodPost, "/oauth2/token", resp.StatusCode, nil)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("cvent: token answer unreadable: %v", err)
	}
	c.token = tok.AccessToken
	c.expires = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	c.log.Debug("cvent token refreshed", "expiresIn", tok.ExpiresIn)
	return c.token, nil
}

func (c *Client) wait(ctx context.Context) error {
	if c.cfg.Limiter == nil {
		return nil
	}
	return c.cfg.Limiter.Wait(ctx)
}

// count counts one request about to be sent.
func (c *Client) count() {
	if c.cfg.Calls != nil {
		c.cfg.Calls.CountCall(c.cfg.ClientID)
	}
}

// do sends one API call and decodes a 2xx answer into out. A 401 refreshes
// the token once and retries once.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("cvent: encode request: %w", err)
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		token, err := c.accessToken(ctx, stale)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if err := c.wait(ctx); err != nil {
			return 0, err
		}
		c.count()
		resp, err := c.http.Do(req)
		if err != nil {
			observe(method, path, 0, nil)
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, &Error{Message: method + " " + path + ": " + err.Error(), network: true}
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			if resp.StatusCode != http.StatusTooManyRequests {
				observe(method, path, resp.StatusCode, nil)
			}
		} else {
			observe(method, path, resp.StatusCode, nil)
		}
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			drain(resp.Body)
			stale = token // the token died early: get a new one, once
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			err := decodeError(resp)
			if resp.StatusCode == http.StatusTooManyRequests {
				observe(method, path, resp.StatusCode, err) // the body tells the two 429s apart
			}
			return resp.StatusCode, err
		}
		if out != nil && resp.StatusCode != http.StatusNoContent {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
				return resp.StatusCode, fmt.Errorf("cvent: %s %s: decode answer: %w", method, path, err)
			}
		}
		return resp.StatusCode, nil
	}
}

func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	r.Close()
}

func itoa(n int) string { return strconv.Itoa(n) }
