package ingest

import (
	"context"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/store"
)

// ApplyMany applies deliveries of one integration in tx, in order, and
// returns each one's result by position. Consecutive attendee deliveries
// that touch different attendees are applied together: one erasure check,
// one read of the stored records and one upsert for the whole run, the
// economy a steady stream of single registrations needs. A run ends before
// a delivery that touches an attendee already in it, or that is of another
// kind (applied alone, as Apply does), so every attendee sees its
// deliveries in order. An error is the whole call's.
func ApplyMany(ctx context.Context, tx *store.Tx, ds []Delivery) ([]*Result, error) {
	results := make([]*Result, len(ds))
	var run []runItem
	inRun := map[string]bool{}
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := applyRun(ctx, tx, run, results)
		run = run[:0]
		clear(inRun)
		return err
	}
	for i, d := range ds {
		item, ok, err := decodeForRun(d)
		if err != nil {
			return nil, err
		}
		if !ok {
			if err := flush(); err != nil {
				return nil, err
			}
			if results[i], err = Apply(ctx, tx, d); err != nil {
				return nil, err
			}
			continue
		}
		for _, id := range item.ids {
			if inRun[id] {
				if err := flush(); err != nil {
					return nil, err
				}
				break
			}
		}
		item.pos = i
		run = append(run, item)
		for _, id := range item.ids {
			inRun[id] = true
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return results, nil
}

// runItem is an attendee delivery decoded for a run.
type runItem struct {
	pos   int
	d     Delivery
	plan  *Plan
	items []cventpush.Attendee
	ids   []string // the invitee ids of its items
}

// decodeForRun decodes d if it is an attendee delivery that can join a run.
func decodeForRun(d Delivery) (runItem, bool, error) {
	env, err := cventpush.DecodeEnvelope(d.Body)
	if err != nil {
		return runItem{}, false, err
	}
	if cventpush.KindOf(string(env.EventType)) != cventpush.KindAttendee {
		return runItem{}, false, nil
	}
	raw, err := env.Items()
	if err != nil {
		return runItem{}, false, err
	}
	items, err := cventpush.Attendees(raw)
	if err != nil {
		return runItem{}, false, err
	}
	p := newPlan(d, env, len(raw))
	seen := map[string]bool{}
	var ids []string
	for i := range items {
		if id := items[i].InviteeID(); id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return runItem{d: d, plan: p, items: items, ids: ids}, true, nil
}

// applyRun plans and writes a run of attendee deliveries with distinct
// attendees, filling in their results.
func applyRun(ctx context.Context, tx *store.Tx, run []runItem, results []*Result) error {
	integrationID := run[0].d.IntegrationID
	var all []string
	for _, it := range run {
		all = append(all, it.ids...)
	}
	erasedIDs, err := tx.ErasedInvitees(ctx, integrationID, all)
	if err != nil {
		return err
	}
	stored, err := tx.LockAttendees(ctx, integrationID, all)
	if err != nil {
		return err
	}
	erased := func(context.Context, []string) (map[string]bool, error) { return erasedIDs, nil }
	lookup := func(context.Context, []string) (map[string]directory.Attendee, error) { return stored, nil }
	var (
		attendees []directory.Attendee
		from      []int64
	)
	for _, it := range run {
		if err := planAttendees(ctx, it.d, it.plan, it.items, lookup, erased); err != nil {
			return err
		}
		for range it.plan.Attendees {
			from = append(from, it.d.ID)
		}
		attendees = append(attendees, it.plan.Attendees...)
	}
	stale, err := tx.UpsertAttendeesFrom(ctx, from, attendees)
	if err != nil {
		return err
	}
	for _, it := range run {
		p := it.plan
		p.Result.Stale = 0
		for _, a := range p.Attendees {
			if stale[a.InviteeID] {
				p.Result.Stale++
			}
		}
		p.Result.Written = len(p.Attendees) - p.Result.Stale
		p.Result.InviteeIDs = attendeeIDs(p.Attendees)
		if err := tx.ReplaceAgendas(ctx, it.d.IntegrationID, p.Agendas, p.sourceTime); err != nil {
			return err
		}
		results[it.pos] = p.Result
	}
	return nil
}
