// Package connection owns how an integration reaches its Cvent account: the
// "cvent" settings section (sync mode, REST credentials, polling interval)
// and building API clients from it. Client secrets are stored sealed.
package connection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/internal/schedules"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/internal/store"
)

// SettingsSection is the name of the section in integration settings.
const SettingsSection = "cvent"

// Sync modes.
const (
	ModeWebhook = "webhook" // Cvent pushes; REST only for write-back and look-ups
	ModeREST    = "rest"    // no webhooks: poll the REST API
	ModeBoth    = "both"    // webhooks for speed, polling to reconcile what was lost
)

// DefaultPollInterval is how often REST polling runs when not configured.
const DefaultPollInterval = 5 * time.Minute

// Settings is the "cvent" section.
type Settings struct {
	Mode     string `json:"mode,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	// ClientSecret is accepted on input only; it is stored as ClientSecretSealed.
	ClientSecret       string `json:"clientSecret,omitempty"`
	ClientSecretSealed string `json:"clientSecretSealed,omitempty"`
	// BaseURL replaces the regional host, e.g. a Cvent simulator's ".../ea".
	BaseURL             string `json:"baseUrl,omitempty"`
	PollIntervalMinutes int    `json:"pollIntervalMinutes,omitempty"`
	// PollIntervalSeconds overrides PollIntervalMinutes for short intervals (at least 5).
	PollIntervalSeconds int `json:"pollIntervalSeconds,omitempty"`
	// Scope is sent with the token request when set (space separated).
	Scope string `json:"scope,omitempty"`
}

// EffectiveMode is the mode with its default.
func (s *Settings) EffectiveMode() string {
	if s.Mode == "" {
		return ModeWebhook
	}
	return s.Mode
}

// Polls reports whether the integration is polled over REST.
func (s *Settings) Polls() bool { m := s.EffectiveMode(); return m == ModeREST || m == ModeBoth }

// PollInterval is the polling interval with its default.
func (s *Settings) PollInterval() time.Duration {
	if s.PollIntervalSeconds > 0 {
		return time.Duration(s.PollIntervalSeconds) * time.Second
	}
	if s.PollIntervalMinutes <= 0 {
		return DefaultPollInterval
	}
	return time.Duration(s.PollIntervalMinutes) * time.Minute
}

// HasCredentials reports whether REST calls can be made.
func (s *Settings) HasCredentials() bool { return s.ClientID != "" && s.ClientSecretSealed != "" }

func (s *Settings) validate() error {
	var problems []string
	switch s.EffectiveMode() {
	case ModeWebhook, ModeREST, ModeBoth:
	default:
		problems = append(problems, fmt.Sprintf(`mode must be "webhook", "rest" or "both", not %q`, s.Mode))
	}
	if s.ClientSecret != "" {
		problems = append(problems, "clientSecret must be sealed before it is stored")
	}
	if s.Polls() && !s.HasCredentials() {
		problems = append(problems, fmt.Sprintf("mode %q needs clientId and clientSecret", s.EffectiveMode()))
	}
	if (s.ClientID == "") != (s.ClientSecretSealed == "") {
		problems = append(problems, "clientId and clientSecret go together")
	}
	if s.PollIntervalMinutes < 0 || s.PollIntervalMinutes > 24*60 {
		problems = append(problems, "pollIntervalMinutes must be from 1 to 1440")
	}
	if s.PollIntervalSeconds != 0 && (s.PollIntervalSeconds < 5 || s.PollIntervalSeconds > 24*3600) {
		problems = append(problems, "pollIntervalSeconds must be from 5 to 86400")
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, "baseUrl must be an http(s) URL")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func init() {
	settings.Register(SettingsSection, func(raw json.RawMessage) (json.RawMessage, error) {
		var s Settings
		if err := settings.Strict(raw, &s); err != nil {
			return nil, err
		}
		if err := s.validate(); err != nil {
			return nil, err
		}
		return json.Marshal(s)
	})
}

// SealSecret replaces a plaintext clientSecret in a "cvent" section update
// with its sealed form, so the plaintext never reaches the database. An
// update without clientSecret but with the same clientId keeps the stored one.
func SealSecret(update, current json.RawMessage, box *secret.Box) (json.RawMessage, error) {
	var s Settings
	if err := json.Unmarshal(update, &s); err != nil {
		return update, nil // the validator reports it with the field names
	}
	if strings.HasPrefix(s.ClientSecret, "…") {
		s.ClientSecret = "" // the masked value an answer showed: keep the stored secret
	}
	if s.ClientSecret != "" {
		if box == nil {
			return nil, errors.New("cannot store clientSecret: the server has no CVENTSYNC_SECRET_KEY")
		}
		s.ClientSecretSealed, s.ClientSecret = box.Seal(s.ClientSecret), ""
	} else if s.ClientSecretSealed == "" && s.ClientID != "" {
		var old Settings
		_ = json.Unmarshal(current, &old)
		if old.ClientID == s.ClientID {
			s.ClientSecretSealed = old.ClientSecretSealed
		}
	}
	return json.Marshal(s)
}

// Decode reads the section from an integration's settings document.
func Decode(doc json.RawMessage) (*Settings, error) {
	var s Settings
	if err := settings.Decode(doc, SettingsSection, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// EnsurePollSchedule makes an integration's polling schedule match its
// settings (see schedules.EnsurePoll).
func EnsurePollSchedule(ctx context.Context, sc client.ScheduleClient, taskQueue string, in *store.Integration) error {
	conn, err := Decode(in.Settings)
	if err != nil {
		return err
	}
	return schedules.EnsurePoll(ctx, sc, taskQueue, in.ID, conn.Polls(), conn.PollInterval())
}
