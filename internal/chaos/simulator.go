package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/simulator"
)

// Simulator is a simulated Cvent account served by `cventsync simulate` in
// a process of its own. Faults are set and effects read over its control
// endpoint (/_sim/), as a user of `cventsync simulate` would.
type Simulator struct {
	URL          string // base, without /ea
	ClientID     string
	ClientSecret string
	EventID      string
	Proc         *Process
	http         *http.Client
}

// SimulatorOptions configure StartSimulator.
type SimulatorOptions struct {
	Attendees int
	Seed      uint64
	Tier      string
}

// StartSimulator starts `cventsync simulate` on a free port and reads the
// account's credentials from what it prints.
func (c *Cluster) StartSimulator(ctx context.Context, opts SimulatorOptions) (*Simulator, error) {
	port, err := devenv.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c.mu.Lock()
	c.started++
	name := fmt.Sprintf("simulate-%d", c.started)
	c.mu.Unlock()
	cmd := exec.Command(c.Binary, "simulate", "--addr", addr, "--attendees", strconv.Itoa(opts.Attendees),
		"--seed", strconv.FormatUint(opts.Seed, 10), "--tier", opts.Tier, "--log-level", "warn")
	// Started away from the repository, it finds no ../shared/cvent/openapi.yaml
	// and checks no traffic against it: the chaos suite measures cventsync,
	// not the spec validator (the gateway tests check conformance).
	cmd.Dir = c.Dir
	cmd.Env = os.Environ()
	cmd.SysProcAttr = procAttr()
	logPath := filepath.Join(c.Dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.processLogs = append(c.processLogs, logf)
	c.mu.Unlock()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	p := &Process{Role: "simulate", Name: name, Cmd: cmd, URL: "http://" + addr, Log: logPath, done: make(chan struct{})}
	s := &Simulator{URL: p.URL, Proc: p, http: &http.Client{Timeout: 30 * time.Second}}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			fields := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "  Client id"):
				s.ClientID = fields[len(fields)-1]
			case strings.HasPrefix(line, "  Client secret"):
				s.ClientSecret = fields[len(fields)-1]
			case strings.HasPrefix(line, "  Event id"):
				s.EventID = fields[len(fields)-1]
			case strings.HasPrefix(line, "Connect an integration") && !announced:
				announced = true
				close(ready)
			}
		}
		if !announced {
			close(ready)
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		p.Kill()
		return nil, fmt.Errorf("simulator did not start: see %s", logPath)
	}
	if s.ClientID == "" || s.ClientSecret == "" || s.EventID == "" {
		p.Kill()
		return nil, fmt.Errorf("simulator printed no credentials: see %s", logPath)
	}
	return s, nil
}

// BaseURL is the REST API's base for an integration's settings.
func (s *Simulator) BaseURL() string { return s.URL + "/ea" }

// Stop ends the simulator.
func (s *Simulator) Stop() { s.Proc.Kill() }

// SetFaults replaces the simulator's faults ({} clears them). Call numbers
// of after-effect rules start again from 1.
func (s *Simulator) SetFaults(f simulator.FaultsJSON) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	resp, err := s.http.Post(s.URL+"/_sim/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("set faults: %d %s", resp.StatusCode, msg)
	}
	return nil
}

// SimStats is what GET /_sim/stats answers.
type SimStats struct {
	Calls           map[string]int                        `json:"calls"`
	AfterEffects    map[string]simulator.AfterEffectStats `json:"afterEffects"`
	EffectTargets   map[string]int                        `json:"effectTargets"`
	RepeatedEffects map[string]map[string]int             `json:"repeatedEffects"`
	TooManyRequests int                                   `json:"tooManyRequests"`
	LimitExceeded   int                                   `json:"limitExceeded"`
}

// Stats reads the simulator's counts.
func (s *Simulator) Stats() (*SimStats, error) {
	resp, err := s.http.Get(s.URL + "/_sim/stats")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stats: %d", resp.StatusCode)
	}
	var st SimStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, err
	}
	return &st, nil
}
