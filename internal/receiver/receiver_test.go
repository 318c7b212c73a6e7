package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/receiver"
	"github.com/cventsync/cventsync/internal/whsign"
)

type fixture struct {
	t      *testing.T
	rcv    *receiver.Receiver
	url    string
	secret string
}

func newFixture(t *testing.T, cfg receiver.Config) *fixture {
	t.Helper()
	secret, err := whsign.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Secrets == nil {
		cfg.Secrets = []string{secret}
	}
	rcv, err := receiver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	return &fixture{t: t, rcv: rcv, url: srv.URL, secret: secret}
}

// post sends body as cventsync does: signed now with the given secrets
// (the fixture's by default). It returns the status.
func (f *fixture) post(id string, body []byte, secrets ...string) int {
	f.t.Helper()
	if len(secrets) == 0 {
		secrets = []string{f.secret}
	}
	h, err := whsign.Headers(id, time.Now(), body, secrets...)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.send(h, body)
}

func (f *fixture) send(h http.Header, body []byte) int {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (f *fixture) want(status int, id string, body []byte, secrets ...string) {
	f.t.Helper()
	if got := f.post(id, body, secrets...); got != status {
		f.t.Fatalf("POST %s: status %d, want %d", id, got, status)
	}
}

type change struct {
	Seq    int64          `json:"seq"`
	Type   string         `json:"type"`
	Key    string         `json:"key"`
	At     time.Time      `json:"at"`
	Record map[string]any `json:"record"`
}

func chg(seq int64, key string, rec map[string]any) change {
	return change{Seq: seq, Type: "attendee.updated", Key: key, At: time.Now().UTC(), Record: rec}
}

func single(t *testing.T, c change) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": c.Type, "timestamp": time.Now().UTC(), "data": c})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func batch(t *testing.T, cs ...change) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": "batch", "timestamp": time.Now().UTC(), "data": map[string]any{"changes": cs}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantStats(t *testing.T, got, want receiver.Stats) {
	t.Helper()
	if got != want {
		t.Fatalf("stats\n got %+v\nwant %+v", got, want)
	}
}

func TestSignedChangeApplied(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	f.want(http.StatusOK, "msg_1", single(t, chg(1, "inv-1", map[string]any{"email": "a@example.com"})))

	rec, ok := f.rcv.Record("inv-1")
	if !ok || !strings.Contains(string(rec), `"a@example.com"`) {
		t.Fatalf("record %s, %v", rec, ok)
	}
	last, _ := f.rcv.Last("inv-1")
	if last.Seq != 1 || last.Type != "attendee.updated" || last.At.IsZero() {
		t.Fatalf("last change %+v", last)
	}
	wantStats(t, f.rcv.Stats(), receiver.Stats{Requests: 1, Deliveries: 1, Changes: 1, Applied: 1})
	if _, ok := f.rcv.Record("inv-2"); ok {
		t.Fatal("record of a key never sent")
	}
}

func TestBatchAppliedInOrder(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	f.want(http.StatusOK, "msg_b1", batch(t,
		chg(1, "inv-1", map[string]any{"v": 1}),
		chg(2, "inv-2", map[string]any{"v": 1}),
		chg(3, "inv-1", map[string]any{"v": 2}),
	))
	f.want(http.StatusOK, "msg_b2", batch(t, chg(4, "inv-1", map[string]any{"v": 3})))
	if got := f.rcv.Seqs("inv-1"); !slices.Equal(got, []int64{1, 3, 4}) {
		t.Fatalf("seqs of inv-1: %v", got)
	}
	if rec, _ := f.rcv.Record("inv-1"); string(rec) != `{"v":3}` {
		t.Fatalf("record of inv-1: %s", rec)
	}
	if got := f.rcv.Keys(); !slices.Equal(got, []string{"inv-1", "inv-2"}) {
		t.Fatalf("keys %v", got)
	}
	wantStats(t, f.rcv.Stats(), receiver.Stats{Requests: 2, Deliveries: 2, Changes: 4, Applied: 4})
}

func TestBadSignature(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	body := single(t, chg(1, "inv-1", nil))
	other, _ := whsign.NewSecret()
	f.want(http.StatusUnauthorized, "msg_1", body, other)

	// Tampered after signing.
	h, err := whsign.Headers("msg_2", time.Now(), body, f.secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.send(h, bytes.Replace(body, []byte(`"seq":1`), []byte(`"seq":2`), 1)); got != http.StatusUnauthorized {
		t.Fatalf("tampered body: %d", got)
	}
	// Signed too long ago: a replay.
	h, _ = whsign.Headers("msg_3", time.Now().Add(-10*time.Minute), body, f.secret)
	if got := f.send(h, body); got != http.StatusUnauthorized {
		t.Fatalf("old timestamp: %d", got)
	}
	// No signature at all.
	if got := f.send(http.Header{}, body); got != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", got)
	}
	wantStats(t, f.rcv.Stats(), receiver.Stats{Requests: 4, BadSignatures: 4})
	if len(f.rcv.Keys()) != 0 {
		t.Fatal("a rejected request was applied")
	}
}

// During a rotation the sender signs with both secrets; a receiver that
// knows only one of them accepts, and one that knows both accepts either.
func TestRotation(t *testing.T) {
	oldS, _ := whsign.NewSecret()
	newS, _ := whsign.NewSecret()
	f := newFixture(t, receiver.Config{Secrets: []string{newS}})
	f.want(http.StatusOK, "msg_1", single(t, chg(1, "inv-1", nil)), oldS, newS)
	f.want(http.StatusUnauthorized, "msg_2", single(t, chg(2, "inv-1", nil)), oldS)

	both := newFixture(t, receiver.Config{Secrets: []string{oldS, newS}})
	both.want(http.StatusOK, "msg_3", single(t, chg(1, "inv-1", nil)), oldS)
	both.want(http.StatusOK, "msg_4", single(t, chg(2, "inv-1", nil)), newS)
}

func TestBadBody(t *testing.T) {
	f := newFixture(t, receiver.Config{MaxBodyBytes: 1024})
	for name, body := range map[string]string{
		"not json":      `{"type":`,
		"no type":       `{"data":{"seq":1,"key":"k","type":"x"}}`,
		"no data":       `{"type":"attendee.updated"}`,
		"no seq":        `{"type":"attendee.updated","data":{"key":"k"}}`,
		"no key":        `{"type":"attendee.updated","data":{"seq":1}}`,
		"seq not int":   `{"type":"attendee.updated","data":{"seq":"one","key":"k"}}`,
		"bad at":        `{"type":"attendee.updated","data":{"seq":1,"key":"k","at":"yesterday"}}`,
		"empty batch":   `{"type":"batch","data":{"changes":[]}}`,
		"batch no type": `{"type":"batch","data":{"changes":[{"seq":1,"key":"k"}]}}`,
		"too large":     `{"type":"attendee.updated","data":{"seq":1,"key":"k","record":{"x":"` + strings.Repeat("x", 2000) + `"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			got := f.post("msg_"+strings.ReplaceAll(name, " ", "_"), []byte(body))
			want := http.StatusBadRequest
			if name == "too large" {
				want = http.StatusRequestEntityTooLarge
			}
			if got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
		})
	}
	if s := f.rcv.Stats(); s.BadBodies != 10 || s.Deliveries != 0 || s.Changes != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// The sender may add fields anywhere; and a single change may leave its type
// to the envelope.
func TestExtraFieldsTolerated(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	f.want(http.StatusOK, "msg_1", []byte(`{"type":"access.granted","timestamp":"2026-01-02T03:04:05Z","integration":"i-1",
		"data":{"seq":0,"key":"inv-1","at":"2026-01-02T03:04:05.123Z","record":{"a":1},"actor":"cvent","schema":2}}`))
	last, ok := f.rcv.Last("inv-1")
	if !ok || last.Type != "access.granted" || last.Seq != 0 || string(last.Record) != `{"a":1}` {
		t.Fatalf("last %+v %s, %v", last, last.Record, ok)
	}
}

func TestDuplicateAppliedOnce(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	body := single(t, chg(1, "inv-1", map[string]any{"v": 1}))
	f.want(http.StatusOK, "msg_1", body)
	f.want(http.StatusOK, "msg_1", body) // a retry after a lost response: signed afresh, same id
	wantStats(t, f.rcv.Stats(), receiver.Stats{Requests: 2, Deliveries: 1, Duplicates: 1, Changes: 1, Applied: 1})
	if got := f.rcv.Seqs("inv-1"); !slices.Equal(got, []int64{1}) {
		t.Fatalf("seqs %v", got)
	}
}

// Concurrent deliveries of one id: still applied once.
func TestConcurrentDuplicatesAppliedOnce(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	body := single(t, chg(1, "inv-1", nil))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { f.want(http.StatusOK, "msg_same", body) })
	}
	wg.Wait()
	if s := f.rcv.Stats(); s.Deliveries != 1 || s.Duplicates != 7 || s.Applied != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOrderingViolationCounted(t *testing.T) {
	var mu sync.Mutex
	var arrivals []receiver.Arrival
	f := newFixture(t, receiver.Config{OnChange: func(a receiver.Arrival) {
		mu.Lock()
		defer mu.Unlock()
		arrivals = append(arrivals, a)
	}})
	f.want(http.StatusOK, "msg_1", single(t, chg(5, "inv-1", map[string]any{"v": 5})))
	f.want(http.StatusOK, "msg_2", single(t, chg(3, "inv-1", map[string]any{"v": 3}))) // older: out of order
	f.want(http.StatusOK, "msg_3", single(t, chg(5, "inv-1", map[string]any{"v": 5}))) // same change, new id
	f.want(http.StatusOK, "msg_4", single(t, chg(4, "inv-2", map[string]any{"v": 4}))) // other key: its own order

	wantStats(t, f.rcv.Stats(), receiver.Stats{Requests: 4, Deliveries: 4, Changes: 4, Applied: 2, Repeats: 1, OrderViolations: 1})
	if got := f.rcv.Seqs("inv-1"); !slices.Equal(got, []int64{5, 3, 5}) {
		t.Fatalf("seqs of inv-1 %v", got)
	}
	// The stale change did not overwrite the newer record.
	if rec, _ := f.rcv.Record("inv-1"); string(rec) != `{"v":5}` {
		t.Fatalf("record of inv-1 %s", rec)
	}
	mu.Lock()
	defer mu.Unlock()
	var outcomes []receiver.Outcome
	for _, a := range arrivals {
		outcomes = append(outcomes, a.Outcome)
		if a.Arrived.IsZero() || a.WebhookID == "" {
			t.Errorf("arrival %+v", a)
		}
	}
	if want := []receiver.Outcome{receiver.Applied, receiver.Stale, receiver.Repeated, receiver.Applied}; !slices.Equal(outcomes, want) {
		t.Fatalf("outcomes %v, want %v", outcomes, want)
	}
}

func TestDownAndUp(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	body := single(t, chg(1, "inv-1", nil))
	f.rcv.Down()
	f.want(http.StatusServiceUnavailable, "msg_1", body)
	if _, ok := f.rcv.Record("inv-1"); ok {
		t.Fatal("applied while down")
	}
	f.rcv.Up()
	// The retry of the refused message is a first delivery, not a duplicate.
	f.want(http.StatusOK, "msg_1", body)
	wantStats(t, f.rcv.Stats(), receiver.Stats{Requests: 2, Unavailable: 1, Deliveries: 1, Changes: 1, Applied: 1})
}

func TestWaitFor(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	const n = 20
	go func() {
		for i := range n {
			f.post(fmt.Sprintf("msg_%d", i), single(t, chg(int64(i+1), "inv-1", nil)))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.rcv.WaitFor(ctx, func(s receiver.Stats) bool { return s.Applied == n }); err != nil {
		t.Fatal(err)
	}
	if got := f.rcv.Seqs("inv-1"); len(got) != n || !slices.IsSorted(got) {
		t.Fatalf("seqs %v", got)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	err := f.rcv.WaitFor(short, func(s receiver.Stats) bool { return s.Applied > n })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor on a condition never met: %v", err)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, receiver.Config{})
	resp, err := http.Get(f.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

func TestNewRefusesBadSecrets(t *testing.T) {
	if _, err := receiver.New(receiver.Config{}); err == nil {
		t.Fatal("no secret accepted")
	}
	if _, err := receiver.New(receiver.Config{Secrets: []string{"whsec_c2hvcnQ="}}); err == nil {
		t.Fatal("a 5-byte key accepted")
	}
}
