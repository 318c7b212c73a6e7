// Package payloadcodec encrypts Temporal payloads with AES-256-GCM, so that
// the personal data in workflow inputs, results, memos, signals and failure
// messages is unreadable in Temporal's history and database. Keys carry an id
// stored in each payload's metadata: the first key encrypts, every key
// decrypts, so a new key is rotated in by putting it first and an old one
// removed once no history needs it. It also serves the codec endpoint the
// Temporal Web UI calls to show decoded payloads (Handler).
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding is the metadata encoding of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key a payload was encrypted with.
	MetadataKeyID = "encryption-key-id"
)

// Key is one AES-256 key and its id.
type Key struct {
	ID     string
	Secret []byte // 32 bytes
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeys reads "id:hex,id:hex" (CVENTSYNC_PAYLOAD_KEYS): the first key
// encrypts, all decrypt. Each secret is 64 hex digits (32 bytes). An empty
// string gives no keys (encryption off).
func ParseKeys(s string) ([]Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var keys []Key
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		id, hx, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("CVENTSYNC_PAYLOAD_KEYS: key %d: want id:hex", i+1)
		}
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("CVENTSYNC_PAYLOAD_KEYS: key %d: id must be 1-64 of A-Z a-z 0-9 . _ -", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("CVENTSYNC_PAYLOAD_KEYS: key id %q appears twice", id)
		}
		seen[id] = true
		secret, err := hex.DecodeString(strings.TrimSpace(hx))
		if err != nil || len(secret) != 32 {
			// The secret itself is never quoted in the error.
			return nil, fmt.Errorf("CVENTSYNC_PAYLOAD_KEYS: key %q: want 64 hex digits (32 bytes)", id)
		}
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	return keys, nil
}

// Codec is a converter.PayloadCodec that encrypts with the first key and
// decrypts with whichever key a payload names.
type Codec struct {
	encryptID string
	aeads     map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec from keys (at least one).
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payload codec: no key")
	}
	c := &Codec{encryptID: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("payload codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("payload codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// Encode encrypts each payload whole (metadata and data, marshalled), with
// the key id as additional data so a payload cannot be passed off under
// another key's id.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.encryptID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("payload codec: marshal: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("payload codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.encryptID),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.encryptID)),
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes others through unchanged
// (histories written before encryption was switched on stay readable).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return nil, fmt.Errorf("payload codec: payload encrypted with key %q, which is not configured", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("payload codec: encrypted payload too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payload codec: decrypt with key %q: %w", id, err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("payload codec: unmarshal: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// Converters are the data and failure converters for client.Options.
type Converters struct {
	Data    converter.DataConverter
	Failure converter.FailureConverter
}

// NewConverters wraps the SDK's default data converter with c, and builds a
// failure converter that moves messages and stack traces into encoded
// attributes, so they are encrypted too (a Cvent error can quote a person).
func NewConverters(c *Codec) Converters {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	return Converters{
		Data: dc,
		Failure: temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter:          dc,
			EncodeCommonAttributes: true,
		}),
	}
}

// FromConfig builds the converters from CVENTSYNC_PAYLOAD_KEYS; ok is false
// when no key is configured (payloads stay plain).
func FromConfig(keys string) (Converters, bool, error) {
	parsed, err := ParseKeys(keys)
	if err != nil || len(parsed) == 0 {
		return Converters{}, false, err
	}
	c, err := New(parsed)
	if err != nil {
		return Converters{}, false, err
	}
	return NewConverters(c), true, nil
}
