package whsign_test

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cventsync/cventsync/internal/whsign"
)

// The signatures are checked with the Standard Webhooks project's own Go
// library, never with code of ours: a verifier written alongside the signer
// would share its mistakes.

var body = []byte(`{"type":"attendee.updated","timestamp":"2026-01-02T03:04:05Z","data":{"seq":7,"key":"inv-1"}}`)

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := whsign.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

func TestNewSecret(t *testing.T) {
	a, b := newSecret(t), newSecret(t)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if !strings.HasPrefix(a, "whsec_") {
		t.Fatalf("secret %q lacks the whsec_ prefix", a)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret key: %d bytes, %v; want 32 bytes of standard base64", len(key), err)
	}
	if err := whsign.ValidateSecret(a); err != nil {
		t.Fatal(err)
	}
}

// The vector every Standard Webhooks library tests itself with.
func TestKnownVector(t *testing.T) {
	got, err := whsign.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
}

func TestOneSecretVerifies(t *testing.T) {
	secret := newSecret(t)
	h, err := whsign.Headers("msg_1", time.Now(), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier(t, secret).Verify(body, h); err != nil {
		t.Fatalf("library rejects our signature: %v", err)
	}
	// The receiver's own copy of the secret may come without the prefix.
	if err := verifier(t, strings.TrimPrefix(secret, "whsec_")).Verify(body, h); err != nil {
		t.Fatalf("library rejects our signature with the unprefixed secret: %v", err)
	}
	// And we accept an unprefixed secret for signing.
	h2, err := whsign.Headers("msg_1", time.Now(), body, strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier(t, secret).Verify(body, h2); err != nil {
		t.Fatalf("library rejects a signature made with the unprefixed secret: %v", err)
	}
}

func TestHeaders(t *testing.T) {
	ts := time.Unix(1767323045, 999_000_000)
	h, err := whsign.Headers("msg_2", ts, body, newSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Get("webhook-id"); got != "msg_2" {
		t.Errorf("webhook-id %q", got)
	}
	if got := h.Get("webhook-timestamp"); got != "1767323045" {
		t.Errorf("webhook-timestamp %q, want whole unix seconds", got)
	}
	if got := h.Get("webhook-signature"); !strings.HasPrefix(got, "v1,") || strings.Contains(got, " ") {
		t.Errorf("webhook-signature %q, want one v1 signature", got)
	}
}

// Rotation: while both secrets sign, a receiver that knows either verifies.
func TestTwoSecretsEachVerifiesAlone(t *testing.T) {
	oldS, newS := newSecret(t), newSecret(t)
	h, err := whsign.Headers("msg_3", time.Now(), body, oldS, newS)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures, want 2: %q", n, h.Get("webhook-signature"))
	}
	for name, s := range map[string]string{"old": oldS, "new": newS} {
		if err := verifier(t, s).Verify(body, h); err != nil {
			t.Errorf("receiver with only the %s secret rejects: %v", name, err)
		}
	}
	if err := verifier(t, newSecret(t)).Verify(body, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Errorf("receiver with an unrelated secret: %v, want no matching signature", err)
	}
}

func TestTamperedBodyFails(t *testing.T) {
	secret := newSecret(t)
	h, err := whsign.Headers("msg_4", time.Now(), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(body), `"seq":7`, `"seq":8`, 1))
	if err := verifier(t, secret).Verify(tampered, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Fatalf("tampered body: %v, want no matching signature", err)
	}
	h.Set("webhook-id", "msg_5")
	if err := verifier(t, secret).Verify(body, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Fatalf("changed id: %v, want no matching signature", err)
	}
}

func TestWrongTimestampFails(t *testing.T) {
	secret := newSecret(t)
	ts := time.Now()
	h, err := whsign.Headers("msg_6", ts, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix()+1, 10))
	if err := verifier(t, secret).Verify(body, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
		t.Fatalf("timestamp off by a second: %v, want no matching signature", err)
	}
}

// A redelivery ten minutes later must be signed with the attempt's time: the
// library refuses the first attempt's signature as too old, and accepts the
// same message signed afresh.
func TestRedeliverySignedAfresh(t *testing.T) {
	secret := newSecret(t)
	first := time.Now().Add(-10 * time.Minute)
	h, err := whsign.Headers("msg_7", first, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier(t, secret).Verify(body, h); !errors.Is(err, standardwebhooks.ErrMessageTooOld) {
		t.Fatalf("stale signature: %v, want message too old", err)
	}
	h, err = whsign.Headers("msg_7", time.Now(), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier(t, secret).Verify(body, h); err != nil {
		t.Fatalf("fresh signature of the redelivery: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	good := newSecret(t)
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))
	long := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65))
	now := time.Now()
	for _, tc := range []struct {
		name    string
		id      string
		ts      time.Time
		secrets []string
	}{
		{"no secret", "msg", now, nil},
		{"not base64", "msg", now, []string{"whsec_not*base64!"}},
		{"empty secret", "msg", now, []string{"whsec_"}},
		{"key too short", "msg", now, []string{short}},
		{"key too long", "msg", now, []string{long}},
		{"one good one bad", "msg", now, []string{good, "whsec_%%%"}},
		{"empty id", "", now, []string{good}},
		{"dot in id", "msg.1", now, []string{good}},
		{"newline in id", "msg\n1", now, []string{good}},
		{"zero time", "msg", time.Time{}, []string{good}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if sig, err := whsign.Sign(tc.id, tc.ts, body, tc.secrets...); err == nil {
				t.Fatalf("signed: %q", sig)
			}
			if _, err := whsign.Headers(tc.id, tc.ts, body, tc.secrets...); err == nil {
				t.Fatal("Headers made headers")
			}
		})
	}
	if err := whsign.ValidateSecret("whsec_%%%"); err == nil || strings.Contains(err.Error(), "%%%") {
		t.Fatalf("ValidateSecret: %v (want an error that does not echo the secret)", err)
	}
}
