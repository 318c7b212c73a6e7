package safehttp_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/safehttp"
)

// server counts the requests that reached it: a refusal must happen before
// any byte is sent.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	resp, err := c.Get(url)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	if !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Fatalf("error %v, want a refusal (ErrForbiddenAddress)", err)
	}
	var re *safehttp.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *RefusedError", err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("error %q does not name the reason %q", err, reason)
	}
}

func TestLoopbackRefusedByDefault(t *testing.T) {
	srv, hits := server(t, nil)
	httpsURL := strings.Replace(srv.URL, "http://", "https://", 1)

	// With the zero policy, both at configuration and at the call.
	wantRefused(t, safehttp.ValidateURL(httpsURL, safehttp.Policy{}), "loopback address")
	_, err := get(t, safehttp.NewClient(safehttp.Policy{}, 5*time.Second), httpsURL)
	wantRefused(t, err, "loopback address")

	// Plain http allowed, loopback still not: the dial is what refuses.
	p := safehttp.Policy{AllowHTTP: true}
	wantRefused(t, safehttp.ValidateURL(srv.URL, p), "loopback address")
	_, err = get(t, safehttp.NewClient(p, 5*time.Second), srv.URL)
	wantRefused(t, err, "loopback address")

	// Private networks allowed does not allow loopback.
	p.AllowPrivate = true
	_, err = get(t, safehttp.NewClient(p, 5*time.Second), srv.URL)
	wantRefused(t, err, "loopback address")

	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
}

func TestLoopbackAllowed(t *testing.T) {
	srv, hits := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	p := safehttp.Policy{AllowHTTP: true, AllowLoopback: true}
	if err := safehttp.ValidateURL(srv.URL, p); err != nil {
		t.Fatal(err)
	}
	resp, err := get(t, safehttp.NewClient(p, 5*time.Second), srv.URL+"/hook")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || hits.Load() != 1 {
		t.Fatalf("status %d, %d hits", resp.StatusCode, hits.Load())
	}
}

// "localhost" is a name: only resolution shows it is loopback.
func TestHostnameResolvingToLoopbackRefused(t *testing.T) {
	srv, hits := server(t, nil)
	byName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if byName == srv.URL {
		t.Fatalf("test server URL %s is not on 127.0.0.1", srv.URL)
	}
	p := safehttp.Policy{AllowHTTP: true}
	err := safehttp.ValidateURL(byName, p)
	wantRefused(t, err, "loopback address")
	if !strings.Contains(err.Error(), "localhost") {
		t.Errorf("error %q does not name the host", err)
	}
	_, err = get(t, safehttp.NewClient(p, 5*time.Second), byName)
	wantRefused(t, err, "loopback address")
	if !strings.Contains(err.Error(), "localhost") {
		t.Errorf("error %q does not name the host", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}

	// With loopback allowed the same name works, so the refusal above was
	// the policy's and not a lookup failure.
	resp, err := get(t, safehttp.NewClient(safehttp.Policy{AllowHTTP: true, AllowLoopback: true}, 5*time.Second), byName)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var followed atomic.Bool
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	c := safehttp.NewClient(safehttp.Policy{AllowHTTP: true, AllowLoopback: true}, 5*time.Second)
	resp, err := get(t, c, srv.URL+"/hook")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Fatalf("status %d, Location %q; want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if followed.Load() {
		t.Fatal("the redirect was followed")
	}
}

// The cloud metadata service is refused even by the most permissive policy.
func TestMetadataServiceRefused(t *testing.T) {
	all := safehttp.Policy{AllowHTTP: true, AllowLoopback: true, AllowPrivate: true}
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:169.254.169.254]/latest/meta-data/",
		"http://[fe80::1]/",
	} {
		t.Run(u, func(t *testing.T) {
			wantRefused(t, safehttp.ValidateURL(u, all), "link-local address")
			_, err := get(t, safehttp.NewClient(all, 5*time.Second), u)
			wantRefused(t, err, "link-local address")
		})
	}
}

func TestHTTPRefusedWithoutAllowHTTP(t *testing.T) {
	srv, hits := server(t, nil)
	p := safehttp.Policy{AllowLoopback: true}
	wantRefused(t, safehttp.ValidateURL(srv.URL, p), "scheme http is not allowed")
	_, err := get(t, safehttp.NewClient(p, 5*time.Second), srv.URL)
	wantRefused(t, err, "scheme http is not allowed")
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests reached the server", n)
	}
	for _, u := range []string{"ftp://example.com/x", "file:///etc/passwd", "/relative", "https:///nohost"} {
		if err := safehttp.ValidateURL(u, safehttp.Policy{AllowHTTP: true}); !errors.Is(err, safehttp.ErrForbiddenAddress) {
			t.Errorf("ValidateURL(%q): %v, want a refusal", u, err)
		}
	}
}

// A network failure is not a refusal: the caller retries one and not the other.
func TestNetworkErrorIsNotARefusal(t *testing.T) {
	srv, _ := server(t, nil)
	url := srv.URL
	srv.Close() // nothing listens there any more
	_, err := get(t, safehttp.NewClient(safehttp.Policy{AllowHTTP: true, AllowLoopback: true}, 5*time.Second), url)
	if err == nil {
		t.Fatal("call to a closed server succeeded")
	}
	if errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Fatalf("network error %v taken for a refusal", err)
	}
	if err := safehttp.ValidateURL("https://no-such-host.invalid/", safehttp.Policy{}); err == nil || errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Fatalf("unresolvable host: %v, want a lookup error that is not a refusal", err)
	}
}

func TestCheckAddr(t *testing.T) {
	none := safehttp.Policy{}
	loop := safehttp.Policy{AllowLoopback: true}
	priv := safehttp.Policy{AllowPrivate: true}
	for _, tc := range []struct {
		addr   string
		p      safehttp.Policy
		reason string // "" means allowed
	}{
		{"93.184.215.14", none, ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", none, ""},
		{"127.0.0.1", none, "loopback"},
		{"127.8.9.10", none, "loopback"},
		{"::1", none, "loopback"},
		{"::ffff:127.0.0.1", none, "loopback"},
		{"64:ff9b::7f00:1", none, "loopback"},
		{"127.0.0.1", loop, ""},
		{"::1", loop, ""},
		{"127.0.0.1", priv, "loopback"},
		{"10.1.2.3", none, "private"},
		{"172.16.0.1", none, "private"},
		{"172.31.255.254", none, "private"},
		{"172.32.0.1", none, ""},
		{"192.168.1.1", none, "private"},
		{"fd00:ec2::254", none, "private"},
		{"fc00::1", none, "private"},
		{"2002:c0a8:0101::1", none, "private"}, // 6to4 of 192.168.1.1
		{"10.1.2.3", priv, ""},
		{"fd12::1", priv, ""},
		{"10.1.2.3", loop, "private"},
		{"100.64.0.1", none, "carrier-grade NAT"},
		{"100.127.255.255", none, "carrier-grade NAT"},
		{"100.128.0.1", none, ""},
		{"100.64.0.1", priv, ""},
		{"169.254.169.254", priv, "cloud metadata"},
		{"169.254.1.1", priv, "link-local"},
		{"fe80::1", priv, "link-local"},
		{"0.0.0.0", priv, "unspecified"},
		{"::", priv, "unspecified"},
		{"0.1.2.3", priv, "reserved"},
		{"224.0.0.1", priv, "multicast"},
		{"239.1.2.3", priv, "multicast"},
		{"ff02::1", priv, "multicast"},
		{"255.255.255.255", priv, "reserved"},
		{"2001:db8::1", none, "reserved"},
	} {
		err := safehttp.CheckAddr(netip.MustParseAddr(tc.addr), tc.p)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s %+v: %v, want allowed", tc.addr, tc.p, err)
		case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason) || !errors.Is(err, safehttp.ErrForbiddenAddress)):
			t.Errorf("%s %+v: %v, want a refusal for %q", tc.addr, tc.p, err, tc.reason)
		}
	}
}
