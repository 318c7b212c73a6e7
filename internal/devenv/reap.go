package devenv

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReapAbandonedPostgres stops the throwaway PostgreSQL clusters of test
// binaries that were killed (e.g. by -timeout) before they could stop them,
// and removes their directories: /tmp/<prefix>* directories holding an
// owner.pid of a process that is gone and the cluster in pg/. pg_ctl
// detaches the server, so nothing else would stop it.
func ReapAbandonedPostgres(prefix string) {
	dirs, _ := filepath.Glob(filepath.Join("/tmp", prefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue // its test binary is still running
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = StopPostgresDir(ctx, filepath.Join(dir, "pg"))
		cancel()
		if err == nil {
			os.RemoveAll(dir)
		}
	}
}
