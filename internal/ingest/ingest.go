// Package ingest applies a stored Cvent delivery to the attendee directory:
// it decodes the items, merges them with what is stored using the mapping
// rules, and writes the result in the caller's transaction in batches.
package ingest

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/mapping"
	"github.com/cventsync/cventsync/internal/settings"
	"github.com/cventsync/cventsync/internal/store"
)

// Result says what applying a delivery did.
type Result struct {
	EventType string `json:"eventType"`
	Items     int    `json:"items"`
	// Written counts records created or changed; Stale those older than what
	// was stored and therefore left alone; Skipped items without an id.
	Written int `json:"written"`
	Stale   int `json:"stale"`
	Skipped int `json:"skipped"`
	// InviteeIDs lists the attendees touched, only for small deliveries.
	InviteeIDs []string `json:"inviteeIds,omitempty"`
	Ignored    bool     `json:"ignored,omitempty"`
}

// MaxListedInvitees bounds Result.InviteeIDs.
const MaxListedInvitees = 100

// Delivery is what Apply needs to know about a stored delivery.
type Delivery struct {
	ID            int64 // 0 when the data did not come from a stored delivery
	IntegrationID string
	Body          []byte
	ReceivedAt    time.Time
	Mapping       *mapping.Config
}

// Apply decodes a delivery body and applies it in tx.
func Apply(ctx context.Context, tx *store.Tx, d Delivery) (*Result, error) {
	env, err := cventpush.DecodeEnvelope(d.Body)
	if err != nil {
		return nil, err
	}
	raw, err := env.Items()
	if err != nil {
		return nil, err
	}
	res := &Result{EventType: string(env.EventType), Items: len(raw)}
	sourceTime := env.MessageTime.Time
	if sourceTime.IsZero() {
		sourceTime = d.ReceivedAt
	}
	switch cventpush.KindOf(res.EventType) {
	case cventpush.KindAttendee:
		items, err := cventpush.Attendees(raw)
		if err != nil {
			return nil, err
		}
		err = applyAttendees(ctx, tx, d, res, items, sourceTime)
		return res, err
	case cventpush.KindSubstitution:
		items, err := cventpush.Substitutions(raw)
		if err != nil {
			return nil, err
		}
		return res, applySubstitutions(ctx, tx, d, res, items, sourceTime)
	case cventpush.KindSession, cventpush.KindSessionDeleted:
		items, err := cventpush.Sessions(raw)
		if err != nil {
			return nil, err
		}
		deleted := cventpush.KindOf(res.EventType) == cventpush.KindSessionDeleted
		sessions := make([]directory.Session, 0, len(items))
		for i := range items {
			if items[i].SessionID() == "" {
				res.Skipped++
				continue
			}
			sessions = append(sessions, mapping.FromSession(d.IntegrationID, &items[i], deleted, sourceTime))
		}
		n, err := tx.UpsertSessions(ctx, sessions)
		res.Written, res.Stale = n, len(sessions)-n
		return res, err
	default:
		res.Ignored = true
		return res, nil
	}
}

func applyAttendees(ctx context.Context, tx *store.Tx, d Delivery, res *Result, items []cventpush.Attendee, sourceTime time.Time) error {
	// The newest item per invitee wins inside one delivery too; one statement
	// cannot write the same row twice.
	latest := make(map[string]int, len(items))
	for i := range items {
		id := items[i].InviteeID()
		if id == "" {
			res.Skipped++
			continue
		}
		if j, ok := latest[id]; !ok || !items[i].UpdatedDate.Before(items[j].UpdatedDate.Time) {
			latest[id] = i
		}
	}
	ids := sortedKeys(latest)
	existing, err := tx.LockAttendees(ctx, d.IntegrationID, ids)
	if err != nil {
		return err
	}
	records := make([]directory.Attendee, 0, len(ids))
	for _, id := range ids {
		var old *directory.Attendee
		if e, ok := existing[id]; ok {
			old = &e
		}
		records = append(records, mapping.FromAttendee(d.Mapping, d.IntegrationID, res.EventType, &items[latest[id]], old, sourceTime))
	}
	return write(ctx, tx, d.ID, res, records, ids)
}

func applySubstitutions(ctx context.Context, tx *store.Tx, d Delivery, res *Result, items []cventpush.Substitution, sourceTime time.Time) error {
	byID := map[string]int{}
	for i := range items {
		if items[i].InviteeID() == "" {
			res.Skipped++
			continue
		}
		byID[items[i].InviteeID()] = i
	}
	ids := sortedKeys(byID)
	existing, err := tx.LockAttendees(ctx, d.IntegrationID, ids)
	if err != nil {
		return err
	}
	records := make([]directory.Attendee, 0, len(ids))
	for _, id := range ids {
		var old *directory.Attendee
		if e, ok := existing[id]; ok {
			old = &e
		}
		records = append(records, mapping.FromSubstitution(d.Mapping, d.IntegrationID, &items[byID[id]], old, sourceTime))
	}
	return write(ctx, tx, d.ID, res, records, ids)
}

func write(ctx context.Context, tx *store.Tx, deliveryID int64, res *Result, records []directory.Attendee, ids []string) error {
	n, err := tx.UpsertAttendees(ctx, deliveryID, records)
	if err != nil {
		return err
	}
	res.Written, res.Stale = n, len(records)-n
	if len(ids) <= MaxListedInvitees {
		res.InviteeIDs = ids
	}
	return nil
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MappingConfig reads the mapping section of an integration's settings.
func MappingConfig(doc json.RawMessage) (*mapping.Config, error) {
	var cfg mapping.Config
	if err := settings.Decode(doc, mapping.SettingsSection, &cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}
