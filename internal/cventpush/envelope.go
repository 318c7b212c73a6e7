// Package cventpush decodes what Cvent's Push API (webhooks) sends: the envelope
// and the attendee, substitution and session items inside it. Decoding is
// lenient by design: Cvent changes scalar types, date formats and id case from
// one delivery to the next (see shared/cvent/FACTS.md), and a delivery must never
// be lost over a field we do not even use.
package cventpush

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Event types seen on the wire or named by Cvent's integration guides.
const (
	InviteeOrGuestAccepted       = "InviteeOrGuestAccepted"
	InviteeOrGuestModified       = "InviteeOrGuestModified"
	InviteeOrGuestCancelled      = "InviteeOrGuestCancelled"
	InviteeSubstituted           = "InviteeSubstitutedInAnEvent"
	AttendeeManualSynced         = "AttendeeManualSynced"
	SessionCreated               = "SessionCreated"
	SessionUpdated               = "SessionUpdated"
	SessionDeleted               = "SessionDeleted"
	SessionManualSynced          = "SessionManualSynced"
	InviteeAttendsSession        = "InviteeAttendsCventSession"
	InviteeRegistersSession      = "InviteeRegistersForCventSession"
	InviteeCancelsSession        = "InviteeCancelsRegistrationForCventSession"
	SpeakerCreated               = "SpeakerCreated"
	SpeakerUpdated               = "SpeakerUpdated"
	SpeakerDeleted               = "SpeakerDeleted"
	EventManualSynced            = "EventManualSynced"
	InviteeAbandonedRegistration = "InviteeAbandonedRegistrationInAnEvent"
)

// Kind says what cventsync does with an event type.
type Kind int

const (
	// KindIgnored types are stored and acknowledged but change nothing.
	KindIgnored Kind = iota
	// KindAttendee types carry attendee items that create or update attendees.
	KindAttendee
	// KindSubstitution carries snake_case substitution items.
	KindSubstitution
	// KindSession carries session items (created, updated, synced).
	KindSession
	// KindSessionDeleted carries session stubs to delete.
	KindSessionDeleted
	// KindSessionRegistration carries an attendee registering for or leaving a session.
	KindSessionRegistration
	// KindSpeaker carries speaker items.
	KindSpeaker
)

// KindOf classifies an event type. Unknown types are ignored, never rejected.
func KindOf(eventType string) Kind {
	switch eventType {
	case InviteeOrGuestAccepted, InviteeOrGuestModified, InviteeOrGuestCancelled, AttendeeManualSynced:
		return KindAttendee
	case InviteeSubstituted:
		return KindSubstitution
	case SessionCreated, SessionUpdated, SessionManualSynced:
		return KindSession
	case SessionDeleted:
		return KindSessionDeleted
	case InviteeRegistersSession, InviteeCancelsSession:
		return KindSessionRegistration
	case SpeakerCreated, SpeakerUpdated, SpeakerDeleted:
		return KindSpeaker
	}
	if IsSpeakerManualSync(eventType) {
		return KindSpeaker
	}
	return KindIgnored
}

// IsSpeakerManualSync reports an event type that names a manual sync of
// speakers. Cvent has one, but its eventType string was never seen (by
// analogy "SpeakerManualSynced"), so any spelling that names both speakers
// and a manual sync is taken, in any case and with or without separators.
func IsSpeakerManualSync(eventType string) bool {
	t := strings.ToLower(eventType)
	t = strings.NewReplacer("_", "", "-", "", " ", "", ".", "").Replace(t)
	return strings.Contains(t, "speaker") && strings.Contains(t, "manualsync")
}

// Envelope is one POST from Cvent. Message stays raw until a processor needs
// it, so the gateway can acknowledge a 20 MB manual sync without decoding it.
type Envelope struct {
	EventType   String          `json:"eventType"`
	MessageTime Time            `json:"messageTime"`
	MessageStub String          `json:"messageStub"`
	Message     json.RawMessage `json:"message"`
}

// ErrMalformed marks a body that is not a Cvent envelope at all.
var ErrMalformed = errors.New("malformed Cvent delivery")

// DecodeEnvelope reads the envelope of a delivery. A body that is not a JSON
// object, or whose message is neither an array nor an object, is ErrMalformed.
func DecodeEnvelope(body []byte) (*Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, jsonErrorText(err))
	}
	msg := bytes.TrimSpace(env.Message)
	if len(msg) > 0 && msg[0] != '[' && msg[0] != '{' && !bytes.Equal(msg, []byte("null")) {
		return nil, fmt.Errorf("%w: message must be an array of items", ErrMalformed)
	}
	return &env, nil
}

// Stub is the delivery's idempotency key: messageStub in lower case, or, when
// Cvent left it out, a hash of the body so an identical retry still dedupes.
func (e *Envelope) Stub(body []byte) string {
	if s := strings.ToLower(string(e.MessageStub)); s != "" {
		return s
	}
	sum := sha256.Sum256(body)
	return "sha256-" + hex.EncodeToString(sum[:16])
}

// StubFromHash is Stub for a body that was hashed as it streamed by (sum is
// its SHA-256).
func (e *Envelope) StubFromHash(sum []byte) string {
	if s := strings.ToLower(string(e.MessageStub)); s != "" {
		return s
	}
	return "sha256-" + hex.EncodeToString(sum[:16])
}

// Items splits message into its raw items. Cvent always sends an array; a lone
// object is accepted as a one-item array.
func (e *Envelope) Items() ([]json.RawMessage, error) {
	msg := bytes.TrimSpace(e.Message)
	if len(msg) == 0 || bytes.Equal(msg, []byte("null")) {
		return nil, nil
	}
	if msg[0] == '{' {
		return []json.RawMessage{msg}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(msg, &items); err != nil {
		return nil, fmt.Errorf("%w: message: %s", ErrMalformed, jsonErrorText(err))
	}
	return items, nil
}

func jsonErrorText(err error) string {
	if text, ok := decodeErrorText(err); ok {
		return text
	}
	return err.Error()
}

// decodeErrorText describes a syntax or type error of either decoder.
func decodeErrorText(err error) (string, bool) {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return syntaxErrorText(syn.Offset, syn), true
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return typeErrorText(typ.Field, typ.Value), true
	}
	return fastDecodeErrorText(err)
}

func syntaxErrorText(offset int64, err error) string {
	return fmt.Sprintf("invalid JSON at byte %d: %v", offset, err)
}

func typeErrorText(field, value string) string {
	return fmt.Sprintf("field %q has the wrong type (%s)", field, value)
}

// ItemSummary is what the gateway learns of a delivery's items without
// keeping them: how many there are and whom they name.
type ItemSummary struct {
	Count int
	// InviteeIDs are the distinct invitee ids the items name (lower case),
	// at most the maximum asked for.
	InviteeIDs []string
}

// SummarizeItems walks message one item at a time, reading only the invitee
// id of each, so that a 100,000-item manual sync is never held decoded. It
// fails like Items on a message that is not an array of objects.
func (e *Envelope) SummarizeItems(maxIDs int) (*ItemSummary, error) {
	msg := bytes.TrimSpace(e.Message)
	out := &ItemSummary{}
	if len(msg) == 0 || bytes.Equal(msg, []byte("null")) {
		return out, nil
	}
	seen := map[string]bool{}
	add := func(it *itemIDs) { out.add(it, seen, maxIDs) }
	if msg[0] == '{' {
		var it itemIDs
		if err := json.Unmarshal(msg, &it); err != nil {
			return nil, fmt.Errorf("%w: message: %s", ErrMalformed, jsonErrorText(err))
		}
		add(&it)
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: message: %s", ErrMalformed, jsonErrorText(err))
	}
	for dec.More() {
		var it itemIDs
		if err := dec.Decode(&it); err != nil {
			return nil, fmt.Errorf("%w: message item %d: %s", ErrMalformed, out.Count, jsonErrorText(err))
		}
		add(&it)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: message: %s", ErrMalformed, jsonErrorText(err))
	}
	return out, nil
}

// itemIDs is the part of any item that says whom it is about.
type itemIDs struct {
	InviteeStub      String `json:"inviteeStub"`
	SnakeInviteeStub String `json:"invitee_stub"`
}

// CheckText reports a field value that cannot be stored or shown as text:
// a NUL character (PostgreSQL text refuses it) or invalid UTF-8.
func CheckText(field, value string) error {
	if strings.ContainsRune(value, 0) {
		return fmt.Errorf("%w: %s contains a NUL character", ErrMalformed, field)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrMalformed, field)
	}
	return nil
}
