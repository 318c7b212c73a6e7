package ingest

import (
	"context"
	"encoding/json"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/store"
)

// Decoded is a chunk of a large delivery's items decoded ahead of the
// transaction that applies it: a worker decodes the next chunk while the
// database writes this one, and the transaction (which holds the
// integration's change counter) is not kept waiting on JSON.
type Decoded struct {
	raw       []json.RawMessage
	attendees []cventpush.Attendee // attendee deliveries only
	isAttend  bool
}

// Decode decodes a chunk of items of a delivery of env's type. Items of
// kinds other than attendees are decoded when applied.
func Decode(env *cventpush.Envelope, raw []json.RawMessage) (*Decoded, error) {
	dec := &Decoded{raw: raw}
	if cventpush.KindOf(string(env.EventType)) == cventpush.KindAttendee {
		items, err := cventpush.Attendees(raw)
		if err != nil {
			return nil, err
		}
		dec.attendees, dec.isAttend = items, true
	}
	return dec, nil
}

// ApplyDecoded is ApplyItems for a chunk decoded ahead.
func ApplyDecoded(ctx context.Context, tx *store.Tx, d Delivery, env *cventpush.Envelope, dec *Decoded) (*Result, error) {
	if !dec.isAttend {
		return ApplyItems(ctx, tx, d, env, dec.raw)
	}
	p := newPlan(d, env, len(dec.raw))
	lookup := func(ctx context.Context, ids []string) (map[string]directory.Attendee, error) {
		return tx.LockAttendees(ctx, d.IntegrationID, ids)
	}
	if err := planAttendees(ctx, d, p, dec.attendees, lookup, txErased(tx, d.IntegrationID)); err != nil {
		return nil, err
	}
	return p.Result, p.write(ctx, tx, d)
}
