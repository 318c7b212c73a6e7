// Package safehttp owns cventsync's outbound HTTP to destinations that
// customers configure (the event platform's webhook endpoints): a client that
// cannot be pointed at the internal network (server-side request forgery).
//
// A customer who can choose a URL must not be able to make cventsync call its
// cloud metadata service, its database or anything else on a private network.
// Checking the URL when it is configured is not enough: the name can resolve
// to another address by the time of the call (DNS rebinding). So NewClient
// checks every address at dial time, after resolution, on the very address the
// socket connects to; ValidateURL gives the same verdict early, when the
// destination is configured, with a message an operator can act on.
//
// Refusals wrap ErrForbiddenAddress (the error is a *RefusedError), so a
// caller tells a policy refusal, which no retry can cure, from a network
// error.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Policy loosens the defaults for development and tests. The zero Policy is
// the production one: https only, public addresses only.
type Policy struct {
	// AllowHTTP permits plain http URLs.
	AllowHTTP bool
	// AllowLoopback permits 127.0.0.0/8 and ::1 (a receiver on this host).
	AllowLoopback bool
	// AllowPrivate permits private networks: 10/8, 172.16/12, 192.168/16,
	// fc00::/7, carrier-grade NAT 100.64/10 and similar non-public ranges.
	AllowPrivate bool
}

// ErrForbiddenAddress is wrapped by every refusal of the policy, whether of
// the scheme, of a missing host or of an address.
var ErrForbiddenAddress = errors.New("destination forbidden by policy")

// RefusedError says what was refused and why.
type RefusedError struct {
	Host   string     // the host of the URL, as written
	Addr   netip.Addr // the refused address; invalid when the refusal is not about an address
	Reason string     // e.g. "loopback address", "scheme http is not allowed"
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("safehttp: refused")
	if e.Host != "" {
		b.WriteString(" " + e.Host)
	}
	if e.Addr.IsValid() && e.Addr.String() != e.Host {
		b.WriteString(" (" + e.Addr.String() + ")")
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// Unwrap makes errors.Is(err, ErrForbiddenAddress) hold.
func (e *RefusedError) Unwrap() error { return ErrForbiddenAddress }

// Address classes beyond what netip.Addr reports itself.
var (
	// Carrier-grade NAT (RFC 6598): internal to providers, often to clouds.
	cgnat = netip.MustParsePrefix("100.64.0.0/10")
	// Non-public ranges that are used inside networks like private ones:
	// IETF protocol assignments, benchmarking, deprecated IPv6 site-local.
	privateLike = []netip.Prefix{
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("fec0::/10"),
	}
	// Ranges no legitimate webhook endpoint lives in.
	reserved = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
		netip.MustParsePrefix("192.0.2.0/24"),    // documentation
		netip.MustParsePrefix("198.51.100.0/24"), // documentation
		netip.MustParsePrefix("203.0.113.0/24"),  // documentation
		netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
		netip.MustParsePrefix("2001:db8::/32"),   // documentation
		netip.MustParsePrefix("100::/64"),        // discard-only
	}
	// IPv6 ranges that carry an IPv4 address, which is what is reached.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// CheckAddr returns nil if p allows connecting to a, or a *RefusedError
// naming the reason. Link-local addresses (169.254/16 with the cloud metadata
// service 169.254.169.254, fe80::/10), unspecified, multicast and reserved
// addresses are refused whatever the policy: no webhook endpoint lives there.
func CheckAddr(a netip.Addr, p Policy) error {
	if reason := refusal(a, p); reason != "" {
		return &RefusedError{Addr: a.Unmap(), Reason: reason}
	}
	return nil
}

func refusal(a netip.Addr, p Policy) string {
	if !a.IsValid() {
		return "not an IP address"
	}
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if a.Is6() {
		// The IPv4 address embedded in a translation prefix is the one reached.
		if nat64.Contains(a) {
			b := a.As16()
			return refusal(netip.AddrFrom4([4]byte(b[12:16])), p)
		}
		if sixToFour.Contains(a) {
			b := a.As16()
			if r := refusal(netip.AddrFrom4([4]byte(b[2:6])), p); r != "" {
				return r + " (in a 6to4 address)"
			}
		}
	}
	switch {
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsLoopback():
		if p.AllowLoopback {
			return ""
		}
		return "loopback address"
	case a.IsLinkLocalUnicast():
		if a == netip.AddrFrom4([4]byte{169, 254, 169, 254}) {
			return "link-local address (cloud metadata service)"
		}
		return "link-local address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast address"
	}
	for _, r := range reserved {
		if r.Contains(a) {
			return "reserved address"
		}
	}
	if a.IsPrivate() || cgnat.Contains(a) || containsAny(privateLike, a) {
		if p.AllowPrivate {
			return ""
		}
		if cgnat.Contains(a) {
			return "carrier-grade NAT address"
		}
		return "private address"
	}
	return ""
}

func containsAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkURL checks what can be checked without resolving: scheme and host,
// and the address when the host is an IP literal. It returns the host.
func checkURL(u *url.URL, p Policy) (string, error) {
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowHTTP {
			return "", &RefusedError{Host: u.Hostname(), Reason: "scheme http is not allowed, only https"}
		}
	default:
		return "", &RefusedError{Host: u.Hostname(), Reason: fmt.Sprintf("scheme %q is not allowed, only https", u.Scheme)}
	}
	host := u.Hostname()
	if host == "" {
		return "", &RefusedError{Reason: "the URL has no host"}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if err := CheckAddr(a, p); err != nil {
			return "", withHost(err, host)
		}
	}
	return host, nil
}

func withHost(err error, host string) error {
	var re *RefusedError
	if errors.As(err, &re) {
		return &RefusedError{Host: host, Addr: re.Addr, Reason: re.Reason}
	}
	return err
}

// resolveTimeout bounds ValidateURL's lookup.
const resolveTimeout = 10 * time.Second

// ValidateURL checks a destination URL when it is configured: scheme, host,
// and every address the host resolves to now. A later call is still checked
// at dial time by NewClient's client, since the name may resolve elsewhere
// then. A refusal wraps ErrForbiddenAddress; a failed lookup does not.
func ValidateURL(raw string, p Policy) error {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	return ValidateURLContext(ctx, raw, p)
}

// ValidateURLContext is ValidateURL with the lookup bound to ctx.
func ValidateURLContext(ctx context.Context, raw string, p Policy) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("destination URL: %w", err)
	}
	host, err := checkURL(u, p)
	if err != nil {
		return fmt.Errorf("destination URL: %w", err)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil // a literal, checked above
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("destination URL: resolve %s: %w", host, err)
	}
	// Every address must pass: the dialer may pick any of them.
	for _, a := range addrs {
		if err := CheckAddr(a, p); err != nil {
			return fmt.Errorf("destination URL: %w", withHost(err, host))
		}
	}
	return nil
}

// NewClient returns an http.Client for calls to configured destinations:
//   - only https unless p.AllowHTTP;
//   - each connection's address is checked after DNS resolution, as the
//     socket is about to connect, so neither a name nor a rebinding can lead
//     it inside; a refusal fails the call with an error wrapping
//     ErrForbiddenAddress;
//   - redirects are not followed (a 3xx is returned as the answer): a
//     redirect would be a second destination nobody validated;
//   - environment proxies are ignored: a proxy would make the connection
//     for us, past the check.
//
// timeout bounds each whole call (http.Client.Timeout); 0 means none.
func NewClient(p Policy, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &RefusedError{Reason: fmt.Sprintf("unexpected dial address %q", address)}
			}
			return CheckAddr(ap.Addr(), p)
		},
	}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				// Name the host in the refusal: the dialer only knows the IP.
				var re *RefusedError
				if errors.As(err, &re) {
					host, _, _ := net.SplitHostPort(addr)
					return nil, withHost(re, host)
				}
				return nil, err
			}
			return conn, nil
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: &schemeCheck{policy: p, next: transport},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// schemeCheck refuses a request before any dial if its URL breaks the policy.
type schemeCheck struct {
	policy Policy
	next   http.RoundTripper
}

func (s *schemeCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, err := checkURL(req.URL, s.policy); err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, err
	}
	return s.next.RoundTrip(req)
}
