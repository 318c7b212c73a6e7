package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// TemporalOptions configures StartTemporal.
type TemporalOptions struct {
	// Binary is the temporal CLI; "" means FindTemporalBinary.
	Binary string
	// DBFile is the SQLite file that keeps workflows across restarts; ""
	// keeps everything in memory.
	DBFile string
	// IP the frontend (and UI) bind to; "" means 127.0.0.1.
	IP string
	// Port of the gRPC frontend; 0 picks a free one.
	Port int
	// UIPort of the Web UI; 0 picks a free one, -1 disables the UI.
	UIPort int
	// Namespace to make sure exists; "" means "default".
	Namespace string
	// SearchAttributes to register, name → type (see searchattr.Definitions).
	SearchAttributes map[string]string
	// LogFile receives the server's output (appended); "" discards it except
	// for the tail kept for error messages.
	LogFile string
	// StartTimeout bounds the wait for the frontend; 0 means 60s.
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Temporal is a running `temporal server start-dev` started by StartTemporal.
type Temporal struct {
	// Address is the frontend's host:port.
	Address   string
	Namespace string
	// UIURL is the Web UI's base URL, "" when headless.
	UIURL string

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	tail     *tailBuffer
	logFile  *os.File
	stopOnce sync.Once
	stopErr  error
	log      *slog.Logger
}

// FindTemporalBinary locates the temporal CLI: $CVENTSYNC_TEMPORAL_BIN, else
// <module root>/.bin/temporal (built by `make temporal`, pinned to the version
// we test against), else temporal on PATH.
func FindTemporalBinary() (string, error) {
	if p := os.Getenv("CVENTSYNC_TEMPORAL_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CVENTSYNC_TEMPORAL_BIN: %w", err)
		}
		return p, nil
	}
	for _, root := range moduleRoots() {
		p := filepath.Join(root, ".bin", "temporal")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("temporal CLI not found (looked at $CVENTSYNC_TEMPORAL_BIN, <repo>/.bin/temporal and PATH): " +
		"run `make temporal` in the repository, or set TEMPORAL_ADDRESS to an existing server")
}

// StartTemporal runs `temporal server start-dev` and returns once its
// frontend answers and the namespace exists.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Binary == "" {
		bin, err := FindTemporalBinary()
		if err != nil {
			return nil, err
		}
		opts.Binary = bin
	}
	var err error
	if opts.Port == 0 {
		if opts.Port, err = FreePort(); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
	}
	if opts.UIPort == 0 {
		if opts.UIPort, err = FreePort(); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
	}

	args := []string{"server", "start-dev",
		"--ip", opts.IP, "--port", strconv.Itoa(opts.Port),
		"--log-level", "warn",
		// One partition per task queue. The dev server is a single node, so
		// partitions only add forwarding, and a task left in the backlog of
		// one partition waits until a poller polls that partition: a burst
		// of RFP workflows saw a workflow task wait 63 s behind pollers
		// long-polling the other three (the default is four).
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
	}
	if opts.UIPort < 0 {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-ip", opts.IP, "--ui-port", strconv.Itoa(opts.UIPort))
	}
	if opts.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
		// WAL lets the UI and CLI read while the server writes.
		args = append(args, "--db-filename", opts.DBFile, "--sqlite-pragma", "journal_mode=WAL")
	}
	if opts.Namespace != "default" { // default always exists; naming it again is an error
		args = append(args, "--namespace", opts.Namespace)
	}
	names := make([]string, 0, len(opts.SearchAttributes))
	for n := range opts.SearchAttributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, "--search-attribute", n+"="+opts.SearchAttributes[n])
	}

	t := &Temporal{
		Address:   net.JoinHostPort(opts.IP, strconv.Itoa(opts.Port)),
		Namespace: opts.Namespace,
		exited:    make(chan struct{}),
		tail:      &tailBuffer{max: 16 << 10},
		log:       opts.Logger.With("service", "temporal"),
	}
	if opts.UIPort >= 0 {
		t.UIURL = "http://" + net.JoinHostPort(opts.IP, strconv.Itoa(opts.UIPort))
	}
	var out io.Writer = t.tail
	if opts.LogFile != "" {
		if t.logFile, err = os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return nil, fmt.Errorf("start temporal: %w", err)
		}
		out = io.MultiWriter(t.tail, t.logFile)
	}
	// Not CommandContext: the server must outlive ctx, which only bounds startup.
	t.cmd = exec.Command(opts.Binary, args...)
	t.cmd.Stdout, t.cmd.Stderr = out, out
	t.cmd.SysProcAttr = serverProcAttr()
	t.log.Debug("starting temporal", "cmd", t.cmd.String())
	if err := t.cmd.Start(); err != nil {
		t.closeLog()
		return nil, fmt.Errorf("start temporal %s: %w", opts.Binary, err)
	}
	go func() {
		t.waitErr = t.cmd.Wait()
		t.closeLog()
		close(t.exited)
	}()

	if err := t.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = t.Stop()
		return nil, fmt.Errorf("start temporal on %s: %w\n--- end of server output ---\n%s", t.Address, err, t.tail.String())
	}
	t.log.Info("temporal ready", "address", t.Address, "ui", t.UIURL, "namespace", t.Namespace)
	return t, nil
}

// waitReady polls until the frontend is healthy and knows the namespace: the
// gRPC port opens before the namespace is registered.
func (t *Temporal) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-t.exited:
			return fmt.Errorf("server exited: %v", t.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w (last error: %v)", timeout, ctx.Err(), lastErr)
		case <-time.After(200 * time.Millisecond):
		}
		if lastErr = t.probe(ctx); lastErr == nil {
			return nil
		}
	}
}

func (t *Temporal) probe(ctx context.Context) error {
	conn, err := net.DialTimeout("tcp", t.Address, time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: t.Namespace})
	return err
}

func (t *Temporal) closeLog() {
	if t.logFile != nil {
		t.logFile.Close()
	}
}

// Stop asks the server to shut down (SIGTERM to its process group) and kills
// it if it has not exited after 10s. Calling Stop again returns the first result.
func (t *Temporal) Stop() error {
	t.stopOnce.Do(func() {
		pgid := t.cmd.Process.Pid
		select {
		case <-t.exited:
			return
		default:
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-t.exited:
		case <-time.After(10 * time.Second):
			t.log.Warn("temporal did not stop in time, killing it")
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-t.exited
			t.stopErr = errors.New("stop temporal: killed after 10s")
		}
	})
	return t.stopErr
}
