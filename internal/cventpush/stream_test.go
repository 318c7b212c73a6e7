package cventpush

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func sampleBodies(t *testing.T) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob("../../../shared/cvent/samples/*.json")
	if len(paths) == 0 {
		t.Fatal("no samples in ../shared/cvent/samples")
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// The streaming scanner learns what the whole-body decoder learns, from
// Cvent's samples and from the same bodies read a byte at a time.
func TestScanEnvelopeAgreesWithDecodeEnvelope(t *testing.T) {
	for name, body := range sampleBodies(t) {
		env, err := DecodeEnvelope(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := env.SummarizeItems(1000)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, sum, err := ScanEnvelope(iotest.OneByteReader(bytes.NewReader(body)), 1000)
		if err != nil {
			t.Fatalf("%s: scan: %v", name, err)
		}
		if got.EventType != env.EventType || got.MessageStub != env.MessageStub || !got.MessageTime.Equal(env.MessageTime.Time) {
			t.Errorf("%s: scanned %+v, decoded %+v", name, got, env)
		}
		if !reflect.DeepEqual(sum, want) {
			t.Errorf("%s: scanned %+v, summarized %+v", name, sum, want)
		}
		items, _ := env.Items()
		var streamed []json.RawMessage
		if err := StreamItems(bytes.NewReader(body), func(it json.RawMessage) error { streamed = append(streamed, it); return nil }); err != nil {
			t.Fatalf("%s: stream: %v", name, err)
		}
		if len(streamed) != len(items) {
			t.Fatalf("%s: streamed %d items, want %d", name, len(streamed), len(items))
		}
		for i := range items {
			if !bytes.Equal(bytes.TrimSpace(streamed[i]), bytes.TrimSpace(items[i])) {
				t.Errorf("%s: item %d differs", name, i)
			}
		}
	}
}

func TestScanEnvelopeShapes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		stub       string
		count      int
		malformed  bool
	}{
		{"stub after message", `{"message":[{"inviteeStub":"A"},{"inviteeStub":"B"}],"eventType":"X","messageStub":"S1"}`, "S1", 2, false},
		{"lone object", `{"eventType":"X","messageStub":"S2","message":{"inviteeStub":"A"}}`, "S2", 1, false},
		{"null message", `{"eventType":"X","messageStub":"S3","message":null}`, "S3", 0, false},
		{"extra keys", `{"eventType":"X","extra":{"deep":[1,2,{"a":"b"}]},"messageStub":"S4","message":[]}`, "S4", 0, false},
		{"truncated", `{"eventType":"X","messageStub":"S5","message":[{"inviteeStub":"A"},{"invit`, "", 0, true},
		{"not an object", `[1,2,3]`, "", 0, true},
		{"message a string", `{"eventType":"X","message":"hello"}`, "", 0, true},
	} {
		env, sum, err := ScanEnvelope(strings.NewReader(tc.body), 10)
		if tc.malformed {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: err %v, want ErrMalformed", tc.name, err)
			}
			continue
		}
		if err != nil || string(env.MessageStub) != tc.stub || sum.Count != tc.count {
			t.Errorf("%s: %+v %+v %v", tc.name, env, sum, err)
		}
	}
}
