package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Endpoints whose effects are counted, named as Calls names them.
const (
	EndpointEventCheckIn   = "POST /events/{id}/check-in"
	EndpointSessionCheckIn = "POST /sessions/{id}/check-in"
	EndpointContactPatch   = "PATCH /contacts/{id}"
)

// endpointAliases are the short names flags and the control endpoint accept.
var endpointAliases = map[string]string{
	"check-in":         EndpointEventCheckIn,
	"event-check-in":   EndpointEventCheckIn,
	"session-check-in": EndpointSessionCheckIn,
	"contact-patch":    EndpointContactPatch,
	"patch-contact":    EndpointContactPatch,
}

// After-effect actions: what goes wrong once the endpoint has acted.
const (
	// ActionDrop closes the connection without an answer.
	ActionDrop = "drop"
	// ActionDelay holds the answer for Delay (the client may give up first).
	ActionDelay = "delay"
	// Action500 answers 500 although the change was made.
	Action500 = "500"
	// ActionSlow holds the request for Delay before acting, then answers:
	// a client that gave up meanwhile still gets the change made. (Not an
	// after-effect strictly, but the same doubt for the client.)
	ActionSlow = "slow"
)

// AfterEffect is a fault that strikes after an endpoint acted: the change is
// made in the account, and then the answer is lost, late or a 500. These are
// the failures that leave a client unsure whether Cvent acted, unlike the
// Faults that answer before anything happens.
//
// Calls are numbered per endpoint from 1, counting only calls that acted (a
// 2xx answer from the endpoint: a 429 or 401 is not a call that acted), from
// the last SetFaults; a call held by ActionSlow takes its number when it
// arrives. A call matched by several rules takes the first.
type AfterEffect struct {
	// Endpoint as Calls names it ("POST /events/{id}/check-in"), or an
	// alias: check-in, session-check-in, contact-patch.
	Endpoint string
	// Every strikes every Nth acting call (3: calls 3, 6, 9, ...).
	Every int
	// Calls strikes these call numbers.
	Calls []int
	// Action is ActionDrop, ActionDelay or Action500.
	Action string
	// Delay is how long ActionDelay holds the answer.
	Delay time.Duration
}

type afterEffectJSON struct {
	Endpoint string `json:"endpoint"`
	Every    int    `json:"every,omitempty"`
	Calls    []int  `json:"calls,omitempty"`
	Action   string `json:"action"`
	Delay    string `json:"delay,omitempty"` // Go duration, "70s"
}

// MarshalJSON writes Delay as a duration string.
func (a AfterEffect) MarshalJSON() ([]byte, error) {
	j := afterEffectJSON{Endpoint: a.Endpoint, Every: a.Every, Calls: a.Calls, Action: a.Action}
	if a.Delay > 0 {
		j.Delay = a.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the control endpoint's form and checks it.
func (a *AfterEffect) UnmarshalJSON(b []byte) error {
	var j afterEffectJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*a = AfterEffect{Endpoint: j.Endpoint, Every: j.Every, Calls: j.Calls, Action: j.Action}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("delay: %w", err)
		}
		a.Delay = d
	}
	return a.normalize()
}

// normalize resolves the endpoint alias and checks the rule.
func (a *AfterEffect) normalize() error {
	if full, ok := endpointAliases[strings.ToLower(a.Endpoint)]; ok {
		a.Endpoint = full
	}
	if a.Endpoint == "" {
		return fmt.Errorf("after-effect: endpoint is required")
	}
	switch a.Action {
	case ActionDrop, Action500:
	case ActionDelay, ActionSlow:
		if a.Delay <= 0 {
			return fmt.Errorf("after-effect on %s: delay needs a duration", a.Endpoint)
		}
	default:
		return fmt.Errorf("after-effect on %s: action %q is not drop, delay, 500 or slow", a.Endpoint, a.Action)
	}
	if a.Every <= 0 && len(a.Calls) == 0 {
		return fmt.Errorf("after-effect on %s: give every=N or calls", a.Endpoint)
	}
	return nil
}

func (a AfterEffect) strikes(n int) bool {
	return (a.Every > 0 && n%a.Every == 0) || slices.Contains(a.Calls, n)
}

// ParseAfterEffect reads the flag form "ENDPOINT,every=N,ACTION": ENDPOINT
// as Calls names it or an alias (check-in, session-check-in,
// contact-patch), calls=1+4+9 instead of every=N, and ACTION one of drop,
// 500, delay=70s (act, answer after 70 s), slow=10s (act after 10 s).
// Example: "check-in,every=5,delay=70s".
func ParseAfterEffect(s string) (AfterEffect, error) {
	parts := strings.Split(s, ",")
	a := AfterEffect{Endpoint: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "every":
			n, err := strconv.Atoi(v)
			if err != nil {
				return a, fmt.Errorf("after-effect %q: every: %w", s, err)
			}
			a.Every = n
		case "calls":
			for _, c := range strings.Split(v, "+") {
				n, err := strconv.Atoi(c)
				if err != nil {
					return a, fmt.Errorf("after-effect %q: calls: %w", s, err)
				}
				a.Calls = append(a.Calls, n)
			}
		case ActionDrop, Action500:
			a.Action = k
		case ActionDelay, ActionSlow:
			d, err := time.ParseDuration(v)
			if err != nil {
				return a, fmt.Errorf("after-effect %q: %s: %w", s, k, err)
			}
			a.Action, a.Delay = k, d
		default:
			return a, fmt.Errorf("after-effect %q: unknown part %q", s, p)
		}
	}
	if err := a.normalize(); err != nil {
		return a, err
	}
	return a, nil
}

// AfterEffectStats counts, per endpoint, what the after-effect faults did.
type AfterEffectStats struct {
	Calls     int `json:"calls"`     // calls that acted, since the faults were last set
	Dropped   int `json:"dropped"`   // acted, then the connection was dropped
	Delayed   int `json:"delayed"`   // acted, then the answer was held
	Abandoned int `json:"abandoned"` // of the held ones: the client hung up before the answer
	Failed    int `json:"failed"`    // acted, then answered 500
	Slowed    int `json:"slowed"`    // held before acting (ActionSlow)
	Held      int `json:"held"`      // requests held right now (delay or slow): calls in flight at the client
}

// AfterEffects returns the after-effect counts per endpoint.
func (s *Simulator) AfterEffects() map[string]AfterEffectStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]AfterEffectStats, len(s.aeStats))
	for k, v := range s.aeStats {
		out[k] = *v
	}
	return out
}

// Effects returns how many times an endpoint changed each thing it acts on:
// per attendee id for EndpointEventCheckIn, per "session/attendee" for
// EndpointSessionCheckIn, per contact id for EndpointContactPatch. A count
// above one is a write Cvent received twice.
func (s *Simulator) Effects(endpoint string) map[string]int {
	if full, ok := endpointAliases[endpoint]; ok {
		endpoint = full
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.effects[endpoint]))
	for k, v := range s.effects[endpoint] {
		out[k] = v
	}
	return out
}

// effect records one change by endpoint to key; the caller holds s.mu.
func (s *Simulator) effect(endpoint, key string) {
	m := s.effects[endpoint]
	if m == nil {
		m = map[string]int{}
		s.effects[endpoint] = m
	}
	m[key]++
}

func (s *Simulator) statsOf(endpoint string) *AfterEffectStats {
	st := s.aeStats[endpoint]
	if st == nil {
		st = &AfterEffectStats{}
		s.aeStats[endpoint] = st
	}
	return st
}

// afterEffects serves next and, when a rule strikes a call that acted,
// spoils its answer. mux names the endpoint of a request.
func (s *Simulator) afterEffects(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		rules := s.faults.AfterEffects
		s.mu.Unlock()
		if len(rules) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		_, pattern := mux.Handler(r)
		endpoint := strings.Replace(pattern, " /ea/", " /", 1)
		var rule *AfterEffect
		for i := range rules {
			if rules[i].Endpoint == endpoint {
				rule = &rules[i]
				break
			}
		}
		if rule == nil {
			next.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		st := s.statsOf(endpoint)
		// A slow rule strikes before the endpoint acts: the call takes its
		// number when it arrives, so calls arriving while it is held are
		// numbered after it.
		var slow *AfterEffect
		for i := range rules {
			if rules[i].Endpoint == endpoint && rules[i].Action == ActionSlow && rules[i].strikes(s.aeCalls[endpoint]+1) {
				slow = &rules[i]
				s.aeCalls[endpoint]++
				st.Calls++
				st.Slowed++
				st.Held++
				break
			}
		}
		s.mu.Unlock()
		if slow != nil {
			// Read the request now: the client may hang up while it is held,
			// and Cvent still acts on what it received.
			body, _ := readAll(r)
			r = r.WithContext(context.WithoutCancel(r.Context()))
			r.Body = nopCloser(body)
			time.Sleep(slow.Delay)
			s.mu.Lock()
			st.Held--
			s.mu.Unlock()
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		s.mu.Lock()
		var strike *AfterEffect
		if slow == nil && rec.Code >= 200 && rec.Code < 300 {
			s.aeCalls[endpoint]++
			n := s.aeCalls[endpoint]
			st.Calls++
			for i := range rules {
				if rules[i].Endpoint == endpoint && rules[i].Action != ActionSlow && rules[i].strikes(n) {
					strike = &rules[i]
					break
				}
			}
		}
		if strike != nil {
			switch strike.Action {
			case ActionDrop:
				st.Dropped++
			case Action500:
				st.Failed++
			case ActionDelay:
				st.Delayed++
				st.Held++
			}
		}
		s.mu.Unlock()
		switch {
		case strike == nil:
			copyAnswer(w, rec)
		case strike.Action == ActionDrop:
			// Nothing was written: aborting closes the connection, and the
			// client sees it end without an answer.
			panic(http.ErrAbortHandler)
		case strike.Action == Action500:
			cventError(w, http.StatusInternalServerError, "Internal Server Error", "")
		case strike.Action == ActionDelay:
			t := time.NewTimer(strike.Delay)
			defer t.Stop()
			select {
			case <-t.C:
				s.mu.Lock()
				st.Held--
				s.mu.Unlock()
				copyAnswer(w, rec)
			case <-r.Context().Done():
				s.mu.Lock()
				st.Held--
				st.Abandoned++
				s.mu.Unlock()
			}
		}
	})
}

func copyAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// FaultsJSON is the control endpoint's form of Faults; durations are Go
// duration strings ("2s").
type FaultsJSON struct {
	ErrorRate          float64       `json:"errorRate,omitempty"`
	Latency            string        `json:"latency,omitempty"`
	ExpireTokens       bool          `json:"expireTokens,omitempty"`
	RepeatPage         bool          `json:"repeatPage,omitempty"`
	TooManyRequests    int           `json:"tooManyRequests,omitempty"`
	TooManyRequestsFor string        `json:"tooManyRequestsFor,omitempty"`
	TokenLifetime      string        `json:"tokenLifetime,omitempty"`
	LimitExceeded      bool          `json:"limitExceeded,omitempty"`
	AfterEffects       []AfterEffect `json:"afterEffects,omitempty"`
}

// Faults converts the control form.
func (j FaultsJSON) Faults() (Faults, error) {
	f := Faults{ErrorRate: j.ErrorRate, ExpireTokens: j.ExpireTokens, RepeatPage: j.RepeatPage,
		TooManyRequests: j.TooManyRequests, LimitExceeded: j.LimitExceeded, AfterEffects: j.AfterEffects}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"latency", j.Latency, &f.Latency}, {"tooManyRequestsFor", j.TooManyRequestsFor, &f.TooManyRequestsFor},
		{"tokenLifetime", j.TokenLifetime, &f.TokenLifetime}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return f, fmt.Errorf("%s: %w", d.name, err)
		}
		*d.out = v
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return f, fmt.Errorf("errorRate must be from 0 to 1")
	}
	return f, nil
}

// control serves /_sim/: POST /_sim/faults replaces the faults with a
// FaultsJSON body ({} clears them); GET /_sim/faults shows them; GET
// /_sim/stats shows calls per endpoint, after-effect counts, effects counted
// more than once and 429s. It is not part of Cvent's API.
func (s *Simulator) control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var j FaultsJSON
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f, err := j.Faults()
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.faultsJSON())
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.faultsJSON())
	})
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		repeated := map[string]map[string]int{}
		counts := map[string]int{}
		for _, e := range []string{EndpointEventCheckIn, EndpointSessionCheckIn, EndpointContactPatch} {
			eff := s.Effects(e)
			counts[e] = len(eff)
			for k, n := range eff {
				if n > 1 {
					if repeated[e] == nil {
						repeated[e] = map[string]int{}
					}
					repeated[e][k] = n
				}
			}
		}
		tmr, le := s.RateLimited()
		writeJSON(w, http.StatusOK, map[string]any{"calls": s.Calls(), "afterEffects": s.AfterEffects(),
			"effectTargets": counts, "repeatedEffects": repeated,
			"tooManyRequests": tmr, "limitExceeded": le})
	})
	return mux
}

func (s *Simulator) faultsJSON() FaultsJSON {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	j := FaultsJSON{ErrorRate: f.ErrorRate, RepeatPage: f.RepeatPage, TooManyRequests: f.TooManyRequests,
		LimitExceeded: f.LimitExceeded, AfterEffects: f.AfterEffects}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	if f.TooManyRequestsFor > 0 {
		j.TooManyRequestsFor = f.TooManyRequestsFor.String()
	}
	if f.TokenLifetime > 0 {
		j.TokenLifetime = f.TokenLifetime.String()
	}
	return j
}
