package gateway

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cventsync/cventsync/internal/cventpush"
)

// querySeeds builds list queries around the ids and emails of the shared
// Cvent samples (../shared/cvent/samples, read where they are).
func querySeeds(f *testing.F) []string {
	seeds := []string{"", "limit=50&before=10&status=failed", "limit=abc", "limit=-1&before=-1", "status=done",
		"access=true&after=x&limit=10000", "after=%00", "email=%ff", "since=7d", "since=2026-05-25T18:00:00Z", "since=-1d",
		"inviteeId=a&inviteeId=b", "limit=99999999999999999999", "before=9223372036854775808", "wait=30&types=attendee.changed"}
	paths, _ := filepath.Glob(filepath.Join("..", "..", "shared", "cvent", "samples", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		env, err := cventpush.DecodeEnvelope(b)
		if err != nil {
			continue
		}
		items, _ := env.Items()
		for _, it := range items {
			var a struct {
				InviteeStub string `json:"inviteeStub"`
				Email       string `json:"email"`
			}
			_ = json.Unmarshal(it, &a)
			seeds = append(seeds, url.Values{"inviteeId": {a.InviteeStub}, "email": {a.Email}, "eventType": {string(env.EventType)},
				"after": {strings.ToLower(a.InviteeStub)}, "limit": {"100"}, "status": {"processed"}}.Encode())
		}
	}
	return seeds
}

// The admin API's query parsing takes any query string without panicking,
// and what it accepts is within bounds and storable text.
func FuzzListQuery(f *testing.F) {
	for _, s := range querySeeds(f) {
		f.Add(s)
	}
	now := time.Date(2026, 5, 25, 18, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if d, err := parseDeliveryQuery(q); err == nil {
			if d.Limit < 0 || d.Limit > maxDeliveryPage || d.BeforeID < 0 || (d.Status != "" && !contains(deliveryStatuses, d.Status)) {
				t.Fatalf("accepted out of bounds: %+v", d)
			}
		}
		if a, err := parseAttendeeQuery(q); err == nil {
			if a.Limit < 0 || a.Limit > maxAttendeePage {
				t.Fatalf("accepted limit %d", a.Limit)
			}
			for _, v := range []string{a.Email, a.InviteeID, a.AfterID} {
				if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
					t.Fatalf("accepted text PostgreSQL cannot take: %q", v)
				}
			}
		}
		if v := q.Get("after"); v != "" {
			if n, err := parseCursor(v); err == nil && n < 0 {
				t.Fatalf("cursor %d", n)
			}
		}
		if v := q.Get("since"); v != "" {
			_, _ = parseSince(v, now)
		}
	})
}
