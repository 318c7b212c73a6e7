package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/store"
)

// An acknowledged message records its attempt and moves the cursor in one
// write; after a replay moved the cursor, the attempt is still recorded
// but the cursor stays where the replay put it.
func TestRecordDeliveryMovesTheCursorOnlyFromWhereItWas(t *testing.T) {
	ctx := context.Background()
	st, id := openStore(t)
	d := &store.Destination{ID: "dst_" + uuid.NewString(), IntegrationID: id, URL: "https://platform.example/hooks",
		BatchSize: 1, Enabled: true, Secret: "whsec_x"}
	if err := st.CreateDestination(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := st.MarkDestinationFailing(ctx, d.ID, "POST answered 503"); err != nil {
		t.Fatal(err)
	}
	ok, err := st.RecordDelivery(ctx, &store.Attempt{DestinationID: d.ID, WebhookID: d.ID + "_1", FirstSeq: 1, LastSeq: 1,
		Changes: 1, Status: 200, LatencyMS: 3}, 0, 1)
	if err != nil || !ok {
		t.Fatalf("record delivery: %v, %v", ok, err)
	}
	got, err := st.GetDestination(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cursor != 1 || got.Status != store.DestinationActive || got.FailingSince.Valid || !got.LastSuccessAt.Valid {
		t.Fatalf("after a 2xx: %+v", got)
	}

	// A replay moved the cursor back meanwhile: a 2xx for the old message does not move it.
	if _, err := st.ReplayDestination(ctx, d.ID, 0); err != nil {
		t.Fatal(err)
	}
	ok, err = st.RecordDelivery(ctx, &store.Attempt{DestinationID: d.ID, WebhookID: d.ID + "_2", FirstSeq: 2, LastSeq: 2,
		Changes: 1, Status: 204}, 1, 2)
	if err != nil || ok {
		t.Fatalf("record delivery after a replay: %v, %v", ok, err)
	}
	if got, _ = st.GetDestination(ctx, d.ID); got.Cursor != 0 {
		t.Fatalf("cursor %d after the replay, want 0", got.Cursor)
	}
	attempts, err := st.ListAttempts(ctx, d.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 2 || attempts[0].WebhookID != d.ID+"_2" || attempts[1].Status != 200 || attempts[1].LatencyMS != 3 {
		t.Fatalf("attempts %+v", attempts)
	}
}

// The head ReadChangesAndHead answers was read before the entries: every
// entry up to it is in the answer when fewer than limit come back.
func TestReadChangesAndHeadAnswersTheHeadItRead(t *testing.T) {
	ctx := context.Background()
	st, id := openStore(t)
	upsert(t, st, directory.Attendee{IntegrationID: id, InviteeID: "a-1", Email: "a1@example.com", SourceTime: time.Now()},
		directory.Attendee{IntegrationID: id, InviteeID: "a-2", Email: "a2@example.com", SourceTime: time.Now()})
	head, changes, err := st.ReadChangesAndHead(ctx, id, 0, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head.LastSeq == 0 || int64(len(changes)) != head.LastSeq || changes[len(changes)-1].Seq != head.LastSeq {
		t.Fatalf("head %+v, %d changes", head, len(changes))
	}
	head, changes, err = st.ReadChangesAndHead(ctx, id, head.LastSeq, 100, nil)
	if err != nil || len(changes) != 0 || head.LastSeq == 0 {
		t.Fatalf("after the head: %+v, %d changes, %v", head, len(changes), err)
	}
}
