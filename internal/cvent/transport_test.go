package cvent

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// TestProxyFromEnvironment: calls to Cvent go through HTTP(S)_PROXY and not
// through it for hosts in NO_PROXY. The environment is read once per
// process, so the calls run in a child process of this test binary.
func TestProxyFromEnvironment(t *testing.T) {
	if url := os.Getenv("CVENTSYNC_PROXY_CHILD_URL"); url != "" {
		resp, err := NewHTTPClient(5 * time.Second).Get(url)
		if err != nil {
			os.Exit(3)
		}
		resp.Body.Close()
		os.Exit(0)
	}
	var mu sync.Mutex
	var seen []string
	saw := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()) // a proxy gets the absolute URL
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer proxy.Close()
	run := func(url, noProxy string) error {
		cmd := exec.Command(os.Args[0], "-test.run=^TestProxyFromEnvironment$")
		cmd.Env = append(os.Environ(), "CVENTSYNC_PROXY_CHILD_URL="+url, "HTTP_PROXY="+proxy.URL, "HTTPS_PROXY="+proxy.URL, "NO_PROXY="+noProxy)
		return cmd.Run()
	}
	if err := run("http://api-platform.cvent.example/ea/events", ""); err != nil {
		t.Fatalf("call through the proxy: %v", err)
	}
	if seen := saw(); len(seen) != 1 || seen[0] != "http://api-platform.cvent.example/ea/events" {
		t.Fatalf("the proxy saw %q, want the call to Cvent", seen)
	}
	// NO_PROXY: straight to the host, which does not resolve: the call fails, the proxy sees nothing.
	if err := run("http://api-platform.cvent.example/ea/events", "cvent.example"); err == nil {
		t.Fatalf("NO_PROXY host: the call succeeded, so it went through the proxy")
	}
	if seen := saw(); len(seen) != 1 {
		t.Fatalf("NO_PROXY host: the proxy saw %q", seen)
	}
}
