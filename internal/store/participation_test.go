package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/participation"
	"github.com/cventsync/cventsync/internal/store"
)

// A claim is fenced: once a later attempt took an in-flight check-in over,
// the first attempt's late outcome changes nothing, whatever it says; the
// new owner's settled outcome stands. The same holds for session check-ins.
func TestAReplacedAttemptCannotOverwriteAClaim(t *testing.T) {
	st, id := openStore(t)
	ctx := context.Background()
	now := time.Now()
	upsert(t, st, directory.Attendee{IntegrationID: id, InviteeID: "inv-a", SourceTime: now},
		directory.Attendee{IntegrationID: id, InviteeID: "inv-b", SourceTime: now})
	cfg := &participation.Config{Criterion: participation.OnLogin, SessionMinutes: 1}
	events := []participation.Event{
		{Type: participation.Login, InviteeID: "inv-a", At: now}, {Type: participation.Login, InviteeID: "inv-b", At: now},
		{Type: participation.Watch, InviteeID: "inv-a", At: now, Seconds: 90, SessionID: "s1"},
	}
	if _, err := st.RecordActivity(ctx, id, cfg, events, now); err != nil {
		t.Fatal(err)
	}
	lease := now.Add(time.Minute)
	claimed, err := st.ClaimDue(ctx, id, "attempt-1", now.Add(time.Second), lease, 100)
	if err != nil || len(claimed) != 2 || !claimed[0].LeaseUntil.Valid {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	taken, err := st.TakeOverInFlight(ctx, id, "attempt-2", 100)
	if err != nil || len(taken) != 2 || !taken[0].LeaseUntil.Time.Equal(claimed[0].LeaseUntil.Time) {
		t.Fatalf("take-over: %v %+v", err, taken)
	}
	// attempt-1's call comes back late: "failed" for one, "pending" (send
	// again) for the other. Neither may land.
	n, err := st.RecordWriteOutcomes(ctx, id, "attempt-1", []store.WriteOutcome{
		{InviteeID: "inv-a", Status: store.ParticipationFailed, Error: "late"},
		{InviteeID: "inv-b", Status: store.ParticipationPending}})
	if err != nil || n != 0 {
		t.Fatalf("a replaced attempt recorded %d outcomes (%v)", n, err)
	}
	if err := st.EndLease(ctx, id, "attempt-1", []string{"inv-a", "inv-b"}, now); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetParticipation(ctx, id, []string{"inv-a", "inv-b"})
	for _, p := range got {
		if p.Status != store.ParticipationSending || p.BatchID != "attempt-2" || !p.LeaseUntil.Time.Equal(claimed[0].LeaseUntil.Time) {
			t.Errorf("%s after the late outcome: %s owned by %q until %v", p.InviteeID, p.Status, p.BatchID, p.LeaseUntil.Time)
		}
	}
	// The owner settles from Cvent's state.
	n, err = st.RecordWriteOutcomes(ctx, id, "attempt-2", []store.WriteOutcome{
		{InviteeID: "inv-a", Status: store.ParticipationWritten}, {InviteeID: "inv-b", Status: store.ParticipationPending}})
	if err != nil || n != 2 {
		t.Fatalf("the owner recorded %d outcomes (%v)", n, err)
	}
	got, _ = st.GetParticipation(ctx, id, []string{"inv-a", "inv-b"})
	if got["inv-a"].Status != store.ParticipationWritten || got["inv-b"].Status != store.ParticipationPending {
		t.Errorf("settled: %+v", got)
	}

	sc, err := st.ClaimDueSessions(ctx, id, "attempt-1", now.Add(time.Second), lease, 100)
	if err != nil || len(sc) != 1 {
		t.Fatalf("session claim: %v %+v", err, sc)
	}
	if again, _ := st.ClaimDueSessions(ctx, id, "attempt-2", now.Add(time.Second), lease, 100); len(again) != 0 {
		t.Fatalf("a session check-in in flight was claimed again for a blind re-send: %+v", again)
	}
	if st2, err := st.TakeOverSessionsInFlight(ctx, id, "attempt-2", 100); err != nil || len(st2) != 1 {
		t.Fatalf("session take-over: %v %+v", err, st2)
	}
	if n, err := st.RecordSessionOutcomes(ctx, id, "s1", "attempt-1", []store.WriteOutcome{{InviteeID: "inv-a", Status: store.ParticipationPending}}); err != nil || n != 0 {
		t.Fatalf("a replaced attempt recorded %d session outcomes (%v)", n, err)
	}
	if n, err := st.RecordSessionOutcomes(ctx, id, "s1", "attempt-2", []store.WriteOutcome{{InviteeID: "inv-a", Status: store.ParticipationWritten}}); err != nil || n != 1 {
		t.Fatalf("the owner recorded %d session outcomes (%v)", n, err)
	}
	if c, _ := st.SessionParticipationCounts(ctx, id); c["written"] != 1 {
		t.Errorf("session check-ins: %v", c)
	}
}
