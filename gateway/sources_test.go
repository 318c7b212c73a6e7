package gateway_test

import (
	"bytes"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestSourceAllowList: an integration with webhooks.allowFrom takes
// webhooks only from those networks; X-Forwarded-For counts only when the
// peer is a trusted proxy, and only its rightmost untrusted entry.
func TestSourceAllowList(t *testing.T) {
	trusted := newStack(t, stackOptions{noWorker: true, trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	in := trusted.createIntegration(`{"name":"S","cventEventId":"ev-src","environment":"sandbox","region":"na","webhooks":{"allowFrom":["203.0.113.0/24","2001:db8::1"]}}`)
	body := trusted.sample("invitee_accepted.json")
	post := func(s *stack, xff string) int {
		req, _ := http.NewRequest(http.MethodPost, s.hookURL(in), bytes.NewReader(body))
		req.Header.Set("Authorization", in.WebhookToken)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		xff  string
		want int
	}{
		{"", http.StatusForbidden},                            // the proxy itself is not listed
		{"198.51.100.7", http.StatusForbidden},                // not listed
		{"203.0.113.9", http.StatusOK},                        // listed, via the trusted proxy
		{"203.0.113.9, 198.51.100.7", http.StatusForbidden},   // a client wrote the left entry
		{"198.51.100.7, 203.0.113.9", http.StatusOK},          // the proxy appended the right one
		{"2001:db8::1", http.StatusOK},                        // a single address
		{"203.0.113.9, not-an-address", http.StatusForbidden}, // garbage from the proxy: believe nothing
	} {
		if got := post(trusted, tc.xff); got != tc.want {
			t.Errorf("trusted proxy, X-Forwarded-For %q: %d, want %d", tc.xff, got, tc.want)
		}
	}
	// Without trusted proxies X-Forwarded-For is ignored: the peer (127.0.0.1) is not listed.
	untrusted := newStack(t, stackOptions{noWorker: true})
	in = untrusted.createIntegration(`{"name":"S","cventEventId":"ev-src","environment":"sandbox","region":"na","webhooks":{"allowFrom":["203.0.113.0/24"]}}`)
	if got := post(untrusted, "203.0.113.9"); got != http.StatusForbidden {
		t.Errorf("no trusted proxy, X-Forwarded-For 203.0.113.9: %d, want 403", got)
	}
	// Allowing the loopback network lets the test client in; null removes the list.
	untrusted.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, `{"webhooks":{"allowFrom":["127.0.0.1/32","::1"]}}`, http.StatusOK, nil)
	time.Sleep(2100 * time.Millisecond) // the webhook path caches integrations for 2 s
	if got := post(untrusted, ""); got != http.StatusOK {
		t.Errorf("loopback allowed: %d, want 200", got)
	}
}

// TestSourceAllowListValidated: bad networks are refused when stored.
func TestSourceAllowListValidated(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	for _, section := range []string{`{"allowFrom":["203.0.113.0/33"]}`, `{"allowFrom":["example.com"]}`, `{"allowFrom":"203.0.113.0/24"}`, `{"allow":["203.0.113.0/24"]}`} {
		status, ans := s.call(http.MethodPost, "/api/v1/integrations", adminToken,
			`{"name":"S","cventEventId":"ev","environment":"sandbox","region":"na","webhooks":`+section+`}`)
		if status != http.StatusBadRequest || !strings.Contains(ans, "webhooks") {
			t.Errorf("webhooks %s: %d %s, want 400 naming webhooks", section, status, ans)
		}
	}
	var in struct {
		Settings struct {
			Webhooks struct{ AllowFrom []string } `json:"webhooks"`
		} `json:"settings"`
	}
	s.admin(http.MethodPost, "/api/v1/integrations", `{"name":"S","cventEventId":"ev","environment":"sandbox","region":"na","webhooks":{"allowFrom":["203.0.113.77/24"," 10.0.0.1 "]}}`, http.StatusCreated, &in)
	if got := strings.Join(in.Settings.Webhooks.AllowFrom, ","); got != "203.0.113.0/24,10.0.0.1/32" {
		t.Fatalf("stored allowFrom %q, want normalised networks", got)
	}
}
