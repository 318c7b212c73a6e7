package gateway

import (
	"context"
	"time"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cventusage"
	"github.com/cventsync/cventsync/internal/store"
)

// cventUsage is each integration's Cvent calls today (UTC) against its
// tier's daily quota, counted per account (client id), so integrations
// sharing credentials show the same count; nil for an integration without
// REST credentials. The counts are up to a second behind (every process
// adds its own about once a second, internal/cventusage). A failed read is
// logged and leaves the usage out: the integration itself still answers.
func (s *Server) cventUsage(ctx context.Context, ins []store.Integration) []*cventusage.Usage {
	out := make([]*cventusage.Usage, len(ins))
	accountOf := make([]string, len(ins))
	var accounts []string
	seen := map[string]bool{}
	for i := range ins {
		conn, err := connection.Decode(ins[i].Settings)
		if err != nil || !conn.HasCredentials() {
			continue
		}
		accountOf[i] = conn.ClientID
		if !seen[conn.ClientID] {
			seen[conn.ClientID] = true
			accounts = append(accounts, conn.ClientID)
		}
	}
	if len(accounts) == 0 {
		return out
	}
	today := cventusage.Today(time.Now())
	rows, err := s.opts.Store.CventUsageOn(ctx, today, accounts...)
	if err != nil {
		s.log.Warn("read Cvent usage", "error", err)
		return out
	}
	byAccount := make(map[string]store.CventUsage, len(rows))
	for _, r := range rows {
		byAccount[r.Account] = r
	}
	for i, account := range accountOf {
		if account == "" {
			continue
		}
		row, ok := byAccount[account]
		if !ok {
			row = store.CventUsage{Account: account} // no call yet today, tier not read
		}
		u := cventusage.Of(today, row)
		out[i] = &u
	}
	return out
}
