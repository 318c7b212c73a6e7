package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"
)

// CventCalls is a number of calls made to one Cvent account on one UTC day.
type CventCalls struct {
	Account string // client id
	Day     time.Time
	Calls   int64
}

// AddCventCalls adds counted calls to the accounts' daily totals, in one
// statement. Rows are written in a fixed order so that two processes
// flushing the same accounts at once cannot deadlock.
func (s *Store) AddCventCalls(ctx context.Context, counts []CventCalls) error {
	if len(counts) == 0 {
		return nil
	}
	counts = slices.Clone(counts)
	slices.SortFunc(counts, func(a, b CventCalls) int {
		if c := strings.Compare(a.Account, b.Account); c != 0 {
			return c
		}
		return a.Day.Compare(b.Day)
	})
	accounts, days, calls := make([]string, len(counts)), make([]string, len(counts)), make([]int64, len(counts))
	for i, c := range counts {
		accounts[i], days[i], calls[i] = c.Account, c.Day.UTC().Format(time.DateOnly), c.Calls
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO cvent_calls (account, day, calls)
		SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[])
		ON CONFLICT (account, day) DO UPDATE SET calls = cvent_calls.calls + excluded.calls`,
		pq.Array(accounts), pq.Array(days), pq.Array(calls))
	if err != nil {
		return fmt.Errorf("add Cvent calls: %w", err)
	}
	return nil
}

// CventTier is an account's usage tier as Cvent answered it.
type CventTier struct {
	Name string
	// Quota is calls per day; 0 means unlimited (Cvent's null quota).
	Quota      int64
	RateLimit  float64
	BurstLimit float64
}

// SaveCventTier records the account's usage tier.
func (s *Store) SaveCventTier(ctx context.Context, account string, t CventTier) error {
	quota := sql.NullInt64{Int64: t.Quota, Valid: t.Quota > 0}
	_, err := s.db.ExecContext(ctx, `INSERT INTO cvent_tiers (account, name, quota, rate_limit, burst_limit, read_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (account) DO UPDATE SET name = excluded.name, quota = excluded.quota,
			rate_limit = excluded.rate_limit, burst_limit = excluded.burst_limit, read_at = excluded.read_at`,
		account, t.Name, quota, t.RateLimit, t.BurstLimit)
	if err != nil {
		return fmt.Errorf("save Cvent usage tier: %w", err)
	}
	return nil
}

// CventUsage is one account's calls on a day, with its tier when known.
type CventUsage struct {
	Account string         `db:"account"`
	Calls   int64          `db:"calls"`
	Tier    sql.NullString `db:"tier"`  // not valid: the tier was never read
	Quota   sql.NullInt64  `db:"quota"` // not valid: unknown or unlimited
}

// CventUsageOn reads the calls made on a UTC day to the given accounts, or
// to every account with calls that day or a known tier when none are
// given. An account nothing is known of is left out.
func (s *Store) CventUsageOn(ctx context.Context, day time.Time, accounts ...string) ([]CventUsage, error) {
	if accounts == nil {
		accounts = []string{} // NULL would match nothing
	}
	out := []CventUsage{}
	err := s.db.SelectContext(ctx, &out, `WITH a AS (
			SELECT account FROM cvent_calls WHERE day = $1::date AND (cardinality($2::text[]) = 0 OR account = ANY($2))
			UNION
			SELECT account FROM cvent_tiers WHERE cardinality($2::text[]) = 0 OR account = ANY($2))
		SELECT a.account, COALESCE(c.calls, 0) AS calls, t.name AS tier, t.quota
		FROM a LEFT JOIN cvent_calls c ON c.account = a.account AND c.day = $1::date
			LEFT JOIN cvent_tiers t ON t.account = a.account
		ORDER BY a.account`, day.UTC().Format(time.DateOnly), pq.Array(accounts))
	if err != nil {
		return nil, fmt.Errorf("read Cvent usage: %w", err)
	}
	return out, nil
}
