package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/store"
)

// manualSync builds a manual sync of n attendees with the stub after the
// message (Cvent's key order varies), padded so it is streamed (> 1 MiB).
func manualSync(stub string, n int) ([]byte, []string) {
	var b bytes.Buffer
	ids := make([]string, n)
	b.WriteString(`{"eventType":"AttendeeManualSynced","messageTime":"` + time.Now().UTC().Format(time.RFC3339) + `","message":[`)
	for i := range ids {
		ids[i] = uuid.NewString()
		if i > 0 {
			b.WriteByte(',')
		}
		item, _ := json.Marshal(map[string]any{"inviteeStub": strings.ToUpper(ids[i]), "email": fmt.Sprintf("big%d@example.com", i),
			"firstName": "Big", "lastName": "Sync", "inviteeStatus": "Accepted", "internalNote": strings.Repeat("n", 600)})
		b.Write(item)
	}
	b.WriteString(`],"messageStub":"` + stub + `"}`)
	return b.Bytes(), ids
}

// A manual sync larger than 1 MiB is streamed to PostgreSQL in chunks,
// deduplicated by its stub found after the message, applied, and shown by
// size with a download link rather than inline.
func TestLargeBodyIsStreamedAndApplied(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	body, ids := manualSync("big-1", 3000)
	if len(body) < 2<<20 {
		t.Fatalf("body of %d bytes would not be streamed", len(body))
	}
	ans := s.post(in, in.WebhookToken, body, http.StatusOK)
	d := s.waitDelivery(ans.DeliveryID, 60*time.Second)
	if d.Status != store.DeliveryProcessed || d.BodyChunks < 1 || d.BodySize != int64(len(body)) || len(d.Body) != 0 || d.ItemCount != 3000 {
		t.Fatalf("streamed delivery: status %s, %d chunks, size %d (want %d), inline %d, items %d, %q",
			d.Status, d.BodyChunks, d.BodySize, len(body), len(d.Body), d.ItemCount, d.Error)
	}
	if got := s.attendees(in, "?limit=500"); len(got) != 500 || !got[0].Access {
		t.Errorf("attendees: %d", len(got))
	}
	var count int
	_ = s.store.DB().Get(&count, `SELECT count(*) FROM attendees WHERE integration_id = $1 AND access`, in.ID)
	if count != len(ids) {
		t.Errorf("%d attendees with access, want %d", count, len(ids))
	}
	again := s.post(in, in.WebhookToken, body, http.StatusOK)
	if again.Status != "duplicate" || again.DeliveryID != ans.DeliveryID {
		t.Errorf("the same sync again: %+v", again)
	}
	var shown struct {
		BodySize int64           `json:"bodySize"`
		BodyURL  string          `json:"bodyUrl"`
		Body     json.RawMessage `json:"body"`
	}
	s.admin(http.MethodGet, "/api/v1/deliveries/"+itoa(ans.DeliveryID), "", http.StatusOK, &shown)
	if shown.BodySize != int64(len(body)) || shown.BodyURL == "" || len(shown.Body) != 0 {
		t.Errorf("GET delivery: size %d, url %q, inline %d bytes", shown.BodySize, shown.BodyURL, len(shown.Body))
	}
	req, _ := http.NewRequest(http.MethodGet, s.server.URL+shown.BodyURL, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	downloaded, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(downloaded, body) {
		t.Errorf("downloaded body: %d bytes, differs from the %d sent", len(downloaded), len(body))
	}
}

// A truncated large body is kept as rejected with a 400 that says so.
func TestTruncatedLargeBodyIsRejected(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	body, _ := manualSync("big-2", 3000)
	body = body[:len(body)-5000]
	ans := s.post(in, in.WebhookToken, body, http.StatusBadRequest)
	if ans.Status != store.DeliveryRejected || !strings.Contains(ans.Error, "truncated") {
		t.Fatalf("truncated body: %+v", ans)
	}
	d, err := s.store.GetDelivery(context.Background(), ans.DeliveryID)
	if err != nil || d.Status != store.DeliveryRejected || d.BodySize != int64(len(body)) {
		t.Fatalf("rejected delivery kept: %+v %v", d, err)
	}
}

// An item that cannot be decoded fails a large delivery with a reason that
// names its chunk, after the chunks before it were applied; items are
// decoded ahead of the transaction that writes them, and the error still
// reaches the delivery.
func TestLargeDeliveryWithABadItemFailsWithItsChunk(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	body, ids := manualSync("big-bad", 2500)
	bad := `"inviteeStub":"` + strings.ToUpper(ids[1700]) + `"`
	if !bytes.Contains(body, []byte(bad)) {
		t.Fatal("item 1700 not found")
	}
	body = bytes.Replace(body, []byte(bad), []byte(bad+`,"customFields":"not a list"`), 1)
	ans := s.post(in, in.WebhookToken, body, http.StatusOK)
	d := s.waitDelivery(ans.DeliveryID, 60*time.Second)
	// Chunks: [0, 100), [100, 1100), [1100, 2100), …
	if d.Status != store.DeliveryFailed || !strings.Contains(d.Error, "items 1100 to 2100") || !strings.Contains(d.Error, "item 600") {
		t.Fatalf("delivery with a bad item 1700: status %s, error %q; want failed naming items 1100 to 2100 and item 600 of them", d.Status, d.Error)
	}
	var count int
	_ = s.store.DB().Get(&count, `SELECT count(*) FROM attendees WHERE integration_id = $1`, in.ID)
	if count != 1100 {
		t.Errorf("%d attendees stored, want the 1,100 of the chunks before", count)
	}
}
