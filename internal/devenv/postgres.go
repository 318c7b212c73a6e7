package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PostgresOptions configures StartPostgres.
//
// Dir holds everything of one local cluster: Dir/data (the cluster itself),
// Dir/postgres.log, Dir/port (the port of the last start) and the Unix socket.
type PostgresOptions struct {
	Dir string
	// Port to listen on at 127.0.0.1. 0 picks one: the port of the last start
	// if it is still free (so URLs a developer copied keep working), else any.
	Port int
	// Database is created if missing and is the one URL points at; "" means
	// "cventsync".
	Database string
	// NoSync trades durability for speed: initdb --no-sync and fsync off.
	// Only for throwaway clusters — a crash can corrupt the data.
	NoSync bool
	Logger *slog.Logger
}

// Postgres is a running local cluster started by StartPostgres.
type Postgres struct {
	// URL points at the options' Database as the superuser postgres.
	URL  string
	Port int
	Dir  string

	binDir string
	cred   *syscall.Credential // non-nil when running as root
	log    *slog.Logger
}

// ServerURL returns a URL for database name on this cluster.
func (p *Postgres) ServerURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, name)
}

func (p *Postgres) dataDir() string { return filepath.Join(p.Dir, "data") }
func (p *Postgres) logFile() string { return filepath.Join(p.Dir, "postgres.log") }

// StartPostgres creates the cluster in opts.Dir if there is none, starts it and
// makes sure opts.Database exists. As root it runs the server as the postgres
// user, because initdb and postgres refuse to run as root.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.Dir == "" {
		return nil, errors.New("start postgres: Dir is empty")
	}
	if opts.Database == "" {
		opts.Database = "cventsync"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	binDir, err := FindPostgresBin()
	if err != nil {
		return nil, err
	}
	p := &Postgres{Dir: dir, binDir: binDir, log: opts.Logger.With("service", "postgres")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := p.handOverToPostgresUser(); err != nil {
			return nil, fmt.Errorf("start postgres: %w", err)
		}
	}

	if _, err := os.Stat(filepath.Join(p.dataDir(), "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := p.initdb(ctx, opts.NoSync); err != nil {
			return nil, err
		}
	}
	if err := p.stopStale(ctx); err != nil {
		return nil, err
	}

	// A port picked here may be taken before postgres binds it; retry with
	// another one in that case, but never when the caller asked for a port.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	for i := 0; ; i++ {
		port := opts.Port
		if port == 0 {
			if port, err = p.pickPort(i == 0); err != nil {
				return nil, fmt.Errorf("start postgres: %w", err)
			}
		}
		p.Port = port
		err = p.start(ctx, opts.NoSync)
		if err == nil || i+1 >= attempts || ctx.Err() != nil {
			break
		}
		p.log.Warn("postgres did not start, retrying on another port", "port", port, "err", err)
	}
	if err != nil {
		return nil, err
	}
	_ = os.WriteFile(filepath.Join(dir, "port"), []byte(strconv.Itoa(p.Port)+"\n"), 0o644)

	if err := CreateDatabase(ctx, p.ServerURL("postgres"), opts.Database); err != nil && !errors.Is(err, ErrDatabaseExists) {
		_ = p.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p.URL = p.ServerURL(opts.Database)
	p.log.Info("postgres ready", "url", p.URL, "dir", dir)
	return p, nil
}

// Stop shuts the cluster down (fast mode: running transactions are rolled back).
func (p *Postgres) Stop(ctx context.Context) error {
	out, err := p.command(ctx, "pg_ctl", "stop", "-D", p.dataDir(), "-m", "fast", "-w", "-t", "60").CombinedOutput()
	if err != nil {
		return fmt.Errorf("stop postgres in %s: %w: %s", p.Dir, err, bytes.TrimSpace(out))
	}
	return nil
}

// StopPostgresDir stops a cluster laid out by StartPostgres in dir if one is
// running, e.g. one left behind by a test binary that was killed.
func StopPostgresDir(ctx context.Context, dir string) error {
	binDir, err := FindPostgresBin()
	if err != nil {
		return err
	}
	p := &Postgres{Dir: dir, binDir: binDir, log: slog.Default()}
	if os.Geteuid() == 0 {
		if p.cred, err = postgresCredential(); err != nil {
			return err
		}
	}
	return p.stopStale(ctx)
}

// FindPostgresBin returns the directory holding initdb, pg_ctl and postgres:
// $CVENTSYNC_PG_BIN, else the one found on PATH, else the newest
// /usr/lib/postgresql/*/bin (Debian does not put server binaries on PATH).
func FindPostgresBin() (string, error) {
	var candidates []string
	if d := os.Getenv("CVENTSYNC_PG_BIN"); d != "" {
		candidates = append(candidates, d)
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	candidates = append(candidates, dirs...)
	for _, d := range candidates {
		if hasExecutables(d, "initdb", "pg_ctl", "postgres") {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: " +
		"install them (Debian/Ubuntu: apt-get install postgresql-15), point CVENTSYNC_PG_BIN at their directory, " +
		"or set DATABASE_URL to an existing server")
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func hasExecutables(dir string, names ...string) bool {
	for _, n := range names {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, but initdb and postgres refuse to run as root and there is no postgres user to run them as (create one, e.g. apt-get install postgresql-15 does): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// handOverToPostgresUser makes Dir owned by the postgres user and checks that
// this user can reach it: a Dir below a root-only directory such as /root
// would otherwise fail later with an obscure permission error from initdb.
func (p *Postgres) handOverToPostgresUser() error {
	cred, err := postgresCredential()
	if err != nil {
		return err
	}
	p.cred = cred
	err = filepath.WalkDir(p.Dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("chown %s to postgres: %w", p.Dir, err)
	}
	if out, err := p.command(context.Background(), "/bin/sh", "-c", `test -w "$1" && test -x "$1"`, "sh", p.Dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%s is not reachable by the postgres user (a parent directory is not searchable by others, as /root usually is): "+
			"use a directory under /tmp or chmod o+x its parents: %w %s", p.Dir, err, out)
	}
	return nil
}

// command runs a PostgreSQL program (or an absolute path) as the user the
// server runs as.
func (p *Postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if !filepath.IsAbs(name) {
		name = filepath.Join(p.binDir, name)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	// The postgres user may not be able to enter our working directory
	// (e.g. /root), which makes initdb and pg_ctl complain.
	cmd.Dir = p.Dir
	// Our locale may not exist for the server; UTF-8 C is everywhere.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

func (p *Postgres) initdb(ctx context.Context, noSync bool) error {
	if err := os.MkdirAll(p.dataDir(), 0o700); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	if p.cred != nil {
		if err := os.Chown(p.dataDir(), int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return fmt.Errorf("initdb: %w", err)
		}
	}
	args := []string{"-D", p.dataDir(), "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--locale=C"}
	if noSync {
		args = append(args, "--no-sync")
	}
	p.log.Info("creating postgres cluster", "dir", p.dataDir())
	if out, err := p.command(ctx, "initdb", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %w: %s", p.dataDir(), err, bytes.TrimSpace(out))
	}
	return nil
}

// stopStale deals with a postmaster.pid left by an earlier run: a postmaster
// still running on the directory (our process crashed, pg_ctl had detached
// it) is stopped so that we start with our options; a pid file whose process
// is gone or is not postgres is removed so the server does not refuse to start.
func (p *Postgres) stopStale(ctx context.Context) error {
	pidFile := filepath.Join(p.dataDir(), "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if pid > 0 && strings.HasPrefix(string(comm), "postgres") {
		p.log.Warn("stopping postgres left running on this directory", "pid", pid, "dir", p.dataDir())
		if err := p.Stop(ctx); err != nil {
			return fmt.Errorf("stop stale postmaster: %w", err)
		}
		return nil
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		return nil // no /proc to tell; let postgres judge the pid file
	}
	p.log.Warn("removing stale postmaster.pid", "dir", p.dataDir())
	if err := os.Remove(pidFile); err != nil {
		return fmt.Errorf("remove stale postmaster.pid: %w", err)
	}
	return nil
}

func (p *Postgres) pickPort(preferLast bool) (int, error) {
	if preferLast {
		if b, err := os.ReadFile(filepath.Join(p.Dir, "port")); err == nil {
			if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 && portFree(port) {
				return port, nil
			}
		}
	}
	return FreePort()
}

func (p *Postgres) start(ctx context.Context, noSync bool) error {
	// A Unix socket path is limited to ~107 bytes; without a usable socket
	// directory postgres listens on TCP only, which is all we need.
	sockDir := p.Dir
	if len(sockDir)+len("/.s.PGSQL.65535.lock") > 100 || strings.ContainsAny(sockDir, `'\`) {
		sockDir = ""
	}
	// pg_ctl passes -o through a shell, hence the quoting.
	o := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='%s'", p.Port, sockDir)
	if x := os.Getenv("CVENTSYNC_DEV_PG_OPTIONS"); x != "" {
		o += " " + x
	}
	if noSync {
		o += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	p.log.Debug("starting postgres", "port", p.Port, "dir", p.dataDir())
	startCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	out, err := p.command(startCtx, "pg_ctl", "start", "-D", p.dataDir(), "-l", p.logFile(), "-w", "-t", "60", "-o", o).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl start (port %d, dir %s): %w: %s\n--- end of %s ---\n%s",
			p.Port, p.dataDir(), err, bytes.TrimSpace(out), p.logFile(), fileTail(p.logFile(), 2000))
	}
	return nil
}
