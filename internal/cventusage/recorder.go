package cventusage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/store"
)

// Store is where the counts go (*store.Store).
type Store interface {
	AddCventCalls(ctx context.Context, counts []store.CventCalls) error
	SaveCventTier(ctx context.Context, account string, t store.CventTier) error
}

// DefaultFlushEvery is how often a Recorder adds its counts to the database.
const DefaultFlushEvery = time.Second

// Recorder counts calls in memory and adds them to the database every
// FlushEvery, one upsert per account and day (all in one statement), and
// once more when it is closed. Counting never waits on the database, so a
// slow or unreachable database cannot slow or fail a Cvent call: counts
// wait in memory until a flush succeeds. A process that dies without
// closing loses at most its last second of counts.
//
// It implements cvent.CallCounter.
type Recorder struct {
	st         Store
	log        *slog.Logger
	flushEvery time.Duration
	now        func() time.Time

	mu      sync.Mutex
	pending map[key]int64
	failing bool // the last flush failed (logged once per streak)

	stop    chan struct{}
	done    chan struct{}
	started sync.Once
	stopped sync.Once
}

type key struct {
	account string
	day     time.Time
}

// Options configure a Recorder.
type Options struct {
	// FlushEvery is how often counts are added to the database;
	// DefaultFlushEvery when zero.
	FlushEvery time.Duration
	Logger     *slog.Logger
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

// NewRecorder makes a Recorder; Start runs its flushes.
func NewRecorder(st Store, opts Options) *Recorder {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = DefaultFlushEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Recorder{st: st, log: opts.Logger, flushEvery: opts.FlushEvery, now: opts.Now,
		pending: map[key]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
}

var _ cvent.CallCounter = (*Recorder)(nil)

// CountCall counts one call to the account, on today's UTC day.
func (r *Recorder) CountCall(clientID string) {
	k := key{account: clientID, day: Today(r.now())}
	r.mu.Lock()
	r.pending[k]++
	r.mu.Unlock()
}

// Start flushes every FlushEvery until Close.
func (r *Recorder) Start() {
	r.started.Do(func() { go r.run() })
}

func (r *Recorder) run() {
	defer close(r.done)
	t := time.NewTicker(r.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = r.Flush(ctx)
			cancel()
		}
	}
}

// Close stops the flushes and adds what is left.
func (r *Recorder) Close() error {
	r.started.Do(func() { close(r.done) }) // never started: nothing to wait for
	r.stopped.Do(func() { close(r.stop) })
	<-r.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Flush(ctx)
}

// Flush adds the counts so far to the database. On failure they stay
// pending, added to by later calls, and go with the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	if len(r.pending) == 0 {
		r.mu.Unlock()
		return nil
	}
	taken := r.pending
	r.pending = map[key]int64{}
	r.mu.Unlock()
	counts := make([]store.CventCalls, 0, len(taken))
	for k, n := range taken {
		counts = append(counts, store.CventCalls{Account: k.account, Day: k.day, Calls: n})
	}
	err := r.st.AddCventCalls(ctx, counts)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		for k, n := range taken {
			r.pending[k] += n
		}
		if !r.failing {
			r.log.Warn("cannot add Cvent call counts to the database; keeping them in memory", "error", err)
		}
		r.failing = true
		return err
	}
	if r.failing {
		r.log.Info("Cvent call counts reach the database again")
	}
	r.failing = false
	return nil
}

// SaveTier records the account's usage tier (from GET /usage/tier), whose
// quota the count is read against.
func (r *Recorder) SaveTier(ctx context.Context, clientID string, t cvent.UsageTier) error {
	return r.st.SaveCventTier(ctx, clientID, store.CventTier{Name: t.Name, Quota: int64(t.Quota),
		RateLimit: t.RateLimit, BurstLimit: t.BurstLimit})
}
