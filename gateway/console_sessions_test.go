package gateway_test

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/gateway"
	"github.com/cventsync/cventsync/internal/testenv"
)

// secondGateway is another gateway replica on the stack's database.
func secondGateway(t *testing.T, s *stack) *httptest.Server {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: testenv.TemporalAddress(t), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	gw := gateway.New(gateway.Options{Store: s.store, Temporal: c, TaskQueue: s.queue, AdminToken: adminToken,
		PublicURL: "http://cventsync.test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(gw.Close)
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// Two gateways share one database: a session begun on one opens the console
// on both, and signing out on the other ends it on both. The database keeps
// the session token's hash, not the token.
func TestConsoleSignOutEndsTheSessionOnEveryGateway(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	a, b := s.server.URL, secondGateway(t, s).URL
	cc := newConsoleClient(t)
	session := cc.signIn(a)

	for name, base := range map[string]string{"the gateway signed in on": a, "the other gateway": b} {
		if resp, _ := cc.do(http.MethodGet, base+"/console", nil, session); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /console on %s with the session: %d, want 200", name, resp.StatusCode)
		}
	}
	var hashes [][]byte
	if err := s.store.DB().SelectContext(context.Background(), &hashes, `SELECT token_hash FROM console_sessions`); err != nil {
		t.Fatal(err)
	}
	token, _, _ := strings.Cut(session.Value, ".")
	want := sha256.Sum256([]byte(token))
	if len(hashes) != 1 || string(hashes[0]) != string(want[:]) {
		t.Fatalf("console_sessions holds %x, want the one SHA-256 of the cookie's token %x", hashes, want)
	}

	_, home := cc.do(http.MethodGet, b+"/console", nil, session)
	resp, _ := cc.do(http.MethodPost, b+"/console/signout", url.Values{"csrf": {hiddenValue(t, home, "csrf")}}, session)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out on the other gateway: %d", resp.StatusCode)
	}
	for name, base := range map[string]string{"the gateway signed in on": a, "the gateway signed out on": b} {
		resp, _ := cc.do(http.MethodGet, base+"/console", nil, session)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin") {
			t.Errorf("GET /console on %s after sign-out: %d → %q, want 303 to the sign-in page", name, resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := cc.do(http.MethodPost, base+"/console/integrations/x/poll", url.Values{"csrf": {hiddenValue(t, home, "csrf")}}, session); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("POST on %s after sign-out: %d, want 303 to the sign-in page", name, resp.StatusCode)
		}
	}
	var left int
	if err := s.store.DB().GetContext(context.Background(), &left, `SELECT count(*) FROM console_sessions`); err != nil || left != 0 {
		t.Errorf("%d sessions left after sign-out (%v)", left, err)
	}
}
