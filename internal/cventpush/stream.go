package cventpush

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ScanEnvelope reads a delivery from r one token at a time, never holding
// it whole: it learns eventType, messageStub and messageTime (in whatever
// order Cvent put them: the stub may come after the message), and walks the
// message's items one by one for their count and invitee ids. A body that is
// not a complete Cvent envelope is ErrMalformed. r is read to the end of the
// JSON value; the caller reads anything after it.
func ScanEnvelope(r io.Reader, maxIDs int) (*Envelope, *ItemSummary, error) {
	dec := json.NewDecoder(r)
	env := &Envelope{}
	sum := &ItemSummary{}
	seen := map[string]bool{}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, malformed(err)
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "eventType"):
			err = dec.Decode(&env.EventType)
		case strings.EqualFold(key, "messageStub"):
			err = dec.Decode(&env.MessageStub)
		case strings.EqualFold(key, "messageTime"):
			err = dec.Decode(&env.MessageTime)
		case strings.EqualFold(key, "message"):
			*sum, seen = ItemSummary{}, map[string]bool{}
			err = eachItem(dec, func(it *itemIDs) { sum.add(it, seen, maxIDs) })
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, nil, malformed(err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, err
	}
	return env, sum, nil
}

// StreamItems calls fn with each item of the delivery in r, in order,
// decoding one at a time: a 100,000-item manual sync is never held whole.
// It reads bodies the gateway has already checked (ScanEnvelope), with the
// faster decoder (fastjson.go).
func StreamItems(r io.Reader, fn func(item json.RawMessage) error) error {
	dec := newItemDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		if key, _ := tok.(string); !strings.EqualFold(key, "message") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return malformed(err)
			}
			continue
		}
		if err := eachRaw(dec, fn); err != nil {
			return err
		}
	}
	return expectDelim(dec, '}')
}

// tokenDecoder is a streaming JSON decoder: encoding/json's, or the faster
// one of fastjson.go.
type tokenDecoder interface {
	Token() (json.Token, error)
	More() bool
	Decode(v any) error
}

// eachItem decodes the message value at dec's position item by item,
// each straight from the stream (no copy of it, no second pass over it).
func eachItem(dec tokenDecoder, fn func(*itemIDs)) error {
	return eachValue(dec, func(decode func(any) error) error {
		var it itemIDs
		if err := decode(&it); err != nil {
			return err
		}
		fn(&it)
		return nil
	})
}

// eachRaw hands fn the raw bytes of each item of the message value at
// dec's position.
func eachRaw(dec tokenDecoder, fn func(json.RawMessage) error) error {
	return eachValue(dec, func(decode func(any) error) error {
		var item json.RawMessage // fresh: fn may keep it
		if err := decode(&item); err != nil {
			return err
		}
		return fn(item)
	})
}

// eachValue walks the message value at dec's position: an array of items,
// a lone object (one item) or null. fn decodes each item with the function
// it is given; an error of that function is the body's (ErrMalformed), any
// other error of fn is returned as it is.
func eachValue(dec tokenDecoder, fn func(decode func(any) error) error) error {
	if !dec.More() {
		return malformed(errors.New("message has no value"))
	}
	tok, err := dec.Token()
	if err != nil {
		return malformed(err)
	}
	switch tok {
	case json.Delim('['):
		var decodeErr error
		decode := func(v any) error {
			decodeErr = dec.Decode(v)
			return decodeErr
		}
		for dec.More() {
			if err := fn(decode); err != nil {
				if decodeErr != nil {
					return malformed(err)
				}
				return err
			}
		}
		_, err := dec.Token() // ]
		return malformed(err)
	case json.Delim('{'):
		// A lone object: rebuild it from its tokens is costly; read its
		// fields into a map and hand the item on re-encoded.
		obj := map[string]json.RawMessage{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return malformed(err)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return malformed(err)
			}
			obj[fmt.Sprint(k)] = v
		}
		if _, err := dec.Token(); err != nil {
			return malformed(err)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return malformed(err)
		}
		var decodeErr error
		err = fn(func(v any) error {
			decodeErr = json.Unmarshal(b, v)
			return decodeErr
		})
		if err != nil && decodeErr != nil {
			return malformed(err)
		}
		return err
	case nil:
		return nil
	}
	return fmt.Errorf("%w: message must be an array of items", ErrMalformed)
}

func (s *ItemSummary) add(it *itemIDs, seen map[string]bool, maxIDs int) {
	s.Count++
	id := NormaliseID(string(it.InviteeStub))
	if id == "" {
		id = NormaliseID(string(it.SnakeInviteeStub))
	}
	if id != "" && !seen[id] && len(s.InviteeIDs) < maxIDs {
		seen[id] = true
		s.InviteeIDs = append(s.InviteeIDs, id)
	}
}

func expectDelim(dec tokenDecoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: expected %q, found %v", ErrMalformed, want, tok)
	}
	return nil
}

func malformed(err error) error {
	if err == nil || errors.Is(err, ErrMalformed) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the body ends before the JSON does (truncated?)", ErrMalformed)
	}
	if text, ok := decodeErrorText(err); ok {
		return fmt.Errorf("%w: %s", ErrMalformed, text)
	}
	// A read error of the body itself stays reachable with errors.As.
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}
