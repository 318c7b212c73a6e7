package testenv

import (
	"database/sql"
	"os"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func TestMain(m *testing.M) { Main(m) }

func TestDatabaseURLGivesDistinctWorkingDatabases(t *testing.T) {
	a, b := DatabaseURL(t), DatabaseURL(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	dbA, dbB := open(t, a), open(t, b)
	if _, err := dbA.Exec("CREATE TABLE only_in_a (v int)"); err != nil {
		t.Fatalf("create table in %s: %v", a, err)
	}
	var n int
	err := dbB.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_in_a'").Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("database %s sees a table of %s (count %d, err %v)", b, a, n, err)
	}
}

func TestDatabaseURLIsDroppedAtCleanup(t *testing.T) {
	var url string
	t.Run("user", func(t *testing.T) { url = DatabaseURL(t); open(t, url).Ping() })
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Fatalf("database %s still exists after its test ended", url)
	}
}

func hello(_ workflow.Context, name string) (string, error) { return "hello " + name, nil }

func TestTemporalClientRunsAWorkflow(t *testing.T) {
	c := TemporalClient(t)
	const queue = "testenv"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(hello)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	defer w.Stop()

	ctx := t.Context()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		TaskQueue: queue, WorkflowExecutionTimeout: 30 * time.Second,
	}, hello, "cvent")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if got != "hello cvent" {
		t.Fatalf("workflow returned %q, want %q", got, "hello cvent")
	}
}

func TestSharedPath(t *testing.T) {
	p := SharedPath(t, "STYLE.md")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("ping %s: %v", url, err)
	}
	return db
}
