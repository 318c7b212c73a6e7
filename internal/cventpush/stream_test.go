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

// StreamItems splits with the fast decoder (fastjson.go): it must find the
// same items, byte for byte, as encoding/json's decoder, whatever the items
// hold.
func TestStreamItemsSplitsLikeEncodingJSON(t *testing.T) {
	bodies := []string{
		`{"eventType":"AttendeeManualSynced","message":[{"a":"]}[{,\"\\"},{"b":[1,[2,{"c":"}"}]],"d":null},{}]}`,
		`{"message":[{"email":"é\u00e9\ud83d\ude00","n":-1.5e+300,"t":true}],"messageStub":"s","eventType":"X"}`,
		"{ \"message\" :\n\t[ {\"x\" : 1} ,\r\n {\"y\":\"z\"} ] , \"other\": {\"message\": [1,2]} }",
		`{"other":[{"deep":[[[]]]}],"message":{"inviteeStub":"lone"}}`,
		`{"message":null,"eventType":"X"}`,
		`{"message":[]}`,
	}
	for name, body := range sampleBodies(t) {
		bodies = append(bodies, name+"\x00"+string(body))
	}
	for _, b := range bodies {
		name, body := "", b
		if i := strings.IndexByte(b, 0); i >= 0 {
			name, body = b[:i], b[i+1:]
		}
		var got []string
		if err := StreamItems(strings.NewReader(body), func(it json.RawMessage) error {
			got = append(got, string(it))
			return nil
		}); err != nil {
			t.Fatalf("%s%s: %v", name, body, err)
		}
		want := splitWithEncodingJSON(t, body)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s%s:\n split %q\n want  %q", name, body, got, want)
		}
	}
}

// splitWithEncodingJSON is StreamItems done with encoding/json's decoder.
func splitWithEncodingJSON(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	dec := json.NewDecoder(strings.NewReader(body))
	if err := expectDelim(dec, '{'); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if key, _ := tok.(string); !strings.EqualFold(key, "message") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := eachRaw(dec, func(it json.RawMessage) error { out = append(out, string(it)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
