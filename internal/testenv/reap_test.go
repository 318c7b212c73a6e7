package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cventsync/cventsync/internal/devenv"
)

// A cluster whose test binary was killed keeps running (pg_ctl detaches it);
// the next binary must stop it and remove its directory.
func TestReapLeftoverClusters(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", pgDirPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(dead.Process.Pid)), 0o644)
	pg, err := devenv.StartPostgres(t.Context(), devenv.PostgresOptions{Dir: filepath.Join(dir, "pg"), Database: "postgres", NoSync: true, Logger: logger()})
	if err != nil {
		t.Fatalf("start leftover cluster: %v", err)
	}
	reapLeftoverClusters()
	if _, err := os.Stat(dir); err == nil {
		pg.Stop(context.Background())
		t.Fatalf("leftover cluster dir %s still there", dir)
	}
	if err := pg.Stop(context.Background()); err == nil {
		t.Fatal("leftover cluster still running after reaping")
	}
}
