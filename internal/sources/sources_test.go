package sources

import (
	"net/netip"
	"testing"
)

// TestSourceClientAddr: the peer is the client unless it is a trusted
// proxy; then X-Forwarded-For is read from the right past trusted proxies.
func TestSourceClientAddr(t *testing.T) {
	trusted, _ := ParsePrefixes([]string{"10.0.0.0/8", "::1"})
	cases := []struct {
		remote string
		xff    []string
		want   string
		ok     bool
	}{
		{"203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5", true}, // untrusted peer: XFF ignored
		{"10.1.1.1:4000", nil, "10.1.1.1", true},                            // trusted peer, no XFF
		{"10.1.1.1:4000", []string{"198.51.100.1"}, "198.51.100.1", true},
		{"10.1.1.1:4000", []string{"198.51.100.9, 198.51.100.1, 10.2.2.2"}, "198.51.100.1", true}, // two proxies
		{"10.1.1.1:4000", []string{"198.51.100.9", "198.51.100.1"}, "198.51.100.1", true},         // repeated headers
		{"[::1]:4000", []string{"2001:db8::7"}, "2001:db8::7", true},
		{"[::ffff:10.1.1.1]:4000", []string{"::ffff:198.51.100.1"}, "198.51.100.1", true}, // mapped addresses
		{"10.1.1.1:4000", []string{"198.51.100.1, junk"}, "", false},
		{"not-an-address", nil, "", false},
	}
	for _, c := range cases {
		got, ok := ClientAddr(c.remote, c.xff, trusted)
		if ok != c.ok || (ok && got.String() != c.want) {
			t.Errorf("ClientAddr(%q, %q) = %v, %v; want %s, %v", c.remote, c.xff, got, ok, c.want, c.ok)
		}
	}
	allow, err := ParsePrefixes([]string{"203.0.113.0/24", "::ffff:198.51.100.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"203.0.113.200": true, "198.51.100.3": true, "203.0.114.1": false, "::ffff:203.0.113.1": true} {
		if got := Contains(allow, netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
}
