package cventpush

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// addSamples seeds f with the shared Cvent samples (../shared/cvent/samples,
// read where they are, never copied into the repository).
func addSamples(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "cvent", "samples", "*.json"))
	if len(paths) == 0 {
		f.Log("shared samples not found; fuzzing from the built-in seeds only")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"eventType":"AttendeeManualSynced","messageStub":"s","messageTime":"2026-05-25 18:00:00.0","message":[{"inviteeStub":"A"},{"invitee_stub":"B"}]}`,
		`{"message":{"inviteeStub":"A"},"eventType":"InviteeOrGuestAccepted"}`,
		`{"eventType":"SpeakerManualSynced","message":[{"speakerStub":"S","presenterAt":"X"}]}`,
		`{"eventType":"SessionCreated","message":[{"sessionStub":1,"speakers":["a",null,2]}]}`,
		`{"eventType":"InviteeSubstitutedInAnEvent","message":[{"inviteeStub":"I","first_name":true}]}`,
		`{"message":null}`, `{"message":[]}`, `{"message":"x"}`, `[]`, `null`, `{"message":[1,"a",null]}`,
	} {
		f.Add([]byte(s))
	}
}

// The webhook decoder takes anything without panicking, in both of Cvent's
// shapes (an array of items or a lone item) and through the streaming
// scanner that reads large manual syncs; the streaming and the whole-body
// readers agree on what they both accept.
func FuzzDecodeEnvelope(f *testing.F) {
	addSamples(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := DecodeEnvelope(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeEnvelope error is not ErrMalformed: %v", err)
			}
		} else {
			_ = env.Stub(body)
			_ = CheckText("eventType", string(env.EventType))
			_ = KindOf(string(env.EventType))
			items, itemsErr := env.Items()
			sum, sumErr := env.SummarizeItems(48)
			if (itemsErr == nil) && sumErr == nil && sum.Count != len(items) {
				t.Fatalf("SummarizeItems counted %d items, Items gave %d", sum.Count, len(items))
			}
			if sumErr == nil && len(sum.InviteeIDs) > 48 {
				t.Fatalf("%d invitee ids, more than asked", len(sum.InviteeIDs))
			}
			if itemsErr == nil {
				decodeAll(t, items)
			}
		}
		// The streaming scanner (large bodies) on the same body.
		senv, ssum, serr := ScanEnvelope(bytes.NewReader(body), 48)
		if serr != nil {
			if !errors.Is(serr, ErrMalformed) {
				t.Fatalf("ScanEnvelope error is not ErrMalformed: %v", serr)
			}
			return
		}
		var streamed []json.RawMessage
		if err := StreamItems(bytes.NewReader(body), func(item json.RawMessage) error {
			streamed = append(streamed, item)
			return nil
		}); err != nil {
			t.Fatalf("ScanEnvelope accepted the body, StreamItems did not: %v", err)
		}
		if len(streamed) != ssum.Count {
			t.Fatalf("ScanEnvelope counted %d items, StreamItems gave %d", ssum.Count, len(streamed))
		}
		want := splitWithEncodingJSON(t, string(body))
		for i := range streamed {
			if string(streamed[i]) != want[i] {
				t.Fatalf("item %d split as %q, encoding/json splits %q", i, streamed[i], want[i])
			}
		}
		decodeAll(t, streamed)
		if err == nil && env.EventType != senv.EventType {
			t.Fatalf("eventType %q whole, %q streamed", env.EventType, senv.EventType)
		}
	})
}

// decodeAll runs every item decoder; errors are fine, panics are not.
func decodeAll(t *testing.T, items []json.RawMessage) {
	t.Helper()
	if as, err := Attendees(items); err == nil {
		for i := range as {
			_ = as[i].InviteeID()
			_ = as[i].PrimaryID()
		}
	}
	if ss, err := Sessions(items); err == nil {
		for i := range ss {
			_ = ss[i].SessionID()
		}
	}
	if ss, err := Substitutions(items); err == nil {
		for i := range ss {
			_ = ss[i].InviteeID()
		}
	}
	if ss, err := Speakers(items); err == nil {
		for i := range ss {
			_ = ss[i].SpeakerID()
		}
	}
	if rs, err := SessionRegistrations(items); err == nil {
		for i := range rs {
			_ = rs[i].SessionIDs()
		}
	}
}
