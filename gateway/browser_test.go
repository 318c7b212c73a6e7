package gateway_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cventsync/cventsync/internal/testenv"
)

// The console's browser tests drive Debian's chromium with chromedp. The
// harness installs it with apt when it runs as root (as `make tools` does)
// and skips, saying why, only where it cannot.

var chromiumOnce struct {
	sync.Once
	path string
	why  string // why there is no Chromium
	err  error  // the install failed
}

func chromiumPath() (string, string, error) {
	chromiumOnce.Do(func() {
		for _, p := range []string{os.Getenv("CVENTSYNC_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
			if p != "" {
				if _, err := os.Stat(p); err == nil {
					chromiumOnce.path = p
					return
				}
			}
		}
		if p, err := exec.LookPath("chromium"); err == nil {
			chromiumOnce.path = p
			return
		}
		if os.Geteuid() != 0 {
			chromiumOnce.why = "Chromium is not installed and the tests do not run as root: apt-get install chromium (or make tools as root)"
			return
		}
		if _, err := exec.LookPath("apt-get"); err != nil {
			chromiumOnce.why = "Chromium is not installed and there is no apt-get to install it: install chromium, or set CVENTSYNC_CHROMIUM"
			return
		}
		install := exec.Command("apt-get", "install", "-y", "-qq", "chromium")
		install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := install.CombinedOutput(); err != nil {
			update := exec.Command("apt-get", "update", "-qq")
			_ = update.Run()
			if out2, err2 := exec.Command("apt-get", "install", "-y", "-qq", "chromium").CombinedOutput(); err2 != nil {
				chromiumOnce.err = &installError{out: string(out) + string(out2), err: err2}
				return
			}
		}
		chromiumOnce.path = "/usr/bin/chromium"
	})
	return chromiumOnce.path, chromiumOnce.why, chromiumOnce.err
}

type installError struct {
	out string
	err error
}

func (e *installError) Error() string {
	return "apt-get install chromium: " + e.err.Error() + "\n" + e.out
}

// newBrowser starts a headless Chromium with a fresh profile for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, why, err := chromiumPath()
	if err != nil {
		t.Fatal(err)
	}
	if path == "" {
		t.Skip("console browser test skipped: " + why)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		// Without these Chromium calls home, and on a closed network its
		// connections are refused.
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// screenshot keeps a full-page screenshot in docs/ when CVENTSYNC_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("CVENTSYNC_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(testenv.RepoRoot(t), "docs", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// browse drives one page after another, failing the test on an error.
type browse struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// step bounds one browser step.
func (b *browse) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 45*time.Second)
}

// open navigates to a console path and waits for sel.
func (b *browse) open(path, sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("open %s and wait for %s: %v (at %s)", path, sel, err, b.location())
	}
}

// submit clicks a button that loads a new page, then waits for sel there.
func (b *browse) submit(button, sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
		b.t.Fatalf("click %s: %v (at %s)", button, err, b.location())
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("after clicking %s, wait for %s: %v (at %s)", button, sel, err, b.location())
	}
}

func (b *browse) typeInto(sel, text string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(sel), text)); err != nil {
		b.t.Fatalf("type into %s: %v", sel, err)
	}
}

func (b *browse) text(sel string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v (at %s)", sel, err, b.location())
	}
	return strings.TrimSpace(s)
}

func (b *browse) attr(sel, name string) string {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		b.t.Fatalf("read %s's %s: %v", sel, name, err)
	}
	return v.Value
}

func (b *browse) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// until reloads a console path until sel's text contains want.
func (b *browse) until(path, sel, want string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		b.open(path, sel)
		if last = b.text(sel); strings.Contains(last, want) {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	b.t.Fatalf("%s: %s still %q after %v, want %q", path, sel, last, timeout, want)
}
