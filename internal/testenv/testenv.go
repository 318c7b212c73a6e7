// Package testenv gives integration tests real PostgreSQL databases and a real
// Temporal server with no manual step: it uses DATABASE_URL / TEMPORAL_ADDRESS
// when set (CI services, a developer's `cventsync dev`), and otherwise starts
// one throwaway server of each kind per test binary, on first use. A package
// using it calls Main from TestMain so those servers are stopped.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/searchattr"
)

const (
	startTimeout = 2 * time.Minute
	// pgDirPrefix names the temp dirs of throwaway clusters so that the
	// clusters of killed test binaries can be found and stopped later.
	pgDirPrefix = "cventsync-testpg-"
)

var (
	mainCalled bool

	mu       sync.Mutex
	pg       *devenv.Postgres
	pgDir    string
	pgErr    error
	temporal *devenv.Temporal
	tempErr  error
)

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Main runs the tests, stops the servers they caused to start and exits with
// the tests' exit code. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	if err := stopAll(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func stopAll() error {
	mu.Lock()
	defer mu.Unlock()
	var errs []string
	if temporal != nil {
		if err := temporal.Stop(); err != nil {
			errs = append(errs, err.Error())
		}
		temporal = nil
	}
	if pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pg.Stop(ctx); err != nil {
			errs = append(errs, err.Error())
		} else {
			os.RemoveAll(pgDir)
		}
		pg = nil
	}
	if len(errs) > 0 {
		return fmt.Errorf("stop test servers: %s", strings.Join(errs, "; "))
	}
	return nil
}

// requireMain fails a test of a package that would leak the servers
// testenv starts because it never hands control to Main.
func requireMain(t testing.TB) {
	t.Helper()
	if !mainCalled {
		t.Fatalf("testenv: this package must call testenv.Main(m) from TestMain, so the servers it starts are stopped:\n\n" +
			"\tfunc TestMain(m *testing.M) { testenv.Main(m) }")
	}
}

// DatabaseURL returns the URL of a new, empty database, dropped when the test
// ends. With DATABASE_URL set the database is created on that server (its
// user needs CREATEDB); otherwise on a throwaway cluster shared by the tests
// of this binary.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	requireMain(t)
	server := os.Getenv("DATABASE_URL")
	if server == "" {
		var err error
		if server, err = sharedPostgres(); err != nil {
			t.Fatalf("testenv: no PostgreSQL for tests (set DATABASE_URL to use an existing server): %v", err)
		}
	}
	name := "cventsync_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := devenv.CreateDatabase(ctx, server, name); err != nil {
		t.Fatalf("testenv: %v (server %s)", err, redact(server))
	}
	url, err := devenv.WithDatabase(server, name)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Best effort: a leftover database costs disk, not correctness.
		if err := devenv.DropDatabase(ctx, server, name); err != nil {
			t.Logf("testenv: %v", err)
		}
	})
	return url
}

func sharedPostgres() (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if pg != nil {
		return pg.ServerURL("postgres"), nil
	}
	if pgErr != nil {
		return "", pgErr // fail every test fast instead of retrying a broken setup
	}
	reapLeftoverClusters()
	// Under /tmp, not t.TempDir or $TMPDIR: as root the server runs as the
	// postgres user, who must be able to reach the directory.
	dir, err := os.MkdirTemp("/tmp", pgDirPrefix+"*")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	if err != nil {
		pgErr = fmt.Errorf("temp dir for postgres: %w", err)
		return "", pgErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	p, err := devenv.StartPostgres(ctx, devenv.PostgresOptions{
		Dir: filepath.Join(dir, "pg"), Database: "postgres", NoSync: true, Logger: logger(),
	})
	if err != nil {
		os.RemoveAll(dir)
		pgErr = err
		return "", err
	}
	pg, pgDir = p, dir
	return pg.ServerURL("postgres"), nil
}

// reapLeftoverClusters stops the throwaway clusters of killed test binaries.
func reapLeftoverClusters() { devenv.ReapAbandonedPostgres(pgDirPrefix) }

// TemporalAddress returns host:port of a Temporal frontend: TEMPORAL_ADDRESS
// when set, else an in-memory dev server shared by the tests of this binary,
// with cventsync's search attributes registered.
func TemporalAddress(t testing.TB) string {
	t.Helper()
	requireMain(t)
	if addr := os.Getenv("TEMPORAL_ADDRESS"); addr != "" {
		return addr
	}
	mu.Lock()
	defer mu.Unlock()
	if temporal == nil && tempErr == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		temporal, tempErr = devenv.StartTemporal(ctx, devenv.TemporalOptions{
			UIPort:           -1,
			SearchAttributes: searchattr.Definitions(),
			Logger:           logger(),
		})
	}
	if tempErr != nil {
		t.Fatalf("testenv: no Temporal server for tests (set TEMPORAL_ADDRESS to use an existing one): %v", tempErr)
	}
	return temporal.Address
}

// TemporalNamespace is TEMPORAL_NAMESPACE, or "default".
func TemporalNamespace() string {
	if ns := os.Getenv("TEMPORAL_NAMESPACE"); ns != "" {
		return ns
	}
	return "default"
}

// TemporalClient returns a client of TemporalAddress's server, closed when the
// test ends.
func TemporalClient(t testing.TB) client.Client {
	t.Helper()
	addr := TemporalAddress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  addr,
		Namespace: TemporalNamespace(),
		Logger:    sdklog.NewStructuredLogger(logger()),
	})
	if err != nil {
		t.Fatalf("testenv: dial Temporal at %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	root, err := devenv.ModuleRoot(wd)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return root
}

// SharedDir returns ../shared next to the repository: reference material
// (Cvent spec, samples) that tests read but the repo does not copy.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(RepoRoot(t)), "shared")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("testenv: shared directory %s not found; the project expects it next to the repository (../shared)", dir)
	}
	return dir
}

// SharedPath returns SharedDir/rel and fails the test if it does not exist.
func SharedPath(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testenv: shared file: %v", err)
	}
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

func redact(rawURL string) string {
	if i := strings.Index(rawURL, "@"); i > 0 {
		if j := strings.Index(rawURL, "://"); j >= 0 && j < i {
			return rawURL[:j+3] + "…" + rawURL[i:]
		}
	}
	return rawURL
}
