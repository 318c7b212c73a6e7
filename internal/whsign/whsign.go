// Package whsign signs the webhooks cventsync sends to the event platform,
// following the Standard Webhooks specification (standardwebhooks.com):
// symmetric HMAC-SHA256 signatures, "v1" version, whsec_ secrets.
//
// The signed content is "{msgID}.{unix seconds}.{body}"; the headers are
// webhook-id, webhook-timestamp and webhook-signature. The signature header
// holds one "v1,<base64>" entry per secret, space separated, so a secret can
// be rotated without downtime: during the overlap both the old and the new
// secret sign and the receiver accepts whichever it knows.
//
// The timestamp is that of the delivery attempt, not of the event: receivers
// reject messages older than a few minutes (the reference library: 5), so a
// redelivery must be signed afresh with its own attempt time. That is why
// Sign takes the time rather than reading the clock.
package whsign

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// Key sizes the specification allows for symmetric secrets: at least 24
// bytes (192 bits), at most 64 (512 bits).
const (
	MinKeyBytes = 24
	MaxKeyBytes = 64
)

// secretBytes is what NewSecret draws: 256 bits, well inside the range.
const secretBytes = 32

// NewSecret returns a fresh signing secret: "whsec_" and the standard base64
// of 32 random bytes.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ValidateSecret tells whether s is a usable secret, with or without the
// whsec_ prefix; use it when a secret is configured, so a bad one is caught
// then rather than at the first delivery.
func ValidateSecret(s string) error {
	_, err := decodeSecret(s)
	return err
}

// decodeSecret returns the HMAC key of a secret. The error never contains
// the secret itself: it ends up in logs.
func decodeSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, errors.New("webhook secret is not valid: expected whsec_ followed by standard base64")
	}
	if len(key) < MinKeyBytes || len(key) > MaxKeyBytes {
		return nil, fmt.Errorf("webhook secret is not valid: its key has %d bytes, Standard Webhooks wants %d to %d", len(key), MinKeyBytes, MaxKeyBytes)
	}
	return key, nil
}

// checkMsgID refuses ids that would make the signed content ambiguous or
// the header invalid: the specification forbids "." in the id, since the
// parts of the signed content are joined by dots.
func checkMsgID(id string) error {
	if id == "" {
		return errors.New("webhook id is empty")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '.' || c <= ' ' || c >= 0x7f {
			return fmt.Errorf("webhook id %q: only printable ASCII without spaces or dots is allowed", id)
		}
	}
	return nil
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256>" per secret, space separated, in the order given.
// ts is the time of this delivery attempt; only its whole seconds count.
func Sign(msgID string, ts time.Time, body []byte, secrets ...string) (string, error) {
	if err := checkMsgID(msgID); err != nil {
		return "", err
	}
	if ts.IsZero() {
		return "", errors.New("webhook timestamp is not set")
	}
	if len(secrets) == 0 {
		return "", errors.New("no webhook secret to sign with")
	}
	prefix := msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "."
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		key, err := decodeSecret(s)
		if err != nil {
			return "", fmt.Errorf("secret %d: %w", i+1, err)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(prefix))
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}

// Headers returns the three Standard Webhooks headers for a message, ready to
// be copied onto the request. The body sent must be exactly the bytes signed.
func Headers(msgID string, ts time.Time, body []byte, secrets ...string) (http.Header, error) {
	sig, err := Sign(msgID, ts, body, secrets...)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 3)
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return h, nil
}
