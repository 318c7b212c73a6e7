package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/store"
)

// Sessions are written as a batch: each change is logged once with the
// session's speakers, a repeat of the same batch changes nothing, a
// session without speakers (a REST one) keeps the stored ones, the newest
// of a session repeated in the batch wins, and an older item is stale.
func TestUpsertSessionsBatch(t *testing.T) {
	st, id := openStore(t)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	write := func(sessions ...directory.Session) int {
		t.Helper()
		var n int
		if err := st.Apply(context.Background(), func(ctx context.Context, tx *store.Tx) (err error) {
			n, err = tx.UpsertSessions(ctx, sessions)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	speakersOf := func(c store.Change) []string {
		var rec struct{ SpeakerIDs []string }
		if err := json.Unmarshal(c.Record, &rec); err != nil {
			t.Fatal(err)
		}
		return rec.SpeakerIDs
	}
	keynote := directory.Session{IntegrationID: id, SessionID: "s1", Name: "Keynote", SpeakerIDs: []string{"sp2", "sp1"},
		StartsAt: t0.Add(time.Hour), SourceTime: t0}
	panel := directory.Session{IntegrationID: id, SessionID: "s2", Name: "Panel", SpeakerIDs: []string{}, SourceTime: t0}
	if n := write(keynote, panel); n != 2 {
		t.Fatalf("%d written, want 2", n)
	}
	got := readAll(t, st, id, 0)
	if !slices.Equal(types(got), []string{store.ChangeSessionCreated, store.ChangeSessionCreated}) ||
		!slices.Equal(speakersOf(got[0]), []string{"sp2", "sp1"}) || len(speakersOf(got[1])) != 0 {
		t.Fatalf("created: %v %s", types(got), got[0].Record)
	}
	before, err := st.ListSessions(context.Background(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	write(keynote, panel) // a replay
	after, _ := st.ListSessions(context.Background(), id, false)
	if n := len(readAll(t, st, id, 2)); n != 0 || !after[0].UpdatedAt.Equal(before[0].UpdatedAt) {
		t.Fatalf("a replay logged %d changes, moved updatedAt from %v to %v", n, before[0].UpdatedAt, after[0].UpdatedAt)
	}

	// A REST session (no speakers) renames the keynote and keeps its speakers;
	// the panel is sent twice in the batch, the newer item wins.
	rest := keynote
	rest.Name, rest.SpeakerIDs, rest.SourceTime = "Opening keynote", nil, t0.Add(time.Minute)
	newer, older := panel, panel
	newer.SpeakerIDs, newer.SourceTime = []string{"sp3"}, t0.Add(2*time.Minute)
	older.Name, older.SourceTime = "Old panel", t0.Add(time.Minute)
	if n := write(rest, newer, older); n != 2 {
		t.Fatalf("%d written, want 2 (the older panel item is stale)", n)
	}
	got = readAll(t, st, id, 2)
	if len(got) != 2 || got[0].Type != store.ChangeSessionUpdated || !slices.Equal(speakersOf(got[0]), []string{"sp2", "sp1"}) ||
		got[1].Type != store.ChangeSessionUpdated || !slices.Equal(speakersOf(got[1]), []string{"sp3"}) {
		t.Fatalf("updates: %v", got)
	}
	var changed map[string]any
	_ = json.Unmarshal(got[1].Changed, &changed)
	if _, ok := changed["speakerIds"]; !ok || len(changed) != 1 {
		t.Errorf("panel changed %s, want speakerIds alone", got[1].Changed)
	}

	// An item older than what is stored is stale and changes nothing.
	late := keynote
	late.Name = "Stale keynote"
	if n := write(late); n != 0 || len(readAll(t, st, id, 4)) != 0 {
		t.Errorf("a stale item: %d written", n)
	}
	// A tombstone keeps the speakers; deleted once, logged once.
	gone := directory.Session{IntegrationID: id, SessionID: "s1", Deleted: true, SourceTime: t0.Add(time.Hour)}
	write(gone)
	write(gone)
	got = readAll(t, st, id, 4)
	if len(got) != 1 || got[0].Type != store.ChangeSessionDeleted || !slices.Equal(speakersOf(got[0]), []string{"sp2", "sp1"}) {
		t.Errorf("deleted: %v", got)
	}
}

// Speakers are written as a batch too: one speaker.changed per change, none
// for a repeat of the batch, the newest of a speaker repeated in the batch
// wins, and a tombstone keeps the last data.
func TestUpsertSpeakersBatch(t *testing.T) {
	st, id := openStore(t)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	write := func(speakers ...directory.Speaker) int {
		t.Helper()
		var n int
		if err := st.Apply(context.Background(), func(ctx context.Context, tx *store.Tx) (err error) {
			n, err = tx.UpsertSpeakers(ctx, speakers)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ada := directory.Speaker{IntegrationID: id, SpeakerID: "sp1", FirstName: "Ada", LastName: "Lovelace", SessionIDs: []string{"s1"}, SourceTime: t0}
	grace := directory.Speaker{IntegrationID: id, SpeakerID: "sp2", FirstName: "Grace", LastName: "Hopper", SourceTime: t0}
	if n := write(ada, grace); n != 2 {
		t.Fatalf("%d written, want 2", n)
	}
	write(ada, grace) // a replay
	if got := readAll(t, st, id, 0); !slices.Equal(types(got), []string{store.ChangeSpeakerChanged, store.ChangeSpeakerChanged}) {
		t.Fatalf("after a replay: %v", types(got))
	}
	renamed, stale := grace, grace
	renamed.Company, renamed.SourceTime = "US Navy", t0.Add(2*time.Minute)
	stale.Company, stale.SourceTime = "Stale", t0.Add(time.Minute)
	if n := write(renamed, stale); n != 1 {
		t.Errorf("%d written, want 1 (the older item is stale)", n)
	}
	got := readAll(t, st, id, 2)
	if len(got) != 1 || !strings.Contains(string(got[0].Changed), `"US Navy"`) {
		t.Fatalf("update: %v", got)
	}
	gone := directory.Speaker{IntegrationID: id, SpeakerID: "sp1", Deleted: true, SourceTime: t0.Add(time.Hour)}
	write(gone)
	write(gone)
	got = readAll(t, st, id, 3)
	if len(got) != 1 || !strings.Contains(string(got[0].Record), `"Lovelace"`) || !strings.Contains(string(got[0].Record), `"deleted": true`) {
		t.Errorf("deleted: %v", got)
	}
	list, err := st.ListSpeakers(context.Background(), id)
	if err != nil || len(list) != 1 || list[0].Company != "US Navy" {
		t.Errorf("listed: %+v %v", list, err)
	}
}
