// Package ingest applies a stored Cvent delivery to the attendee directory:
// it decodes the items, merges them with what is stored using the mapping
// rules, and writes the result in the caller's transaction in batches.
package ingest

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
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

// Add counts other's work into r (a chunk into the whole delivery).
func (r *Result) Add(other *Result) {
	r.Written += other.Written
	r.Stale += other.Stale
	r.Skipped += other.Skipped
	for _, id := range other.InviteeIDs {
		if len(r.InviteeIDs) >= MaxListedInvitees {
			break
		}
		r.InviteeIDs = append(r.InviteeIDs, id)
	}
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
	// Extras holds what the REST API adds (attendee record, question
	// answers) by lower-case invitee id, for mappings that need it
	// (Mapping.NeedsREST). Fetch it before the transaction: no Cvent call
	// should hold row locks. Missing entries keep the stored values.
	Extras map[string]*mapping.Extra
	// ItemTimes orders each attendee by its own updatedDate (Cvent's
	// lastModified of a REST record) instead of the envelope's messageTime;
	// an item without a plausible one falls back to the latter.
	ItemTimes bool
}

// Lookup loads stored attendees by invitee id: locked inside a delivery's
// transaction, unlocked for a preview.
type Lookup func(ctx context.Context, inviteeIDs []string) (map[string]directory.Attendee, error)

// Erased answers which invitee ids were erased (store.Tx.ErasedInvitees):
// their items are skipped, so a replay of an old delivery or a poll never
// brings an erased person back. Nil checks nothing (a preview).
type Erased func(ctx context.Context, inviteeIDs []string) (map[string]bool, error)

func txErased(tx *store.Tx, integrationID string) Erased {
	return func(ctx context.Context, ids []string) (map[string]bool, error) {
		return tx.ErasedInvitees(ctx, integrationID, ids)
	}
}

// dropErased removes erased ids from ids (one lookup) and counts them.
func dropErased(ctx context.Context, erased Erased, ids []string) ([]string, int, error) {
	if erased == nil || len(ids) == 0 {
		return ids, 0, nil
	}
	gone, err := erased(ctx, ids)
	if err != nil || len(gone) == 0 {
		return ids, 0, err
	}
	kept := ids[:0:0]
	for _, id := range ids {
		if !gone[id] {
			kept = append(kept, id)
		}
	}
	return kept, len(ids) - len(kept), nil
}

// Plan is everything a delivery would change, computed without writing.
type Plan struct {
	Result    *Result
	Attendees []directory.Attendee
	// Sessions carry the speaker ids each session item listed.
	Sessions []directory.Session
	Speakers []directory.Speaker
	// Agendas are complete session lists by invitee (manual syncs).
	Agendas map[string][]string
	// AgendaEntries are single registrations or cancellations (session webhooks).
	AgendaEntries []directory.AgendaEntry
	sourceTime    time.Time
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
	plan, err := planItems(ctx, d, env, raw, func(ctx context.Context, ids []string) (map[string]directory.Attendee, error) {
		return tx.LockAttendees(ctx, d.IntegrationID, ids)
	}, txErased(tx, d.IntegrationID))
	if err != nil {
		return nil, err
	}
	return plan.Result, plan.write(ctx, tx, d)
}

// PlanDelivery decodes a delivery body and works out what it changes,
// merging with the stored records lookup returns. It writes nothing.
func PlanDelivery(ctx context.Context, d Delivery, lookup Lookup) (*Plan, error) {
	env, err := cventpush.DecodeEnvelope(d.Body)
	if err != nil {
		return nil, err
	}
	raw, err := env.Items()
	if err != nil {
		return nil, err
	}
	return planItems(ctx, d, env, raw, lookup, nil)
}

// ApplyItems applies some items of a decoded delivery in tx: a large
// delivery is applied in chunks, each in its own transaction.
func ApplyItems(ctx context.Context, tx *store.Tx, d Delivery, env *cventpush.Envelope, raw []json.RawMessage) (*Result, error) {
	plan, err := planItems(ctx, d, env, raw, func(ctx context.Context, ids []string) (map[string]directory.Attendee, error) {
		return tx.LockAttendees(ctx, d.IntegrationID, ids)
	}, txErased(tx, d.IntegrationID))
	if err != nil {
		return nil, err
	}
	return plan.Result, plan.write(ctx, tx, d)
}

// MaxClockSkew is how far in the future a messageTime may lie before it is
// taken for a mistake and replaced by the time the delivery was received.
const MaxClockSkew = 24 * time.Hour

func planItems(ctx context.Context, d Delivery, env *cventpush.Envelope, raw []json.RawMessage, lookup Lookup, erased Erased) (*Plan, error) {
	p := newPlan(d, env, len(raw))
	res := p.Result
	switch cventpush.KindOf(res.EventType) {
	case cventpush.KindAttendee:
		items, err := cventpush.Attendees(raw)
		if err != nil {
			return nil, err
		}
		return p, planAttendees(ctx, d, p, items, lookup, erased)
	case cventpush.KindSubstitution:
		items, err := cventpush.Substitutions(raw)
		if err != nil {
			return nil, err
		}
		return p, planSubstitutions(ctx, d, p, items, lookup, erased)
	case cventpush.KindSession, cventpush.KindSessionDeleted:
		items, err := cventpush.Sessions(raw)
		if err != nil {
			return nil, err
		}
		deleted := cventpush.KindOf(res.EventType) == cventpush.KindSessionDeleted
		for i := range items {
			if items[i].SessionID() == "" {
				res.Skipped++
				continue
			}
			p.Sessions = append(p.Sessions, mapping.FromSession(d.IntegrationID, &items[i], deleted, p.sourceTime))
		}
		return p, nil
	case cventpush.KindSpeaker:
		items, err := cventpush.Speakers(raw)
		if err != nil {
			return nil, err
		}
		deleted := res.EventType == cventpush.SpeakerDeleted
		for i := range items {
			if items[i].SpeakerID() == "" {
				res.Skipped++
				continue
			}
			p.Speakers = append(p.Speakers, mapping.FromSpeaker(d.IntegrationID, &items[i], deleted, p.sourceTime))
		}
		return p, nil
	case cventpush.KindSessionRegistration:
		items, err := cventpush.SessionRegistrations(raw)
		if err != nil {
			return nil, err
		}
		ids := map[string]bool{}
		for i := range items {
			if id := items[i].InviteeID(); id != "" {
				ids[id] = true
			}
		}
		kept, _, err := dropErased(ctx, erased, sortedKeys(ids))
		if err != nil {
			return nil, err
		}
		live := make(map[string]bool, len(kept))
		for _, id := range kept {
			live[id] = true
		}
		for i := range items {
			entries := mapping.AgendaFromRegistration(d.IntegrationID, res.EventType, &items[i], p.sourceTime)
			if items[i].InviteeID() == "" || len(entries) == 0 || !live[items[i].InviteeID()] {
				res.Skipped++
				continue
			}
			p.AgendaEntries = append(p.AgendaEntries, entries...)
		}
		return p, nil
	default:
		res.Ignored = true
		return p, nil
	}
}

// newPlan starts the plan of a delivery of n items.
func newPlan(d Delivery, env *cventpush.Envelope, n int) *Plan {
	p := &Plan{Result: &Result{EventType: string(env.EventType), Items: n}}
	p.sourceTime, _ = mapping.SourceTime(env.MessageTime.Time, d.ReceivedAt, MaxClockSkew)
	return p
}

func planAttendees(ctx context.Context, d Delivery, p *Plan, items []cventpush.Attendee, lookup Lookup, erased Erased) error {
	res := p.Result
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
	ids, gone, err := dropErased(ctx, erased, sortedKeys(latest))
	if err != nil {
		return err
	}
	res.Skipped += gone
	stored, err := storedBy(ctx, lookup, ids)
	if err != nil {
		return err
	}
	p.Attendees = make([]directory.Attendee, 0, len(ids))
	for _, id := range ids {
		old := stored(id)
		item := &items[latest[id]]
		if mapping.Skip(d.Mapping, item, old) {
			res.Skipped++
			continue
		}
		sourceTime := p.sourceTime
		if d.ItemTimes && !item.UpdatedDate.IsZero() {
			if t, clamped := mapping.SourceTime(item.UpdatedDate.Time, d.ReceivedAt, MaxClockSkew); !clamped {
				sourceTime = t
			}
		}
		p.Attendees = append(p.Attendees, mapping.FromAttendeeWith(d.Mapping, d.IntegrationID, res.EventType, item, d.Extras[id], old, sourceTime))
		if sessions, ok := mapping.AgendaFromSync(item); ok {
			if p.Agendas == nil {
				p.Agendas = map[string][]string{}
			}
			p.Agendas[id] = sessions
		}
	}
	return nil
}

func planSubstitutions(ctx context.Context, d Delivery, p *Plan, items []cventpush.Substitution, lookup Lookup, erased Erased) error {
	byID := map[string]int{}
	for i := range items {
		if items[i].InviteeID() == "" {
			p.Result.Skipped++
			continue
		}
		byID[items[i].InviteeID()] = i
	}
	ids, gone, err := dropErased(ctx, erased, sortedKeys(byID))
	if err != nil {
		return err
	}
	p.Result.Skipped += gone
	stored, err := storedBy(ctx, lookup, ids)
	if err != nil {
		return err
	}
	p.Attendees = make([]directory.Attendee, 0, len(ids))
	for _, id := range ids {
		p.Attendees = append(p.Attendees, mapping.FromSubstitution(d.Mapping, d.IntegrationID, &items[byID[id]], stored(id), p.sourceTime))
	}
	return nil
}

// storedBy loads the stored records of ids and returns a getter that gives
// nil for an attendee not stored yet.
func storedBy(ctx context.Context, lookup Lookup, ids []string) (func(id string) *directory.Attendee, error) {
	existing, err := lookup(ctx, ids)
	if err != nil {
		return nil, err
	}
	return func(id string) *directory.Attendee {
		if e, ok := existing[id]; ok {
			return &e
		}
		return nil
	}, nil
}

// write applies the plan in tx and fills in the result's counts.
func (p *Plan) write(ctx context.Context, tx *store.Tx, d Delivery) error {
	res := p.Result
	switch {
	case len(p.Attendees) > 0 || cventpush.KindOf(res.EventType) == cventpush.KindAttendee ||
		cventpush.KindOf(res.EventType) == cventpush.KindSubstitution:
		n, err := tx.UpsertAttendees(ctx, d.ID, p.Attendees)
		if err != nil {
			return err
		}
		res.Written, res.Stale = n, len(p.Attendees)-n
		res.InviteeIDs = attendeeIDs(p.Attendees)
		if err := tx.ReplaceAgendas(ctx, d.IntegrationID, p.Agendas, p.sourceTime); err != nil {
			return err
		}
	case len(p.Sessions) > 0:
		n, err := tx.UpsertSessions(ctx, p.Sessions)
		if err != nil {
			return err
		}
		res.Written, res.Stale = n, len(p.Sessions)-n
	case len(p.Speakers) > 0:
		n, err := tx.UpsertSpeakers(ctx, p.Speakers)
		res.Written, res.Stale = n, len(p.Speakers)-n
		return err
	case len(p.AgendaEntries) > 0:
		n, err := tx.UpsertAgenda(ctx, p.AgendaEntries)
		res.Written, res.Stale = n, len(p.AgendaEntries)-n
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, e := range p.AgendaEntries {
			if !seen[e.InviteeID] && len(res.InviteeIDs) < MaxListedInvitees {
				seen[e.InviteeID] = true
				res.InviteeIDs = append(res.InviteeIDs, e.InviteeID)
			}
		}
	}
	return nil
}

// attendeeIDs lists the invitee ids of attendees, or none when there are
// more than MaxListedInvitees.
func attendeeIDs(attendees []directory.Attendee) []string {
	if len(attendees) > MaxListedInvitees {
		return nil
	}
	ids := make([]string, len(attendees))
	for i := range attendees {
		ids[i] = attendees[i].InviteeID
	}
	return ids
}

// InviteeIDs lists the lower-case invitee ids of a delivery's attendee
// items, so a caller can fetch their REST records (Delivery.Extras) before
// applying it. Other kinds of delivery give none.
func InviteeIDs(body []byte) ([]string, error) {
	env, err := cventpush.DecodeEnvelope(body)
	if err != nil {
		return nil, err
	}
	if cventpush.KindOf(string(env.EventType)) != cventpush.KindAttendee {
		return nil, nil
	}
	raw, err := env.Items()
	if err != nil {
		return nil, err
	}
	items, err := cventpush.Attendees(raw)
	if err != nil {
		return nil, err
	}
	set := map[string]int{}
	for i := range items {
		if id := items[i].InviteeID(); id != "" {
			set[id] = i
		}
	}
	return sortedKeys(set), nil
}

// ApplyRESTSessions writes sessions and session enrollments pulled from the
// REST API (GET /sessions, GET /sessions/enrollment) in tx: sessions newest
// wins as for webhooks; every attendee the enrollment lists gets exactly
// those sessions as their personal agenda. Attendees it does not list keep
// theirs, so a partial pull never empties agendas.
func ApplyRESTSessions(ctx context.Context, tx *store.Tx, integrationID string, sessions []cvent.Session,
	enrollments []cvent.Enrollment, at time.Time) (*Result, error) {
	res := &Result{EventType: "RESTSessions", Items: len(sessions) + len(enrollments)}
	records := make([]directory.Session, 0, len(sessions))
	for i := range sessions {
		if sessions[i].ID == "" {
			res.Skipped++
			continue
		}
		records = append(records, mapping.FromRESTSession(integrationID, &sessions[i], at))
	}
	n, err := tx.UpsertSessions(ctx, records)
	if err != nil {
		return nil, err
	}
	res.Written, res.Stale = n, len(records)-n
	agendas := mapping.AgendasFromEnrollment(enrollments)
	gone, err := tx.ErasedInvitees(ctx, integrationID, sortedKeys(agendas))
	if err != nil {
		return nil, err
	}
	for id := range gone {
		delete(agendas, id)
	}
	if err := tx.ReplaceAgendas(ctx, integrationID, agendas, at); err != nil {
		return nil, err
	}
	return res, nil
}

func sortedKeys[V any](m map[string]V) []string {
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
