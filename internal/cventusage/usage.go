// Package cventusage owns the count of calls cventsync makes to each Cvent
// account per day against the account's daily quota: the Recorder that
// counts them in memory and adds them to PostgreSQL about once a second, and
// the rule that reads a count against the tier (percent used, the warning).
//
// Cvent counts calls per account and resets the quota at 00:00 UTC
// (shared/cvent/FACTS.md, openapi.yaml); cventsync knows an account by its
// client id. What Cvent counts is not documented (the token request? a
// 429?), so every request sent is counted: the count may run a little
// above Cvent's, never below it.
package cventusage

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cventsync/cventsync/internal/store"
)

// WarnAbove is the share of the daily quota above which operators are warned.
const WarnAbove = 0.8

// Usage is an account's calls on a UTC day against its tier's daily quota.
type Usage struct {
	Account string `json:"account"` // client id
	Day     string `json:"day"`     // UTC, YYYY-MM-DD
	Calls   int64  `json:"calls"`
	// Tier is the usage tier's name; "" until GET /usage/tier was answered.
	Tier string `json:"tier,omitempty"`
	// Quota is the tier's calls per day; 0 when unknown or unlimited.
	Quota     int64   `json:"quota,omitempty"`
	Unlimited bool    `json:"unlimited,omitempty"`
	Percent   float64 `json:"percent"` // of Quota; 0 without one
	// Warn says more than WarnAbove of the quota is used.
	Warn bool `json:"warn"`
	// ResetsAt is the next 00:00 UTC, when Cvent starts the count again.
	ResetsAt time.Time `json:"resetsAt"`
	// Summary is the count in words: "1,234 of 15,000 today (8%)".
	Summary string `json:"summary"`
}

// Of reads a stored count against the account's tier.
func Of(day time.Time, u store.CventUsage) Usage {
	day = day.UTC().Truncate(24 * time.Hour)
	out := Usage{Account: u.Account, Day: day.Format(time.DateOnly), Calls: u.Calls, Tier: u.Tier.String,
		Quota: u.Quota.Int64, Unlimited: u.Tier.Valid && !u.Quota.Valid, ResetsAt: day.Add(24 * time.Hour)}
	if out.Quota > 0 {
		out.Percent = math.Round(float64(out.Calls)/float64(out.Quota)*1000) / 10
		out.Warn = float64(out.Calls) > WarnAbove*float64(out.Quota)
	}
	out.Summary = summary(out)
	return out
}

// Today is the UTC day of t, at 00:00.
func Today(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

func summary(u Usage) string {
	n := thousands(u.Calls)
	switch {
	case u.Quota > 0:
		return fmt.Sprintf("%s of %s today (%s)", n, thousands(u.Quota), percent(u.Calls, u.Quota))
	case u.Unlimited:
		return n + " today (unlimited tier)"
	default:
		return n + " today (tier not read yet)"
	}
}

// percent is calls of quota in whole percent, rounded down so that a
// warning never shows beside a share that looks under the line; "<1%" for
// a few calls rather than a misleading 0%.
func percent(calls, quota int64) string {
	if calls > 0 && calls*100 < quota {
		return "<1%"
	}
	return strconv.FormatInt(calls*100/quota, 10) + "%"
}

// thousands writes n with comma separators: 15000 → "15,000".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
