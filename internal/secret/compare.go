package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// Equal compares two secrets in constant time over their SHA-256 digests:
// the time taken depends neither on where they first differ nor on their
// lengths (comparing the raw strings would return early when the lengths
// differ, telling an attacker the secret's length).
func Equal(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// APIKeyPrefix starts every named API key, so that a leaked key is
// recognisable (secret scanners, logs) and told apart from the other tokens.
const APIKeyPrefix = "csk_"

// NewAPIKey returns a new key "csk_<id>.<secret>" and its id. The id is not
// secret: it finds the stored hash, which is then compared in constant time.
func NewAPIKey() (id, key string) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	id = hex.EncodeToString(b)
	return id, APIKeyPrefix + id + "." + NewToken()
}

// ParseAPIKey returns the id of a key shaped like NewAPIKey's; ok is false
// for anything else (the admin token, a platform key).
func ParseAPIKey(key string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok {
		return "", false
	}
	id, _, ok = strings.Cut(rest, ".")
	if !ok || len(id) != 16 {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return id, true
}

// Mask shows the last four characters of a secret and nothing else
// ("…abcd"): enough to tell two apart, too little to use.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 8 {
		return "…"
	}
	return "…" + s[len(s)-4:]
}
