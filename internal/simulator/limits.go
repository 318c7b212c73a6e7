package simulator

import (
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// limiter enforces the tier like Cvent: a per-second token bucket with a
// burst, and a daily quota that resets at 00:00 UTC.
type limiter struct {
	tier   Tier
	bucket *rate.Limiter
	day    string
	used   int
	now    func() time.Time
}

func newLimiter(t Tier, now func() time.Time) *limiter {
	return &limiter{tier: t, bucket: rate.NewLimiter(rate.Limit(t.PerSecond), max(1, t.Burst)), now: now}
}

// take answers "" when the call may go ahead, or the 429 message.
func (l *limiter) take() string {
	now := l.now().UTC()
	if d := now.Format("2006-01-02"); d != l.day {
		l.day, l.used = d, 0
	}
	if l.tier.PerDay > 0 && l.used >= l.tier.PerDay {
		return "Limit Exceeded"
	}
	if !l.bucket.AllowN(now, 1) {
		return "Too Many Requests"
	}
	l.used++
	return ""
}

func (l *limiter) resetDay() { l.used = 0 }

// Faults are injected failures; set them with SetFaults at any time.
type Faults struct {
	// ErrorRate is the share (0–1) of API calls answered 500/502/503 at random.
	ErrorRate float64
	// Latency is added to every answer.
	Latency time.Duration
	// ExpireTokens makes every token issued so far invalid (early expiry):
	// the next call with one gets 401.
	ExpireTokens bool
	// RepeatPage makes list endpoints hand back the current token as the next
	// one, once, so a client that does not guard against it loops.
	RepeatPage bool
	// TooManyRequests answers the next N calls with 429 "Too Many Requests".
	TooManyRequests int
	// TooManyRequestsFor answers every call with 429 "Too Many Requests"
	// for this long from SetFaults (a 429 storm).
	TooManyRequestsFor time.Duration
	// TokenLifetime makes tokens issued from now on stop working after this
	// long, while the token answer still announces the configured lifetime.
	TokenLifetime time.Duration
	// LimitExceeded answers every call with 429 "Limit Exceeded" while set.
	LimitExceeded bool
	// BreakResponses makes attendee answers carry a string for the boolean
	// guest and list answers lack the required paging object, to prove
	// the OpenAPI check catches a wrong shape.
	BreakResponses bool
	// AfterEffects make chosen calls of an endpoint act and then fail:
	// drop the connection, answer late, or answer 500 (see AfterEffect).
	AfterEffects []AfterEffect
}

// SetFaults replaces the injected faults. After-effect call numbers start
// again from 1. It panics on an after-effect rule that does not make sense
// (ParseAfterEffect and the control endpoint check rules first).
func (s *Simulator) SetFaults(f Faults) {
	f.AfterEffects = slices.Clone(f.AfterEffects)
	for i := range f.AfterEffects {
		if err := f.AfterEffects[i].normalize(); err != nil {
			panic(err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.aeCalls)
	if f.ExpireTokens {
		s.tokens = map[string]issued{}
		f.ExpireTokens = false
	}
	s.stormUntil = time.Time{}
	if f.TooManyRequestsFor > 0 {
		s.stormUntil = s.cfg.Now().Add(f.TooManyRequestsFor)
	}
	s.faults = f
}
