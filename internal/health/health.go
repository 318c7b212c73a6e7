// Package health answers the liveness and readiness probes of gateway and
// worker: /livez (the process serves HTTP) and /readyz (PostgreSQL answers
// with every migration applied, and Temporal answers). /healthz stays the
// old always-ok answer that scripts and tests wait on.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// Database is what readiness asks of the store (*store.Store).
type Database interface {
	Ping(ctx context.Context) error
	MigrationsPending(ctx context.Context) (bool, error)
}

// Checks runs the readiness checks.
type Checks struct {
	Database Database
	Temporal client.Client
	// Timeout bounds each check; 2 s when zero.
	Timeout time.Duration

	// migrated is set once no migration was pending: a running binary's
	// migrations cannot become pending again.
	migrated atomic.Bool
}

// Report is the /readyz answer.
type Report struct {
	Status string            `json:"status"` // ready | not ready
	Checks map[string]string `json:"checks"` // name → ok or the error
}

// Ready runs every check at once and reports each.
func (c *Checks) Ready(ctx context.Context) (*Report, bool) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := &Report{Status: "ready", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	run := func(name string, check func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.Checks[name] = err.Error()
				rep.Status = "not ready"
			} else {
				rep.Checks[name] = "ok"
			}
		}()
	}
	if c.Database != nil {
		run("database", c.Database.Ping)
		run("migrations", c.migrations)
	}
	if c.Temporal != nil {
		run("temporal", func(ctx context.Context) error {
			if _, err := c.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				return errors.New("temporal: " + err.Error())
			}
			return nil
		})
	}
	wg.Wait()
	return rep, rep.Status == "ready"
}

func (c *Checks) migrations(ctx context.Context) error {
	if c.migrated.Load() {
		return nil
	}
	pending, err := c.Database.MigrationsPending(ctx)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("migrations pending: run cventsync migrate")
	}
	c.migrated.Store(true)
	return nil
}

// Livez answers 200 while the process serves HTTP.
func Livez(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

// Readyz answers 200 when every check passes, 503 naming the failed ones.
func (c *Checks) Readyz(w http.ResponseWriter, r *http.Request) {
	rep, ok := c.Ready(r.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rep)
}

// Healthz is the old probe: ok while the process serves HTTP.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
