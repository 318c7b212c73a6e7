package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/store/storetest"
	"github.com/cventsync/cventsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	id := uuid.NewString()
	if err := st.CreateIntegration(ctx, &store.Integration{ID: id, Name: "t", CventEventID: "e", Environment: "sandbox",
		Region: "na", WebhookTokenHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	return st, id
}

func upsert(t *testing.T, st *store.Store, as ...directory.Attendee) int {
	t.Helper()
	var n int
	err := st.Apply(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var err error
		n, err = tx.UpsertAttendees(ctx, 0, as)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readAll(t *testing.T, st *store.Store, id string, after int64) []store.Change {
	t.Helper()
	ch, err := st.ReadChanges(context.Background(), id, after, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func types(ch []store.Change) []string {
	out := make([]string, len(ch))
	for i, c := range ch {
		out[i] = c.Type
	}
	return out
}

func TestChangeLogAttendeeLifecycle(t *testing.T) {
	st, id := openStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	a := directory.Attendee{IntegrationID: id, InviteeID: "inv-1", Email: "a@example.com", FirstName: "Ada",
		CventStatus: "Accepted", Access: true, AccessGroups: []string{"attendees"}, SourceTime: t0}
	b := a
	b.InviteeID, b.Email = "inv-2", "b@example.com"
	if n := upsert(t, st, a, b); n != 2 {
		t.Fatalf("written %d, want 2", n)
	}
	got := readAll(t, st, id, 0)
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 || got[0].Type != store.ChangeAttendeeCreated ||
		got[0].Key != "attendee:inv-1" {
		t.Fatalf("after create: %+v", got)
	}
	before, _ := st.GetAttendee(ctx, id, "inv-1")

	// The same data again, and again with a newer source time: nothing.
	if n := upsert(t, st, a, b); n != 2 {
		t.Fatalf("replay written %d, want 2 (not stale)", n)
	}
	a2 := a
	a2.SourceTime = t0.Add(time.Minute)
	upsert(t, st, a2)
	if got := readAll(t, st, id, 2); len(got) != 0 {
		t.Fatalf("identical data appended %v", types(got))
	}
	after, _ := st.GetAttendee(ctx, id, "inv-1")
	if !after.UpdatedAt.Equal(before.UpdatedAt) || !after.SourceTime.Equal(a2.SourceTime) {
		t.Fatalf("identical data: updated_at %v → %v, source_time %v", before.UpdatedAt, after.UpdatedAt, after.SourceTime)
	}

	// A stale message: nothing, and counted stale.
	old := a
	old.FirstName = "Old"
	if n := upsert(t, st, old); n != 0 {
		t.Fatalf("stale written %d", n)
	}

	a3 := a2
	a3.SourceTime, a3.Title = t0.Add(2*time.Minute), "CTO"
	upsert(t, st, a3)
	a4 := a3
	a4.SourceTime, a4.Access, a4.CventStatus, a4.AccessGroups = t0.Add(3*time.Minute), false, "Cancelled", []string{}
	upsert(t, st, a4)
	if err := st.DeleteAttendee(ctx, id, "inv-2"); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, st, id, 2)
	want := []string{store.ChangeAttendeeUpdated, store.ChangeAccessRevoked, store.ChangeAttendeeRemoved}
	if len(got) != len(want) {
		t.Fatalf("types %v, want %v", types(got), want)
	}
	for i := range want {
		if got[i].Type != want[i] || got[i].Seq != int64(3+i) {
			t.Fatalf("change %d: %s seq %d, want %s seq %d", i, got[i].Type, got[i].Seq, want[i], 3+i)
		}
	}
	var changed map[string]struct{ Old, New any }
	if err := json.Unmarshal(got[0].Changed, &changed); err != nil || len(changed) != 1 || changed["title"].New != "CTO" {
		t.Fatalf("changed %s", got[0].Changed)
	}
	var rec struct {
		InviteeID string `json:"inviteeId"`
		Title     string `json:"title"`
		Access    bool   `json:"access"`
	}
	if err := json.Unmarshal(got[1].Record, &rec); err != nil || rec.InviteeID != "inv-1" || rec.Title != "CTO" || rec.Access {
		t.Fatalf("record %s", got[1].Record)
	}
	if err := json.Unmarshal(got[2].Record, &rec); err != nil || rec.InviteeID != "inv-2" {
		t.Fatalf("removed record %s", got[2].Record)
	}
	// Types filter.
	only, err := st.ReadChanges(ctx, id, 0, 10, []string{store.ChangeAttendeeRemoved})
	if err != nil || len(only) != 1 || only[0].Seq != 5 {
		t.Fatalf("filtered: %v %v", types(only), err)
	}
}

func TestChangeLogAgendaSessionsSpeakers(t *testing.T) {
	st, id := openStore(t)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	apply := func(fn func(ctx context.Context, tx *store.Tx) error) {
		t.Helper()
		if err := st.Apply(context.Background(), fn); err != nil {
			t.Fatal(err)
		}
	}
	sess := directory.Session{IntegrationID: id, SessionID: "s1", Name: "Keynote", SpeakerIDs: []string{"sp1"}, SourceTime: t0}
	agendas := map[string][]string{"inv-1": {"s1", "s2"}}
	for i := 0; i < 2; i++ { // the second round is a replay
		apply(func(ctx context.Context, tx *store.Tx) error {
			if _, err := tx.UpsertSessions(ctx, []directory.Session{sess}); err != nil {
				return err
			}
			if _, err := tx.UpsertSpeakers(ctx, []directory.Speaker{{IntegrationID: id, SpeakerID: "sp1", LastName: "Lovelace", SourceTime: t0}}); err != nil {
				return err
			}
			return tx.ReplaceAgendas(ctx, id, agendas, t0)
		})
	}
	got := readAll(t, st, id, 0)
	// The session is created once, with its speakers.
	want := []string{store.ChangeSessionCreated, store.ChangeSpeakerChanged, store.ChangeAgendaChanged}
	if len(got) != len(want) {
		t.Fatalf("types %v, want %v", types(got), want)
	}
	for i := range want {
		if got[i].Type != want[i] {
			t.Fatalf("types %v, want %v", types(got), want)
		}
	}
	// s2 dropped from the agenda, s1 deleted.
	apply(func(ctx context.Context, tx *store.Tx) error {
		if err := tx.ReplaceAgendas(ctx, id, map[string][]string{"inv-1": {"s1"}}, t0.Add(time.Minute)); err != nil {
			return err
		}
		del := sess
		del.Deleted, del.SourceTime = true, t0.Add(time.Minute)
		_, err := tx.UpsertSessions(ctx, []directory.Session{del})
		return err
	})
	var created struct{ SpeakerIDs []string }
	if err := json.Unmarshal(got[0].Record, &created); err != nil || len(created.SpeakerIDs) != 1 || created.SpeakerIDs[0] != "sp1" {
		t.Fatalf("created session record %s", got[0].Record)
	}
	got = readAll(t, st, id, 3)
	if len(got) != 2 || got[0].Type != store.ChangeAgendaChanged || got[1].Type != store.ChangeSessionDeleted {
		t.Fatalf("types %v", types(got))
	}
	var rec struct{ SessionIDs []string }
	if err := json.Unmarshal(got[0].Record, &rec); err != nil || len(rec.SessionIDs) != 1 || rec.SessionIDs[0] != "s1" {
		t.Fatalf("agenda record %s, changed %s", got[0].Record, got[0].Changed)
	}
}

func TestChangeLogPruneExpiresCursor(t *testing.T) {
	st, id := openStore(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		upsert(t, st, directory.Attendee{IntegrationID: id, InviteeID: uuid.NewString(), SourceTime: time.Now()})
	}
	n, err := st.PruneChanges(ctx, time.Now().Add(time.Hour), 2)
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if _, err := st.ReadChanges(ctx, id, 3, 10, nil); !errors.Is(err, store.ErrCursorExpired) {
		t.Fatalf("cursor 3 after pruning: %v", err)
	}
	if ch, err := st.ReadChanges(ctx, id, 5, 10, nil); err != nil || len(ch) != 0 {
		t.Fatalf("cursor 5 after pruning: %v %v", ch, err)
	}
	upsert(t, st, directory.Attendee{IntegrationID: id, InviteeID: "new", SourceTime: time.Now()})
	if ch, err := st.ReadChanges(ctx, id, 5, 10, nil); err != nil || len(ch) != 1 || ch[0].Seq != 6 {
		t.Fatalf("after a new change: %v %v", ch, err)
	}
}
