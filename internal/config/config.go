// Package config reads cventsync's configuration from the environment. Every
// variable is listed in the README's configuration table.
package config

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/cventsync/cventsync/internal/reqid"
	"github.com/cventsync/cventsync/internal/safehttp"
	"github.com/cventsync/cventsync/internal/secret"
)

// Config is the whole runtime configuration.
type Config struct {
	DatabaseURL       string `env:"DATABASE_URL"`
	TemporalAddress   string `env:"TEMPORAL_ADDRESS"`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TaskQueue         string `env:"CVENTSYNC_TASK_QUEUE" envDefault:"cventsync"`
	HTTPAddr          string `env:"CVENTSYNC_HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// PublicURL is how Cvent reaches the gateway; webhook URLs are built on it.
	PublicURL    string `env:"CVENTSYNC_PUBLIC_URL"`
	AdminToken   string `env:"CVENTSYNC_ADMIN_TOKEN"`
	SecretKey    string `env:"CVENTSYNC_SECRET_KEY"`
	MaxBodyBytes int64  `env:"CVENTSYNC_MAX_BODY_BYTES" envDefault:"536870912"`
	// BodyMemoryBytes bounds the memory that large webhook bodies received at
	// once may take; the gateway's GOMEMLIMIT defaults to this plus 64 MiB.
	BodyMemoryBytes int64  `env:"CVENTSYNC_BODY_MEMORY_BYTES" envDefault:"167772160"`
	LogLevel        string `env:"CVENTSYNC_LOG_LEVEL" envDefault:"info"`
	DataDir         string `env:"CVENTSYNC_DATA_DIR" envDefault:".data"`
	TemporalBin     string `env:"CVENTSYNC_TEMPORAL_BIN"`
	TemporalUI      string `env:"CVENTSYNC_TEMPORAL_UI_URL"`
	// OutboundPolicy loosens what platform destinations may be: a comma list
	// of http, loopback, private; empty means https to public addresses only.
	OutboundPolicy string `env:"CVENTSYNC_OUTBOUND_POLICY"`
	// AdminMaxBodyBytes caps an admin API request body (413 above).
	AdminMaxBodyBytes int64 `env:"CVENTSYNC_ADMIN_MAX_BODY_BYTES" envDefault:"1048576"`
	// TrustedProxies may set X-Forwarded-For for webhooks' source checks:
	// a comma list of CIDRs or addresses (see TrustedProxyPrefixes).
	TrustedProxies string `env:"CVENTSYNC_TRUSTED_PROXIES"`
	// ChangeRetention is how long change log entries are kept.
	ChangeRetention time.Duration `env:"CVENTSYNC_CHANGE_RETENTION" envDefault:"720h"`

	// LogFormat is text (key=value) or json (one object a line).
	LogFormat string `env:"CVENTSYNC_LOG_FORMAT" envDefault:"text"`
	// WorkerHTTPAddr is where the worker serves /metrics, /livez and /readyz.
	WorkerHTTPAddr string `env:"CVENTSYNC_WORKER_HTTP_ADDR" envDefault:"127.0.0.1:8081"`
	// MetricsToken, when set, is the bearer token gateway's and worker's
	// /metrics want (the gateway's address is public).
	MetricsToken string `env:"CVENTSYNC_METRICS_TOKEN"`
	// PprofAddr and WorkerPprofAddr, when set, serve Go's runtime profiles
	// (/debug/pprof/) on a listener of their own; keep them on loopback.
	PprofAddr       string `env:"CVENTSYNC_PPROF_ADDR"`
	WorkerPprofAddr string `env:"CVENTSYNC_WORKER_PPROF_ADDR"`

	// Connection security for a production Temporal cluster or Temporal
	// Cloud; all unset means plaintext, as the local dev server expects.
	// internal/temporalconn turns these into client options.
	TemporalTLS           bool   `env:"TEMPORAL_TLS"`             // TLS with the system roots, even without the settings below
	TemporalTLSCert       string `env:"TEMPORAL_TLS_CERT"`        // path to the PEM client certificate (mTLS)
	TemporalTLSKey        string `env:"TEMPORAL_TLS_KEY"`         // path to its PEM private key
	TemporalTLSCertData   string `env:"TEMPORAL_TLS_CERT_DATA"`   // the PEM client certificate itself, instead of a path
	TemporalTLSKeyData    string `env:"TEMPORAL_TLS_KEY_DATA"`    // the PEM private key itself, instead of a path
	TemporalTLSCA         string `env:"TEMPORAL_TLS_CA"`          // path to PEM CA certificates that verify the server
	TemporalTLSServerName string `env:"TEMPORAL_TLS_SERVER_NAME"` // name the server certificate must carry
	TemporalAPIKey        string `env:"TEMPORAL_API_KEY"`         // Temporal Cloud API key; implies TLS

	// Personal data (README "Security and privacy").
	// PayloadKeys switches Temporal payload encryption on: "id:hex,id:hex",
	// 32-byte AES keys; the first encrypts, all decrypt (internal/payloadcodec).
	PayloadKeys string `env:"CVENTSYNC_PAYLOAD_KEYS"`
	// CodecAddr, CodecOrigins and CodecToken configure `cventsync codec-server`;
	// an empty CodecToken means the admin token.
	CodecAddr    string `env:"CVENTSYNC_CODEC_ADDR" envDefault:"127.0.0.1:8089"`
	CodecOrigins string `env:"CVENTSYNC_CODEC_ORIGINS" envDefault:"http://127.0.0.1:8233,http://localhost:8233"`
	CodecToken   string `env:"CVENTSYNC_CODEC_TOKEN"`
	// BodyRetention is how long the stored bodies of applied deliveries are kept.
	BodyRetention time.Duration `env:"CVENTSYNC_BODY_RETENTION" envDefault:"720h"`
}

// Load reads the environment.
func Load() (*Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return &c, nil
}

// Outbound parses OutboundPolicy.
func (c *Config) Outbound() (safehttp.Policy, error) {
	return ParseOutboundPolicy(c.OutboundPolicy)
}

// ParseOutboundPolicy reads a comma list of http, loopback and private.
func ParseOutboundPolicy(s string) (safehttp.Policy, error) {
	var p safehttp.Policy
	for _, part := range strings.Split(s, ",") {
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "":
		case "http":
			p.AllowHTTP = true
		case "loopback":
			p.AllowLoopback = true
		case "private":
			p.AllowPrivate = true
		default:
			return p, fmt.Errorf("CVENTSYNC_OUTBOUND_POLICY: unknown %q (want a comma list of http, loopback, private)", part)
		}
	}
	return p, nil
}

// Public returns the base URL webhooks are addressed to.
func (c *Config) Public() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "http://" + c.HTTPAddr
}

// Logger builds the process logger: text or JSON (LogFormat), with the
// request id of the context in records logged with one (see internal/reqid).
func (c *Config) Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(reqid.Handler(LogHandler(logWriter, c.LogFormat, level)))
}

// LogHandler is the handler of LogFormat ("json", or text for anything else).
func LogHandler(w io.Writer, format string, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(strings.TrimSpace(format), "json") {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// SecretBox opens the key that seals stored Cvent credentials; nil when no
// key is configured (then credentials cannot be stored or used).
func (c *Config) SecretBox() (*secret.Box, error) {
	if c.SecretKey == "" {
		return nil, nil
	}
	box, err := secret.NewBox(c.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("CVENTSYNC_SECRET_KEY: %w", err)
	}
	return box, nil
}
