// Package sources owns the per-integration allow-list of networks that may
// post webhooks (the "webhooks" settings section) and the rule that finds a
// request's client address behind trusted proxies.
package sources

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/cventsync/cventsync/internal/settings"
)

// SettingsSection is the settings key: {"webhooks": {"allowFrom": ["203.0.113.0/24"]}}.
const SettingsSection = "webhooks"

// maxAllowFrom bounds the list; a longer one is a mistake, not a policy.
const maxAllowFrom = 256

// Config is the "webhooks" section. An empty AllowFrom allows every source
// (the token still has to match).
type Config struct {
	AllowFrom []string `json:"allowFrom,omitempty"`
}

func init() {
	settings.Register(SettingsSection, func(raw json.RawMessage) (json.RawMessage, error) {
		var cfg Config
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg); err != nil {
			return nil, fmt.Errorf(`webhooks must be {"allowFrom": ["203.0.113.0/24", ...]}: %w`, err)
		}
		if len(cfg.AllowFrom) > maxAllowFrom {
			return nil, fmt.Errorf("webhooks.allowFrom: at most %d networks", maxAllowFrom)
		}
		prefixes, err := ParsePrefixes(cfg.AllowFrom)
		if err != nil {
			return nil, fmt.Errorf("webhooks.allowFrom: %w", err)
		}
		cfg.AllowFrom = make([]string, len(prefixes))
		for i, p := range prefixes {
			cfg.AllowFrom[i] = p.String()
		}
		return json.Marshal(cfg)
	})
}

// ParsePrefixes reads CIDRs ("203.0.113.0/24", "2001:db8::/32") or single
// addresses (a /32 or /128), normalised to their network address.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR (like 203.0.113.0/24)", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Contains reports whether addr is in any of the prefixes.
func Contains(prefixes []netip.Prefix, addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientAddr is the address a request came from. The peer (remoteAddr) is
// the client unless it is a trusted proxy; then X-Forwarded-For is read from
// the right, skipping trusted proxies, and the first untrusted address is
// the client. Entries a client wrote itself (further left) are never
// believed. ok is false when no address can be read.
func ClientAddr(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	peer = peer.Unmap().WithZone("")
	if !Contains(trusted, peer) {
		return peer, true
	}
	var hops []string
	for _, h := range forwardedFor {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false // a proxy we trust wrote garbage: believe nothing
		}
		client = a.Unmap().WithZone("")
		if !Contains(trusted, client) {
			break
		}
	}
	return client, true
}
