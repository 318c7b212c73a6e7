package cvent

import (
	"sync"

	"golang.org/x/time/rate"
)

// Tiers are Cvent's published usage tiers.
var Tiers = map[string]UsageTier{
	"Free":     {Name: "Free", Quota: 1000, RateLimit: 2, BurstLimit: 1},
	"Standard": {Name: "Standard", Quota: 15000, RateLimit: 10, BurstLimit: 10},
	"Premium":  {Name: "Premium", Quota: 500000, RateLimit: 25, BurstLimit: 25},
}

// Limiters hands out one limiter per Cvent account, shared by every client
// and activity in the process, so that cventsync paces itself below Cvent's
// per-second limit instead of discovering it through 429s.
type Limiters struct {
	mu  sync.Mutex
	all map[string]*rate.Limiter
	// Default is the tier assumed before an account's real tier is known;
	// Standard when zero.
	Default UsageTier
}

// For returns the account's limiter, creating it at the default tier.
func (l *Limiters) For(clientID string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all == nil {
		l.all = map[string]*rate.Limiter{}
	}
	if lim, ok := l.all[clientID]; ok {
		return lim
	}
	t := l.Default
	if t.RateLimit == 0 {
		t = Tiers["Standard"]
	}
	r, burst := paced(t)
	lim := rate.NewLimiter(r, burst)
	l.all[clientID] = lim
	return lim
}

// Margin is the share of the tier's rate cventsync uses. Calls leave at
// the limiter's pace but reach Cvent with network jitter; running a little
// under the limit (and one under the burst) keeps a jittered pair of calls
// from meeting an empty bucket at Cvent.
const Margin = 0.9

func paced(t UsageTier) (rate.Limit, int) {
	return rate.Limit(t.RateLimit * Margin), max(1, int(t.BurstLimit)-1)
}

// Apply resizes an account's limiter to its real tier (from GetUsageTier).
func (l *Limiters) Apply(clientID string, t UsageTier) {
	if t.RateLimit <= 0 {
		return
	}
	lim := l.For(clientID)
	r, burst := paced(t)
	lim.SetLimit(r)
	lim.SetBurst(burst)
}
