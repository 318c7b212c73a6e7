package ingest_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/ingest"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/store/storetest"
	"github.com/cventsync/cventsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newIntegration(t *testing.T, st *store.Store) string {
	t.Helper()
	id := uuid.NewString()
	if err := st.CreateIntegration(context.Background(), &store.Integration{ID: id, Name: "t", CventEventID: "e",
		Environment: "sandbox", Region: "na", WebhookTokenHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	return id
}

func webhook(t *testing.T, eventType string, at time.Time, items ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"eventType": eventType, "messageStub": uuid.NewString(),
		"messageTime": at.UTC().Format("2006-01-02T15:04:05.000Z"), "message": items})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func person(id, email, status string) map[string]any {
	return map[string]any{"inviteeStub": id, "email": email, "firstName": "Pat", "lastName": id[:4], "inviteeStatus": status}
}

// TestApplyManyEqualsOneAtATime applies a stream that splits into several
// runs (an attendee coming back, a session delivery in between, a stale
// message, a duplicate inside one delivery) with ApplyMany to one
// integration and one delivery at a time with Apply to another: the
// directories, the results and the change logs must be the same.
func TestApplyManyEqualsOneAtATime(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	a, b, c, d := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	bodies := [][]byte{
		webhook(t, "InviteeOrGuestAccepted", t0, person(a, "a@example.com", "Accepted"), person(b, "b@example.com", "Accepted")),
		webhook(t, "InviteeOrGuestAccepted", t0, person(c, "c@example.com", "Accepted")),
		webhook(t, "InviteeOrGuestModified", t0.Add(time.Minute), person(a, "a2@example.com", "Accepted")), // a again: a new run
		webhook(t, "InviteeOrGuestCancelled", t0.Add(2*time.Minute), person(b, "b@example.com", "Cancelled")),
		webhook(t, "InviteeOrGuestAccepted", t0.Add(-time.Minute), person(c, "old@example.com", "Accepted")), // stale
		webhook(t, "SessionCreated", t0, map[string]any{"sessionStub": uuid.NewString(), "name": "Keynote"}), // alone
		webhook(t, "InviteeOrGuestAccepted", t0, person(d, "d1@example.com", "Accepted"), person(d, "d2@example.com", "Accepted")),
		webhook(t, "InviteeOrGuestAccepted", t0, map[string]any{"email": "no-id@example.com"}), // skipped
	}
	cfg, err := ingest.MappingConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	deliveries := func(integ string) []ingest.Delivery {
		ds := make([]ingest.Delivery, len(bodies))
		for i, body := range bodies {
			ds[i] = ingest.Delivery{IntegrationID: integ, Body: body, ReceivedAt: t0, Mapping: cfg}
		}
		return ds
	}

	together, alone := newIntegration(t, st), newIntegration(t, st)
	var many []*ingest.Result
	if err := st.Apply(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		many, err = ingest.ApplyMany(ctx, tx, deliveries(together))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var one []*ingest.Result
	for _, del := range deliveries(alone) {
		if err := st.Apply(ctx, func(ctx context.Context, tx *store.Tx) error {
			r, err := ingest.Apply(ctx, tx, del)
			one = append(one, r)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}

	if !reflect.DeepEqual(many, one) {
		t.Errorf("results differ:\n together %s\n alone    %s", show(many), show(one))
	}
	if many[4].Stale != 1 || many[4].Written != 0 {
		t.Errorf("the stale message: %s, want 1 stale and nothing written", show(many[4]))
	}
	if got, want := attendees(t, st, together), attendees(t, st, alone); !reflect.DeepEqual(got, want) {
		t.Errorf("directories differ:\n together %v\n alone    %v", got, want)
	}
	gotLog, wantLog := changes(t, st, together), changes(t, st, alone)
	if !reflect.DeepEqual(gotLog, wantLog) {
		t.Errorf("change logs differ:\n together %v\n alone    %v", gotLog, wantLog)
	}
	if len(gotLog) < 6 {
		t.Errorf("change log %v: want the creation of a, b, c and d, a's update and b's revocation at least", gotLog)
	}
}

// TestApplyManyWritesARunInOneStatement checks the economy: a run of
// single registrations appends its changes with consecutive seqs, in the
// order of the deliveries, and each delivery's result names its attendee.
func TestApplyManyWritesARunInOneStatement(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	integ := newIntegration(t, st)
	cfg, _ := ingest.MappingConfig(nil)
	var ds []ingest.Delivery
	var ids []string
	for i := 0; i < 50; i++ {
		id := uuid.NewString()
		ids = append(ids, id)
		ds = append(ds, ingest.Delivery{IntegrationID: integ, ReceivedAt: time.Now(), Mapping: cfg,
			Body: webhook(t, "InviteeOrGuestAccepted", time.Now(), person(id, id+"@example.com", "Accepted"))})
	}
	var rs []*ingest.Result
	if err := st.Apply(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		rs, err = ingest.ApplyMany(ctx, tx, ds)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Written != 1 || len(r.InviteeIDs) != 1 || r.InviteeIDs[0] != ids[i] {
			t.Fatalf("result %d: %s, want one written, invitee %s", i, show(r), ids[i])
		}
	}
	log := changes(t, st, integ)
	if len(log) != len(ids) {
		t.Fatalf("%d changes, want %d", len(log), len(ids))
	}
	for i, ch := range log {
		if ch != "attendee.created attendee:"+ids[i] {
			t.Fatalf("change %d is %q, want the creation of %s (delivery order)", i, ch, ids[i])
		}
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// attendees lists the directory without the integration and the times.
func attendees(t *testing.T, st *store.Store, integ string) []directory.Attendee {
	t.Helper()
	as, err := st.ListAttendees(context.Background(), integ, store.AttendeeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range as {
		as[i].IntegrationID, as[i].UpdatedAt, as[i].CreatedAt = "", time.Time{}, time.Time{}
		as[i].SourceTime = as[i].SourceTime.UTC()
	}
	return as
}

// changes lists the change log as "type key" in seq order.
func changes(t *testing.T, st *store.Store, integ string) []string {
	t.Helper()
	chs, err := st.ReadChanges(context.Background(), integ, 0, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(chs))
	for i, ch := range chs {
		out[i] = ch.Type + " " + ch.Key
	}
	return out
}
