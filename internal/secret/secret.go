// Package secret makes and checks the tokens cventsync hands out, and
// encrypts the Cvent credentials it stores.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// NewToken returns a random URL-safe token of 64 characters (48 random
// bytes): well under Cvent's 150-character limit for webhook tokens.
func NewToken() string {
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the OS has no entropy: nothing sensible to do
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is what is stored instead of a token.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// TokenMatches compares a presented token with a stored hash in constant time.
func TokenMatches(storedHash []byte, presented string) bool {
	got := HashToken(presented)
	return len(storedHash) == len(got) && subtle.ConstantTimeCompare(storedHash, got) == 1
}

// Box encrypts small secrets (Cvent client secrets) with AES-256-GCM.
type Box struct{ aead cipher.AEAD }

// NewBox takes a 32-byte key, hex encoded.
func NewBox(hexKey string) (*Box, error) {
	key, err := hex.DecodeString(hexKey)
	if err != nil || len(key) != 32 {
		return nil, errors.New("secret key must be 32 bytes, hex encoded (64 characters): generate one with `openssl rand -hex 32`")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead}, nil
}

// NewKey returns a fresh hex-encoded key for NewBox.
func NewKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// Seal encrypts plaintext; the result is base64 text safe to store in JSON.
func (b *Box) Seal(plaintext string) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plaintext), nil))
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("sealed secret is not valid")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errors.New("sealed secret cannot be opened with this key")
	}
	return string(plain), nil
}
