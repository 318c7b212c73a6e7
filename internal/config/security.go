package config

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cventsync/cventsync/internal/sources"
)

// TrustedProxyPrefixes parses CVENTSYNC_TRUSTED_PROXIES: the proxies (load
// balancers) whose X-Forwarded-For the gateway believes when it checks a
// webhook's source against an integration's webhooks.allowFrom.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	if strings.TrimSpace(c.TrustedProxies) == "" {
		return nil, nil
	}
	p, err := sources.ParsePrefixes(strings.Split(c.TrustedProxies, ","))
	if err != nil {
		return nil, fmt.Errorf("CVENTSYNC_TRUSTED_PROXIES: %w", err)
	}
	return p, nil
}
