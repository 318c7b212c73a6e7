// Package chaos runs cventsync as in production, each gateway and worker a
// process of its own on shared PostgreSQL and Temporal, so that tests can
// kill them in the middle of work and check that nothing is lost or applied
// twice.
package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	AdminToken  string
	Gateways    []*Process
	Workers     []*Process
	HTTP        *http.Client
	processLogs []*os.File
}

// Process is one gateway or worker.
type Process struct {
	Role string
	Cmd  *exec.Cmd
	// URL is a gateway's base URL.
	URL  string
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
	return &Cluster{Binary: opts.Binary, Dir: opts.Dir, Env: env, AdminToken: opts.AdminToken,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (c *Cluster) start(role string, extraEnv ...string) (*Process, error) {
	cmd := exec.Command(c.Binary, role)
	cmd.Env = append(append([]string{}, c.Env...), extraEnv...)
	logf, err := os.Create(filepath.Join(c.Dir, fmt.Sprintf("%s-%d.log", role, len(c.Gateways)+len(c.Workers))))
	if err != nil {
		return nil, err
	}
	c.processLogs = append(c.processLogs, logf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", role, err)
	}
	p := &Process{Role: role, Cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// StartWorker starts a worker process.
func (c *Cluster) StartWorker() (*Process, error) {
	// Any free port for its metrics and health: several workers run side by side.
	p, err := c.start("worker", "CVENTSYNC_WORKER_HTTP_ADDR=127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.Workers = append(c.Workers, p)
	return p, nil
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
	c.Gateways = append(c.Gateways, p)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.HTTP.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("gateway exited: see %s", c.Dir)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gateway did not come up: %w", err)
		}
	}
}

// Kill ends a process with SIGKILL, as a crash or an OOM kill would.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
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
	for _, p := range append(append([]*Process{}, c.Gateways...), c.Workers...) {
		if p.Alive() {
			_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				p.Kill()
			}
		}
	}
	for _, f := range c.processLogs {
		f.Close()
	}
}

// WorkerByIdentity finds the worker whose Temporal identity (pid@host@...)
// is given.
func (c *Cluster) WorkerByIdentity(identity string) *Process {
	pid, _, _ := strings.Cut(identity, "@")
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
