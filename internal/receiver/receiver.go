// Package receiver is the reference event-platform receiver: an http.Handler
// that plays "the event platform" for cventsync's tests and benchmark, and
// shows integrators what a correct receiver of cventsync's webhooks does.
//
// A correct receiver:
//
//  1. verifies the Standard Webhooks signature of the raw body before
//     anything else (here with the Standard Webhooks project's own library,
//     which also refuses timestamps more than 5 minutes off, against
//     replays), and answers 401 if it does not verify;
//  2. deduplicates by webhook-id: the sender retries until it sees a 2xx, so
//     the same message can arrive more than once; a repeat is answered 200
//     and not applied again;
//  3. applies changes by per-key sequence: each change carries the
//     integration's seq, and a change older than the one already applied for
//     its key is stale and must not overwrite it;
//  4. answers quickly (2xx), leaving slow work for later.
//
// The body is {"type", "timestamp", "data"}; data is one change object, or
// for type "batch" {"changes": [...]}. A change has seq, type, key, at and
// record (the key's whole current record); other fields are ignored.
//
// For tests the Receiver counts what it saw (Stats), keeps the latest record
// and the seqs in arrival order per key (Record, Last, Seqs), lets a test
// wait for a condition (WaitFor), can be taken Down (503) and Up again, and
// calls an optional hook per change with its arrival time (latency).
package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cventsync/cventsync/internal/whsign"
)

// DefaultMaxBodyBytes bounds a request body unless Config says otherwise.
const DefaultMaxBodyBytes = 4 << 20

// Config configures a Receiver.
type Config struct {
	// Secrets verify requests; a request is accepted if it verifies with any
	// of them (a receiver in the middle of a secret rotation knows both).
	// With or without the whsec_ prefix.
	Secrets []string
	// OnChange, if set, is called for every change of every first delivery,
	// after it is applied and before the response is written. It runs
	// outside the Receiver's lock: it may call Stats or Record.
	OnChange func(Arrival)
	// MaxBodyBytes bounds a body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives a Debug line per rejected request; nil means slog.Default().
	Logger *slog.Logger
}

// Change is one directory change as cventsync sends it.
type Change struct {
	Seq    int64           `json:"seq"`
	Type   string          `json:"type"`
	Key    string          `json:"key"`
	At     time.Time       `json:"at"`
	Record json.RawMessage `json:"record"`
}

// Arrival is a change as the receiver saw it arrive.
type Arrival struct {
	Change
	WebhookID string
	// Arrived is when the request reached the handler.
	Arrived time.Time
	// Outcome says what was done with the change.
	Outcome Outcome
}

// Outcome of a change against what was already applied for its key.
type Outcome int

// Outcomes.
const (
	// Applied: the seq is newer than any applied for the key; the record
	// is now the key's current one.
	Applied Outcome = iota
	// Repeated: the seq equals the last applied one for the key (the same
	// change sent again under another webhook-id); nothing changes.
	Repeated
	// Stale: the seq is lower than the last applied one for the key: the
	// sender broke per-key ordering. Not applied, counted as an ordering
	// violation.
	Stale
)

func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case Repeated:
		return "repeated"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Stats counts what the receiver saw. Changes = Applied + Repeats +
// OrderViolations.
type Stats struct {
	Requests        int64 // every request, whatever the answer
	Deliveries      int64 // verified, well-formed, first-time messages (200)
	Duplicates      int64 // messages whose webhook-id was seen before (200, not applied)
	BadSignatures   int64 // 401
	BadBodies       int64 // 400 and 413: verified but not a valid message, or too large
	Unavailable     int64 // 503 while Down
	Changes         int64 // changes in Deliveries
	Applied         int64 // changes that became their key's current record
	Repeats         int64 // changes whose seq equals their key's last applied one
	OrderViolations int64 // changes whose seq is lower than their key's last applied one
}

type keyState struct {
	last    Change // the applied change with the highest seq
	applied bool
	seqs    []int64 // every seq seen for the key, in arrival order
}

// Receiver is the reference receiver; use it as an http.Handler.
type Receiver struct {
	verifiers []*standardwebhooks.Webhook
	onChange  func(Arrival)
	maxBody   int64
	log       *slog.Logger

	mu      sync.Mutex
	down    bool
	stats   Stats
	seen    map[string]bool // webhook-ids delivered; kept for the receiver's life, fine for tests
	keys    map[string]*keyState
	changed chan struct{} // closed and replaced on every change of state, for WaitFor
}

// New makes a Receiver that accepts requests signed with any of the secrets.
func New(cfg Config) (*Receiver, error) {
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("receiver: no webhook secret")
	}
	r := &Receiver{
		onChange: cfg.OnChange,
		maxBody:  cfg.MaxBodyBytes,
		log:      cfg.Logger,
		seen:     make(map[string]bool),
		keys:     make(map[string]*keyState),
		changed:  make(chan struct{}),
	}
	if r.maxBody <= 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	for i, s := range cfg.Secrets {
		// The library takes any base64; whsign also checks the key size.
		if err := whsign.ValidateSecret(s); err != nil {
			return nil, fmt.Errorf("receiver: secret %d: %w", i+1, err)
		}
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return nil, fmt.Errorf("receiver: secret %d: %w", i+1, err)
		}
		r.verifiers = append(r.verifiers, wh)
	}
	return r, nil
}

// ServeHTTP handles one webhook request.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	r.count(func(s *Stats) { s.Requests++ })

	if r.isDown() {
		r.count(func(s *Stats) { s.Unavailable++ })
		http.Error(w, "receiver is down", http.StatusServiceUnavailable)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		r.count(func(s *Stats) { s.BadBodies++ })
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			r.reject(w, http.StatusRequestEntityTooLarge, "body too large", err)
			return
		}
		r.reject(w, http.StatusBadRequest, "cannot read body", err)
		return
	}

	// Verify the raw bytes, before parsing: parsing and re-encoding would
	// change them, and nothing unauthenticated deserves parsing.
	if err := r.verify(body, req.Header); err != nil {
		r.count(func(s *Stats) { s.BadSignatures++ })
		r.reject(w, http.StatusUnauthorized, "bad signature", err)
		return
	}

	changes, err := decode(body)
	if err != nil {
		r.count(func(s *Stats) { s.BadBodies++ })
		r.reject(w, http.StatusBadRequest, "bad body", err)
		return
	}

	id := req.Header.Get(whsign.HeaderID) // present: the signature covers it
	arrivals, dup := r.apply(id, changes, arrived)
	if dup {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.onChange != nil {
		for _, a := range arrivals {
			r.onChange(a)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (r *Receiver) reject(w http.ResponseWriter, status int, msg string, err error) {
	r.log.Debug("receiver: request rejected", "status", status, "reason", msg, "err", err)
	http.Error(w, msg, status)
}

// verify accepts the request if any secret verifies it.
func (r *Receiver) verify(body []byte, h http.Header) error {
	var err error
	for _, wh := range r.verifiers {
		if err = wh.Verify(body, h); err == nil {
			return nil
		}
	}
	return err
}

// apply records a first delivery of id and applies its changes, or reports a
// duplicate. It holds the lock throughout, so concurrent deliveries of one
// id apply once and each key's seqs are in a single arrival order.
func (r *Receiver) apply(id string, changes []Change, arrived time.Time) ([]Arrival, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.notify()
	if r.seen[id] {
		r.stats.Duplicates++
		return nil, true
	}
	r.seen[id] = true
	r.stats.Deliveries++
	arrivals := make([]Arrival, 0, len(changes))
	for _, c := range changes {
		r.stats.Changes++
		ks := r.keys[c.Key]
		if ks == nil {
			ks = &keyState{}
			r.keys[c.Key] = ks
		}
		ks.seqs = append(ks.seqs, c.Seq)
		var out Outcome
		switch {
		case !ks.applied || c.Seq > ks.last.Seq:
			out = Applied
			ks.last, ks.applied = c, true
			r.stats.Applied++
		case c.Seq == ks.last.Seq:
			out = Repeated
			r.stats.Repeats++
		default:
			out = Stale
			r.stats.OrderViolations++
		}
		arrivals = append(arrivals, Arrival{Change: c, WebhookID: id, Arrived: arrived, Outcome: out})
	}
	return arrivals, false
}

// envelope is the Standard Webhooks payload shape.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp json.RawMessage `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// wireChange has Seq as a pointer to tell a missing seq from seq 0.
type wireChange struct {
	Seq    *int64          `json:"seq"`
	Type   string          `json:"type"`
	Key    string          `json:"key"`
	At     time.Time       `json:"at"`
	Record json.RawMessage `json:"record"`
}

// decode parses a body into its changes, in order. Unknown fields are
// ignored: the sender may add some without breaking receivers.
func decode(body []byte) ([]Change, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if env.Type == "" {
		return nil, errors.New("body: no type")
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil, errors.New("body: no data")
	}
	var wire []wireChange
	if env.Type == "batch" {
		var b struct {
			Changes []wireChange `json:"changes"`
		}
		if err := json.Unmarshal(env.Data, &b); err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
		if len(b.Changes) == 0 {
			return nil, errors.New("batch: no changes")
		}
		wire = b.Changes
	} else {
		var c wireChange
		if err := json.Unmarshal(env.Data, &c); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		if c.Type == "" {
			c.Type = env.Type
		}
		wire = []wireChange{c}
	}
	changes := make([]Change, len(wire))
	for i, c := range wire {
		if c.Seq == nil {
			return nil, fmt.Errorf("change %d: no seq", i)
		}
		if c.Key == "" {
			return nil, fmt.Errorf("change %d: no key", i)
		}
		if c.Type == "" {
			return nil, fmt.Errorf("change %d: no type", i)
		}
		changes[i] = Change{Seq: *c.Seq, Type: c.Type, Key: c.Key, At: c.At, Record: c.Record}
	}
	return changes, nil
}

func (r *Receiver) count(f func(*Stats)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.stats)
	r.notify()
}

// notify wakes WaitFor; r.mu is held.
func (r *Receiver) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Receiver) isDown() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}

// Down makes the receiver answer 503 to every request until Up: an outage.
func (r *Receiver) Down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = true
	r.notify()
}

// Up ends an outage begun by Down.
func (r *Receiver) Up() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = false
	r.notify()
}

// Stats returns the counts so far.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Record returns the current record of key: that of the applied change with
// the highest seq.
func (r *Receiver) Record(key string) (json.RawMessage, bool) {
	c, ok := r.Last(key)
	return c.Record, ok
}

// Last returns the applied change with the highest seq for key.
func (r *Receiver) Last(key string) (Change, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ks := r.keys[key]
	if ks == nil || !ks.applied {
		return Change{}, false
	}
	c := ks.last
	c.Record = slices.Clone(c.Record)
	return c, true
}

// Seqs returns every seq received for key, in arrival order (stale and
// repeated ones included; duplicate deliveries not).
func (r *Receiver) Seqs(key string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ks := r.keys[key]; ks != nil {
		return slices.Clone(ks.seqs)
	}
	return nil
}

// Keys returns the keys that received changes, sorted.
func (r *Receiver) Keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.keys))
	for k := range r.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// WaitFor blocks until cond holds for the Stats, or ctx ends; it checks
// after every request and state change, so tests need not sleep. cond runs
// outside the lock: it may call Record, Last or Seqs for a finer condition.
func (r *Receiver) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		r.mu.Lock()
		s, ch := r.stats, r.changed
		r.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("receiver: condition not met, stats %+v: %w", s, ctx.Err())
		}
	}
}
