// Package temporalconn builds Temporal client options from configuration:
// address, namespace, logger, TLS (server verification and mTLS client
// certificates) and Temporal Cloud API keys. Gateways and workers use it to
// reach the local dev server, a production cluster or Temporal Cloud alike.
package temporalconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/payloadcodec"
)

// Settings is what a Temporal connection is built from. The zero value
// connects in plaintext to client.DefaultHostPort, as the dev server expects.
// Error messages name the environment variable behind each field.
type Settings struct {
	Address   string // TEMPORAL_ADDRESS, host:port; empty means client.DefaultHostPort
	Namespace string // TEMPORAL_NAMESPACE; empty leaves the SDK default

	TLS        bool   // TEMPORAL_TLS: TLS with the system roots even without any file below
	CertFile   string // TEMPORAL_TLS_CERT: PEM client certificate
	KeyFile    string // TEMPORAL_TLS_KEY: PEM private key of the client certificate
	CertPEM    string // TEMPORAL_TLS_CERT_DATA: the client certificate itself, instead of CertFile
	KeyPEM     string // TEMPORAL_TLS_KEY_DATA: the private key itself, instead of KeyFile
	CAFile     string // TEMPORAL_TLS_CA: PEM CA certificates that verify the server instead of the system roots
	ServerName string // TEMPORAL_TLS_SERVER_NAME: name the server certificate must carry

	APIKey string // TEMPORAL_API_KEY: Temporal Cloud API key, sent as "Authorization: Bearer"; implies TLS

	PayloadKeys string // CVENTSYNC_PAYLOAD_KEYS: "id:hex,…" AES-256 keys; set, payloads and failure messages are encrypted
}

// FromConfig picks the Temporal settings out of the process configuration.
func FromConfig(c *config.Config) Settings {
	return Settings{
		Address:    c.TemporalAddress,
		Namespace:  c.TemporalNamespace,
		TLS:        c.TemporalTLS,
		CertFile:   c.TemporalTLSCert,
		KeyFile:    c.TemporalTLSKey,
		CertPEM:    c.TemporalTLSCertData,
		KeyPEM:     c.TemporalTLSKeyData,
		CAFile:     c.TemporalTLSCA,
		ServerName: c.TemporalTLSServerName,
		APIKey:     c.TemporalAPIKey,

		PayloadKeys: c.PayloadKeys,
	}
}

// TLSEnabled reports whether the connection uses TLS: asked for explicitly,
// or implied by any TLS setting or an API key (Temporal Cloud requires TLS,
// and a key must not travel in plaintext).
func (s Settings) TLSEnabled() bool {
	return s.TLS || s.CertFile != "" || s.KeyFile != "" || s.CertPEM != "" || s.KeyPEM != "" ||
		s.CAFile != "" || s.ServerName != "" || strings.TrimSpace(s.APIKey) != ""
}

// Security describes the connection's protection for logs, without secrets:
// "plaintext", "tls", "mtls", "tls+api-key" or "mtls+api-key".
func (s Settings) Security() string {
	if !s.TLSEnabled() {
		return "plaintext"
	}
	mode := "tls"
	if s.CertFile != "" || s.CertPEM != "" {
		mode = "mtls"
	}
	if strings.TrimSpace(s.APIKey) != "" {
		mode += "+api-key"
	}
	return mode
}

// Options builds the client options for s. log, if not nil, receives the
// SDK's own logging. Files are read here, so a missing or malformed
// certificate fails at start-up, not at the first connection.
func Options(s Settings, log *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  s.Address,
		Namespace: s.Namespace,
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if log != nil {
		opts.Logger = tlog.NewStructuredLogger(log.With("component", "temporal-sdk"))
	}
	if s.TLSEnabled() {
		tc, err := s.tlsConfig()
		if err != nil {
			return client.Options{}, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if key := strings.TrimSpace(s.APIKey); key != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(key)
	}
	// Workers and gateways share these options, so both encrypt and decrypt alike.
	conv, ok, err := payloadcodec.FromConfig(s.PayloadKeys)
	if err != nil {
		return client.Options{}, err
	}
	if ok {
		opts.DataConverter, opts.FailureConverter = conv.Data, conv.Failure
	}
	return opts, nil
}

func (s Settings) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
	cert, err := s.clientCertificate()
	if err != nil {
		return nil, err
	}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: no PEM certificate in %s", s.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// clientCertificate loads the mTLS client certificate; nil when none is set.
func (s Settings) clientCertificate() (*tls.Certificate, error) {
	certVar, certPEM, err := pemSetting("TEMPORAL_TLS_CERT", s.CertFile, s.CertPEM)
	if err != nil {
		return nil, err
	}
	keyVar, keyPEM, err := pemSetting("TEMPORAL_TLS_KEY", s.KeyFile, s.KeyPEM)
	if err != nil {
		return nil, err
	}
	switch {
	case certPEM == nil && keyPEM == nil:
		return nil, nil
	case keyPEM == nil:
		return nil, fmt.Errorf("%s is set but TEMPORAL_TLS_KEY is not: a client certificate needs its private key", certVar)
	case certPEM == nil:
		return nil, fmt.Errorf("%s is set but TEMPORAL_TLS_CERT is not: a private key needs its client certificate", keyVar)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certVar, keyVar, err)
	}
	return &cert, nil
}

// pemSetting returns the PEM bytes of a setting given either as a file path
// (variable name) or as the content itself (name_DATA), and the variable it
// came from; nil bytes when neither is set.
func pemSetting(name, file, data string) (string, []byte, error) {
	dataName := name + "_DATA"
	switch {
	case file != "" && data != "":
		return "", nil, fmt.Errorf("%s and %s are both set: use one", name, dataName)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return name, nil, fmt.Errorf("%s: %w", name, err)
		}
		return name, b, nil
	case data != "":
		if !strings.Contains(data, "-----BEGIN ") {
			return dataName, nil, fmt.Errorf("%s: not PEM (no -----BEGIN line)", dataName)
		}
		return dataName, []byte(data), nil
	}
	return "", nil, nil
}
