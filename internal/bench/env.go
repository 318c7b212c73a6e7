// Package bench measures cventsync end to end on one machine: a real
// PostgreSQL, a real Temporal dev server, the gateway and the worker as
// separate processes, and the Cvent side played by the benchmark itself. It
// backs `cventsync bench` and writes BENCHMARKS.md.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// Env is everything a scenario runs against.
type Env struct {
	Dir        string
	Postgres   *devenv.Postgres
	Temporal   *devenv.Temporal
	Store      *store.Store
	BaseURL    string
	AdminToken string
	Gateway    *exec.Cmd
	Worker     *exec.Cmd
	HTTP       *http.Client
	log        *slog.Logger
	// temporalPID is the Temporal server's process, found at the first CPU sample.
	temporalPID int
}

// Options configure the environment.
type Options struct {
	Binary      string // the cventsync binary; "" = this executable
	TemporalBin string
	Logger      *slog.Logger
	ExtraEnv    []string
}

// Start brings up PostgreSQL, Temporal, the worker and the gateway.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	log := opts.Logger
	dir, err := os.MkdirTemp("", "cventsync-bench-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, AdminToken: secret.NewToken(), log: log,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	// Durable settings, as a user runs it: fsync stays on.
	if e.Postgres, err = devenv.StartPostgres(ctx, devenv.PostgresOptions{Dir: filepath.Join(dir, "pg"), Logger: log}); err != nil {
		return nil, err
	}
	bin := opts.TemporalBin
	if bin == "" {
		if bin, err = devenv.FindTemporalBinary(); err != nil {
			return nil, err
		}
	}
	if e.Temporal, err = devenv.StartTemporal(ctx, devenv.TemporalOptions{
		Binary: bin, DBFile: filepath.Join(dir, "temporal.db"), UIPort: -1,
		SearchAttributes: searchattr.Definitions(), LogFile: filepath.Join(dir, "temporal.log"), Logger: log,
	}); err != nil {
		return nil, err
	}
	if e.Store, err = store.Open(ctx, e.Postgres.URL); err != nil {
		return nil, err
	}
	if err = e.Store.Migrate(ctx); err != nil {
		return nil, err
	}
	self := opts.Binary
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	port, err := devenv.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := append(os.Environ(),
		"DATABASE_URL="+e.Postgres.URL, "TEMPORAL_ADDRESS="+e.Temporal.Address,
		"CVENTSYNC_ADMIN_TOKEN="+e.AdminToken, "CVENTSYNC_HTTP_ADDR="+addr,
		"CVENTSYNC_SECRET_KEY="+secret.NewKey(), "CVENTSYNC_LOG_LEVEL=warn", "CVENTSYNC_WORKER_HTTP_ADDR=127.0.0.1:0")
	env = append(env, opts.ExtraEnv...)
	start := func(role string) (*exec.Cmd, error) {
		cmd := exec.Command(self, role)
		cmd.Env = env
		logf, err := os.Create(filepath.Join(dir, role+".log"))
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", role, err)
		}
		return cmd, nil
	}
	if e.Worker, err = start("worker"); err != nil {
		return nil, err
	}
	if e.Gateway, err = start("gateway"); err != nil {
		return nil, err
	}
	e.BaseURL = "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := e.HTTP.Get(e.BaseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gateway did not come up: %w (see %s)", err, filepath.Join(dir, "gateway.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return e, nil
}

// Stop ends every process and removes the data.
func (e *Env) Stop() {
	for _, cmd := range []*exec.Cmd{e.Gateway, e.Worker} {
		if cmd != nil && cmd.Process != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _, _ = cmd.Process.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
	}
	if e.Store != nil {
		e.Store.Close()
	}
	if e.Temporal != nil {
		_ = e.Temporal.Stop()
	}
	if e.Postgres != nil {
		_ = e.Postgres.Stop(context.Background())
	}
	if os.Getenv("CVENTSYNC_BENCH_KEEP") == "" {
		_ = os.RemoveAll(e.Dir)
	}
}

// RSS returns the resident set size of a process in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, r)
	r.Close()
}
