// Package devenv starts and stops the real local services cventsync needs —
// PostgreSQL and the Temporal dev server — for `cventsync dev` and for
// integration tests. It runs the actual server binaries rather than fakes so
// that what works locally works against production-like services.
package devenv

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; callers that pick ports
// this way retry on a bind failure where it matters.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ModuleRoot walks up from dir to the nearest directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or any parent", dir)
		}
	}
}

// moduleRoots returns the module roots above the working directory and above
// the running executable: `go run` and tests start inside the repo, an
// installed binary may live in <repo>/bin.
func moduleRoots() []string {
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		if r, err := ModuleRoot(wd); err == nil {
			roots = append(roots, r)
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			if r, err := ModuleRoot(filepath.Dir(exe)); err == nil && (len(roots) == 0 || roots[0] != r) {
				roots = append(roots, r)
			}
		}
	}
	return roots
}

// tailBuffer keeps the last max bytes written to it, so a failed start can
// show the end of a server's log without holding all of it in memory.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// fileTail returns the last n bytes of a file, or "" if it cannot be read.
func fileTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		if _, err := f.Seek(-n, 2); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	return string(b)
}
