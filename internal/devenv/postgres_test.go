package devenv

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// tempDir is reachable by the postgres user when tests run as root, which
// t.TempDir under a root-only TMPDIR would not guarantee.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "cventsync-devenv-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestPostgresRestartKeepsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join(tempDir(t), "pg")
	opts := PostgresOptions{Dir: dir, NoSync: true, Logger: testLogger(t)}

	pg, err := StartPostgres(ctx, opts)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			pg.Stop(context.Background())
		}
	})
	execSQL(t, pg.URL, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	firstPort := pg.Port
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped = true

	pg, err = StartPostgres(ctx, opts)
	if err != nil {
		t.Fatalf("second start on the same dir: %v", err)
	}
	stopped = false
	if pg.Port != firstPort {
		t.Errorf("restart used port %d, want the recorded port %d", pg.Port, firstPort)
	}
	var v int
	if err := query(t, pg.URL, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("data after restart: v=%d err=%v, want 42", v, err)
	}
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	stopped = true
}

// A postmaster left running by a crashed process must not block the next start.
func TestPostgresStartsOverRunningLeftover(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join(tempDir(t), "pg")
	opts := PostgresOptions{Dir: dir, NoSync: true, Logger: testLogger(t), Database: "other"}
	if _, err := StartPostgres(ctx, opts); err != nil { // never stopped: the "crash"
		t.Fatalf("first start: %v", err)
	}
	pg, err := StartPostgres(ctx, opts)
	if err != nil {
		StopPostgresDir(context.Background(), dir)
		t.Fatalf("start over a running postmaster: %v", err)
	}
	defer pg.Stop(context.Background())
	var one int
	if err := query(t, pg.URL, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	if want := "/other?"; !strings.Contains(pg.URL, want) {
		t.Errorf("URL %s does not point at database other", pg.URL)
	}
}

func TestWithDatabase(t *testing.T) {
	got, err := WithDatabase("postgres://u:p@h:5/app?sslmode=disable", "x_1")
	if err != nil || got != "postgres://u:p@h:5/x_1?sslmode=disable" {
		t.Fatalf("WithDatabase = %q, %v", got, err)
	}
	if _, err := WithDatabase("mysql://h/db", "x"); err == nil {
		t.Fatal("WithDatabase accepted a mysql URL")
	}
}

func execSQL(t *testing.T, url, q string) {
	t.Helper()
	db := open(t, url)
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func query(t *testing.T, url, q string) *sql.Row {
	t.Helper()
	return open(t, url).QueryRow(q)
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// As root the server runs as postgres, who cannot enter a root-only parent
// such as /root; that must be a clear error, not initdb's.
func TestPostgresUnreachableDirAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the directory to the postgres user")
	}
	parent := tempDir(t)
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := StartPostgres(t.Context(), PostgresOptions{Dir: filepath.Join(parent, "pg"), NoSync: true, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "not reachable by the postgres user") {
		t.Fatalf("err = %v, want a 'not reachable by the postgres user' error", err)
	}
}
