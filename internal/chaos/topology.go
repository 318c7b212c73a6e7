package chaos

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/store"
)

// Topology is cventsync as it runs in production, on private ports: one
// PostgreSQL cluster, one Temporal dev server keeping its state in a SQLite
// file (so that it can be stopped and started again without losing a
// workflow), gateways and workers as processes of their own, and simulated
// Cvent accounts (StartSimulator). Scenarios stop, kill and restart any of
// them.
type Topology struct {
	Dir      string
	PG       *devenv.Postgres
	Temporal *devenv.Temporal
	// TemporalAddr stays the same across restarts of the server.
	TemporalAddr string
	Cluster      *Cluster
	// Store is the test's own connection to the database.
	Store *store.Store

	temporalPort int
	temporalDB   string
	client       client.Client
	log          *slog.Logger
}

// TopologyOptions size the topology.
type TopologyOptions struct {
	Binary   string // the cventsync binary
	Gateways int
	Workers  int
	Logger   *slog.Logger
}

// dirPrefix names the topologies' directories under /tmp, so that one left
// behind by a killed test binary (pg_ctl detaches PostgreSQL) can be found
// and stopped by the next.
const dirPrefix = "cventsync-chaos-"

// StartTopology starts PostgreSQL, Temporal and the cventsync processes.
func StartTopology(ctx context.Context, opts TopologyOptions) (_ *Topology, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	reapLeftovers()
	// Under /tmp: as root PostgreSQL runs as the postgres user, who must
	// be able to reach the directory.
	dir, err := os.MkdirTemp("/tmp", dirPrefix+"*")
	if err != nil {
		return nil, err
	}
	t := &Topology{Dir: dir, log: opts.Logger}
	defer func() {
		if err != nil {
			t.Stop()
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	// fsync off as in every test cluster: the scenarios restart PostgreSQL
	// cleanly (pg_ctl), they do not cut the machine's power.
	t.PG, err = devenv.StartPostgres(ctx, devenv.PostgresOptions{Dir: filepath.Join(dir, "pg"), Database: "cventsync", NoSync: true, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	if t.Store, err = store.Open(ctx, t.PG.URL); err != nil {
		return nil, err
	}
	if err := t.Store.Migrate(ctx); err != nil {
		return nil, err
	}
	if t.temporalPort, err = devenv.FreePort(); err != nil {
		return nil, err
	}
	t.temporalDB = filepath.Join(dir, "temporal", "temporal.db")
	if err := t.StartTemporal(ctx); err != nil {
		return nil, err
	}
	t.TemporalAddr = t.Temporal.Address
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	t.Cluster = New(Options{Binary: opts.Binary, Dir: logs, DatabaseURL: t.PG.URL, TemporalAddr: t.TemporalAddr,
		TaskQueue: "chaos", AdminToken: secret.NewToken(), SecretKey: secret.NewKey()})
	for i := 0; i < opts.Workers; i++ {
		if _, err := t.Cluster.StartWorker(); err != nil {
			return nil, err
		}
	}
	for i := 0; i < opts.Gateways; i++ {
		if _, err := t.Cluster.StartGateway(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Ensure starts gateways and workers until the given numbers run: a
// scenario that killed one leaves the next a full topology.
func (t *Topology) Ensure(ctx context.Context, gateways, workers int) error {
	for len(t.Cluster.Alive("worker")) < workers {
		if _, err := t.Cluster.StartWorker(); err != nil {
			return err
		}
	}
	for len(t.Cluster.Alive("gateway")) < gateways {
		if _, err := t.Cluster.StartGateway(ctx); err != nil {
			return err
		}
	}
	return nil
}

// StartTemporal starts the dev server on the topology's port and SQLite
// file: the first time, and again after StopTemporal.
func (t *Topology) StartTemporal(ctx context.Context) error {
	tp, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{
		Port: t.temporalPort, UIPort: -1, DBFile: t.temporalDB, SearchAttributes: searchattr.Definitions(),
		LogFile: filepath.Join(t.Dir, "temporal.log"), StartTimeout: 2 * time.Minute, Logger: t.log,
	})
	if err != nil {
		return err
	}
	t.Temporal = tp
	return nil
}

// StopTemporal stops the dev server process; its state stays in the file.
func (t *Topology) StopTemporal() error {
	if t.Temporal == nil {
		return nil
	}
	err := t.Temporal.Stop()
	t.Temporal = nil
	return err
}

// RestartPostgres runs `pg_ctl restart` (fast mode: open transactions are
// rolled back and every connection is cut) on the cluster, as the postgres
// user when we are root, and returns once the server accepts connections.
func (t *Topology) RestartPostgres(ctx context.Context) error {
	bin, err := devenv.FindPostgresBin()
	if err != nil {
		return err
	}
	args := []string{filepath.Join(bin, "pg_ctl"), "restart", "-D", filepath.Join(t.PG.Dir, "data"), "-m", "fast", "-w", "-t", "60",
		// Without a log file the new server would write to our pipe and
		// pg_ctl's output would never end.
		"-l", filepath.Join(t.PG.Dir, "postgres.log")}
	if os.Geteuid() == 0 {
		args = append([]string{"runuser", "-u", "postgres", "--"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = t.PG.Dir // the postgres user may not enter our working directory
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl restart: %w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Client is a Temporal client of the topology's server. It outlives a
// restart of the server: it reconnects, as the processes' clients do.
func (t *Topology) Client() (client.Client, error) {
	if t.client != nil {
		return t.client, nil
	}
	c, err := client.NewLazyClient(client.Options{HostPort: t.TemporalAddr, Namespace: "default",
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, err
	}
	t.client = c
	return c, nil
}

// Stop ends every process and server and removes the directory (kept when
// keepDir is set, for the logs of a failed run).
func (t *Topology) Stop(keepDir ...bool) {
	if t.Cluster != nil {
		t.Cluster.Stop()
	}
	if t.Store != nil {
		t.Store.Close()
	}
	if t.client != nil {
		t.client.Close()
	}
	_ = t.StopTemporal()
	stopped := true
	if t.PG != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := t.PG.Stop(ctx); err != nil {
			t.log.Warn("stop postgres", "error", err)
			stopped = false
		}
		cancel()
	}
	if stopped && (len(keepDir) == 0 || !keepDir[0]) {
		os.RemoveAll(t.Dir)
	}
}

// reapLeftovers stops the PostgreSQL clusters of topologies whose test
// binary was killed before it could stop them. (Temporal and the cventsync
// processes die with their parent.)
func reapLeftovers() { devenv.ReapAbandonedPostgres(dirPrefix) }
