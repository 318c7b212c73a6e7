// Package chaos runs cventsync as in production, each gateway and worker a
// process of its own on shared PostgreSQL and Temporal, so that tests can
// kill them in the middle of work and check that nothing is lost or applied
// twice. Topology adds the servers themselves (PostgreSQL, the Temporal dev
// server, a simulated Cvent), on private ports, so that scenarios can stop
// and restart those too; Report is the account each scenario gives.
package chaos

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cventsync/cventsync/internal/devenv"
)

// Cluster is a set of cventsync processes sharing one database and one
// Temporal task queue.
type Cluster struct {
	Binary      string
	Dir         string
	Env         []string
	DatabaseURL string
	AdminToken  string
	HTTP        *http.Client

	mu          sync.Mutex
	Gateways    []*Process
	Workers     []*Process
	started     int
	processLogs []*os.File
}

// Process is one gateway or worker.
type Process struct {
	Role string
	// Name is the role and a number ("gateway-3"), also the process's
	// application_name in PostgreSQL (pg_stat_activity).
	Name string
	Cmd  *exec.Cmd
	// URL is a gateway's base URL, or a worker's metrics and health listener.
	URL  string
	Log  string
	done chan struct{}
}

// Options describe the cluster.
type Options struct {
	Binary       string // the cventsync binary
	Dir          string // logs
	DatabaseURL  string
	TemporalAddr string
	TaskQueue    string
	AdminToken   string
	SecretKey    string
	ExtraEnv     []string
}

// New prepares a cluster; start processes with StartGateway and StartWorker.
func New(opts Options) *Cluster {
	env := append(os.Environ(),
		"DATABASE_URL="+opts.DatabaseURL, "TEMPORAL_ADDRESS="+opts.TemporalAddr,
		"CVENTSYNC_TASK_QUEUE="+opts.TaskQueue, "CVENTSYNC_ADMIN_TOKEN="+opts.AdminToken,
		"CVENTSYNC_SECRET_KEY="+opts.SecretKey, "CVENTSYNC_LOG_LEVEL=warn")
	env = append(env, opts.ExtraEnv...)
	return &Cluster{Binary: opts.Binary, Dir: opts.Dir, Env: env, DatabaseURL: opts.DatabaseURL, AdminToken: opts.AdminToken,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// withAppName sets application_name on a PostgreSQL URL, so a process's
// connections can be told apart in pg_stat_activity.
func withAppName(dbURL, name string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func (c *Cluster) start(role string, extraEnv ...string) (*Process, error) {
	c.mu.Lock()
	c.started++
	name := fmt.Sprintf("%s-%d", role, c.started)
	c.mu.Unlock()
	cmd := exec.Command(c.Binary, role)
	// Later entries win: each process names itself to PostgreSQL.
	cmd.Env = append(append(append([]string{}, c.Env...), "DATABASE_URL="+withAppName(c.DatabaseURL, "cventsync-"+name)), extraEnv...)
	logPath := filepath.Join(c.Dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.processLogs = append(c.processLogs, logf)
	c.mu.Unlock()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", role, err)
	}
	p := &Process{Role: role, Name: name, Cmd: cmd, Log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// StartWorker starts a worker process and waits until its listener answers.
func (c *Cluster) StartWorker() (*Process, error) {
	port, err := devenv.FreePort()
	if err != nil {
		return nil, err
	}
	// A port of its own for metrics and health: several workers run side
	// by side, and scenarios read their Cvent call counts.
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := c.start("worker", "CVENTSYNC_WORKER_HTTP_ADDR="+addr)
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + addr
	c.mu.Lock()
	c.Workers = append(c.Workers, p)
	c.mu.Unlock()
	return p, c.waitUp(context.Background(), p, "/livez")
}

// StartGateway starts a gateway process and waits until it answers.
func (c *Cluster) StartGateway(ctx context.Context) (*Process, error) {
	port, err := devenv.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := c.start("gateway", "CVENTSYNC_HTTP_ADDR="+addr)
	if err != nil {
		return nil, err
	}
	p.URL = "http://" + addr
	c.mu.Lock()
	c.Gateways = append(c.Gateways, p)
	c.mu.Unlock()
	return p, c.waitUp(ctx, p, "/healthz")
}

func (c *Cluster) waitUp(ctx context.Context, p *Process, path string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.HTTP.Get(p.URL + path)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: see %s", p.Name, p.Log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not come up: %w", p.Name, err)
		}
	}
}

// Alive lists the gateways or workers still running.
func (c *Cluster) Alive(role string) []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.Workers
	if role == "gateway" {
		list = c.Gateways
	}
	var out []*Process
	for _, p := range list {
		if p.Alive() {
			out = append(out, p)
		}
	}
	return out
}

// Kill ends a process with SIGKILL, as a crash or an OOM kill would.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop ends a process with SIGTERM, and SIGKILL if it is still there after 10 s.
func (p *Process) Stop() {
	if !p.Alive() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Pid is the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Alive reports whether the process still runs.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop ends every process.
func (c *Cluster) Stop() {
	c.mu.Lock()
	all := append(append([]*Process{}, c.Gateways...), c.Workers...)
	c.mu.Unlock()
	for _, p := range all {
		if p.Alive() {
			_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	for _, p := range all {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.Kill()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.processLogs {
		f.Close()
	}
}

// WorkerByIdentity finds the worker whose Temporal identity (pid@host@...)
// is given.
func (c *Cluster) WorkerByIdentity(identity string) *Process {
	pid, _, _ := strings.Cut(identity, "@")
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.Workers {
		if strconv.Itoa(w.Pid()) == pid {
			return w
		}
	}
	return nil
}

// RSS returns a process's resident set size in bytes.
func (p *Process) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
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
	return 0, fmt.Errorf("no VmRSS for pid %d", p.Pid())
}

// LogTail is the end of a process's log.
func (p *Process) LogTail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
