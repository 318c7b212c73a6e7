package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/store"
)

// streamBody stores body as a streamed delivery, written a few KiB at a
// time as the gateway does.
func streamBody(t *testing.T, st *store.Store, integrationID string, body []byte) *store.Delivery {
	t.Helper()
	ctx := context.Background()
	w, err := st.BeginStreamedDelivery(ctx, integrationID)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(body); off += 32 << 10 {
		if _, err := w.Write(body[off:min(off+32<<10, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	d := &store.Delivery{IntegrationID: integrationID, EventType: "AttendeeManualSynced", Status: store.DeliveryReceived,
		MessageStub: sql.NullString{String: uuid.NewString(), Valid: true}}
	if _, err := w.Finish(ctx, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// jsonBody is a manual sync of n items: about 230 bytes an item.
func jsonBody(n int, extra func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"eventType":"AttendeeManualSynced","message":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"inviteeStub":"%s","email":"person%d@example.com","firstName":"Pat","lastName":"Lee",`+
			`"company":"Example Corp","inviteeStatus":"Accepted","note":"%s"}`, uuid.NewString(), i, extra(i))
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// A streamed body is stored compressed, chunk by chunk, and read back as it came.
func TestStreamedBodyIsStoredCompressed(t *testing.T) {
	st, integ := openStore(t)
	body := jsonBody(60000, func(int) string { return "" }) // three 4 MiB chunks
	d := streamBody(t, st, integ, body)
	if d.BodyChunks < 3 {
		t.Fatalf("%d chunks for %d bytes, want 3 or more", d.BodyChunks, len(body))
	}
	back, err := io.ReadAll(st.OpenBody(context.Background(), d))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, body) {
		t.Fatalf("read back %d bytes that differ from the %d stored", len(back), len(body))
	}
	var stored int64
	if err := st.DB().Get(&stored, `SELECT sum(octet_length(data)) FROM delivery_chunks WHERE delivery_id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	if stored*3 > int64(len(body)) {
		t.Errorf("chunks take %d bytes for a %d-byte body: not compressed", stored, len(body))
	}
}

// Erasure searches chunked bodies as one stream: an address across the
// boundary of two chunks is found, and only the bodies that mention the
// person are blanked.
func TestErasureBlanksChunkedBodiesThatMentionThePerson(t *testing.T) {
	st, integ := openStore(t)
	ctx := context.Background()
	const email = "split.across.chunks@example.com"
	// Put the address where the first 4 MiB chunk ends.
	prefix := store.BodyChunkBytes - len(email)/2
	body := make([]byte, 0, store.BodyChunkBytes*2)
	body = append(body, `{"eventType":"AttendeeManualSynced","message":[{"email":"x@example.com","note":"`...)
	body = append(body, bytes.Repeat([]byte("z"), prefix-len(body))...)
	body = append(body, email...)
	body = append(body, `"}]}`...)
	mentions := streamBody(t, st, integ, body)
	other := streamBody(t, st, integ, jsonBody(20000, func(int) string { return strings.Repeat("y", 10) }))
	if _, err := st.ErasePerson(ctx, store.Person{IntegrationID: integ, InviteeID: uuid.NewString(), Email: email}, keepBodies); err != nil {
		t.Fatal(err)
	}
	// Another erasure skips the blanked body (its chunks are gone).
	if _, err := st.ErasePerson(ctx, store.Person{IntegrationID: integ, InviteeID: uuid.NewString(), Email: "other@example.com"}, keepBodies); err != nil {
		t.Fatalf("an erasure after a body was blanked: %v", err)
	}
	for _, c := range []struct {
		d     *store.Delivery
		blank bool
	}{{mentions, true}, {other, false}} {
		var n int
		if err := st.DB().Get(&n, `SELECT count(*) FROM delivery_chunks WHERE delivery_id = $1`, c.d.ID); err != nil {
			t.Fatal(err)
		}
		if blanked := n == 0; blanked != c.blank {
			t.Errorf("delivery %d: %d chunks left, want blanked %v", c.d.ID, n, c.blank)
		}
	}
}
