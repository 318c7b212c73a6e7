package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/store"
)

// A data subject's erasure request by e-mail removes the person from every
// integration; replaying every stored delivery afterwards does not bring
// them back, and no text, jsonb or bytea column of any table holds their
// e-mail or name. Everyone else in a shared delivery stays.
func TestErasureByEmailLeavesNoTrace(t *testing.T) {
	s := newStack(t, stackOptions{})
	// A person unique to this test, so that the whole database can be searched.
	tag := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	email := "amara." + tag + "@northwind.example"
	lastName := "Okafor" + tag
	sample := bytes.ReplaceAll(s.sample("invitee_accepted.json"), []byte("amara.okafor@northwind.example"), []byte(email))
	sample = bytes.ReplaceAll(sample, []byte("Okafor"), []byte(lastName))
	sample = bytes.ReplaceAll(sample, []byte("AMARA.OKAFOR@NORTHWIND.EXAMPLE"), []byte(strings.ToUpper(email)))
	other := uuid.NewString()
	shared := withEnvelope("InviteeOrGuestModified", "shared-"+tag, time.Now(),
		map[string]any{"inviteeStub": amara, "email": strings.ToUpper(email), "lastName": lastName, "company": "Later Ltd", "inviteeStatus": "Accepted"},
		map[string]any{"inviteeStub": other, "email": other + "@example.com", "firstName": "Bo", "lastName": "Stays", "inviteeStatus": "Accepted"})

	var ins []integration
	var ids []int64
	for i := 0; i < 2; i++ {
		in := s.createIntegration(newIntegration)
		ins = append(ins, in)
		for _, body := range [][]byte{sample, shared} {
			ans := s.post(in, in.WebhookToken, body, http.StatusOK)
			if d := s.waitDelivery(ans.DeliveryID, 30*time.Second); d.Status != store.DeliveryProcessed {
				t.Fatalf("delivery %d: %s %s", d.ID, d.Status, d.Error)
			}
			ids = append(ids, ans.DeliveryID)
		}
		if len(s.attendees(in, "")) != 2 {
			t.Fatalf("integration %d: want the person and the other attendee", i)
		}
	}
	// Personal data in the other tables the erasure must reach.
	ctx := context.Background()
	db := s.store.DB()
	for _, in := range ins {
		for _, q := range []string{
			`INSERT INTO participation (integration_id, invitee_id, watched_seconds) VALUES ($1, $2, 60)`,
			`INSERT INTO session_participation (integration_id, invitee_id, session_id, watched_seconds) VALUES ($1, $2, 's1', 60)`,
			`INSERT INTO contact_updates (integration_id, invitee_id, contact_id, fields) VALUES ($1, $2, 'c', jsonb_build_object('email', $3::text))`,
		} {
			args := []any{in.ID, amara}
			if strings.Contains(q, "$3") {
				args = append(args, email)
			}
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	if n := countMentions(t, s, email, lastName); n == 0 {
		t.Fatal("the person is nowhere before the erasure: the test proves nothing")
	}

	var ans struct {
		Erased []store.Erasure `json:"erased"`
	}
	s.admin(http.MethodPost, "/api/v1/erasure", fmt.Sprintf(`{"email":%q}`, strings.ToUpper(email[:1])+email[1:]), http.StatusOK, &ans)
	if len(ans.Erased) != 2 {
		t.Fatalf("erased %+v, want the person in both integrations", ans.Erased)
	}
	for _, e := range ans.Erased {
		if !e.Attendee || e.BodiesRewritten != 2 || e.Changes == 0 {
			t.Errorf("erasure in %s: %+v", e.IntegrationID, e)
		}
	}

	// Replay everything that was stored: the tombstone skips the person.
	for _, id := range ids {
		s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(id)+"/replay", "", http.StatusAccepted, nil)
	}
	for _, id := range ids {
		if d := s.waitDelivery(id, 30*time.Second); d.Status != store.DeliveryProcessed {
			t.Fatalf("replayed delivery %d: %s %s", id, d.Status, d.Error)
		}
	}
	for i, in := range ins {
		list := s.attendees(in, "")
		if len(list) != 1 || list[0].InviteeID != other || list[0].LastName != "Stays" {
			t.Errorf("integration %d after erasure and replay: %+v", i, list)
		}
	}
	if n := countMentions(t, s, email, lastName); n != 0 {
		t.Errorf("%d traces of the person left after erasure and replay", n)
	}
	// The tombstone holds no e-mail, only its hash; a second request is harmless.
	var hashes []string
	if err := db.SelectContext(ctx, &hashes, `SELECT email_hash FROM erased_people WHERE invitee_id = $1 AND integration_id IN ($2, $3)`,
		amara, ins[0].ID, ins[1].ID); err != nil || len(hashes) != 2 || hashes[0] != store.EmailHash(email) {
		t.Errorf("tombstones %v %v", hashes, err)
	}
	s.admin(http.MethodPost, "/api/v1/erasure", fmt.Sprintf(`{"email":%q}`, email), http.StatusOK, nil)
	s.admin(http.MethodPost, "/api/v1/erasure", `{"email":"not an address"}`, http.StatusBadRequest, nil)
}

// DELETE of one attendee erases them the same way in that integration; an
// unknown invitee answers 404 and leaves no tombstone.
func TestDeleteAttendeeErases(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	invitee := uuid.NewString()
	ans := s.post(in, in.WebhookToken, registration("del-"+uuid.NewString(), invitee, "Dee", time.Now()), http.StatusOK)
	s.waitDelivery(ans.DeliveryID, 30*time.Second)
	s.admin(http.MethodDelete, "/api/v1/integrations/"+in.ID+"/attendees/"+invitee, "", http.StatusNoContent, nil)
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(ans.DeliveryID)+"/replay", "", http.StatusAccepted, nil)
	if d := s.waitDelivery(ans.DeliveryID, 30*time.Second); d.Status != store.DeliveryProcessed {
		t.Fatalf("replay: %s %s", d.Status, d.Error)
	}
	if list := s.attendees(in, ""); len(list) != 0 {
		t.Fatalf("the erased attendee came back: %+v", list)
	}
	if n := countMentions(t, s, invitee+"@example.com", invitee+"@example.com"); n != 0 {
		t.Errorf("%d traces left", n)
	}
	unknown := uuid.NewString()
	s.admin(http.MethodDelete, "/api/v1/integrations/"+in.ID+"/attendees/"+unknown, "", http.StatusNotFound, nil)
	var n int
	if err := s.store.DB().GetContext(context.Background(), &n, `SELECT count(*) FROM erased_people WHERE invitee_id = $1`, unknown); err != nil || n != 0 {
		t.Errorf("tombstone for an unknown invitee: %d %v", n, err)
	}
}

// countMentions searches every text, jsonb, bytea and text[] column of
// every table in the database for the needles, case-insensitively, and
// reports each hit.
func countMentions(t *testing.T, s *stack, needles ...string) int {
	t.Helper()
	ctx := context.Background()
	db := s.store.DB()
	var cols []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
		Type   string `db:"data_type"`
	}
	if err := db.SelectContext(ctx, &cols, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type IN ('text', 'jsonb', 'json', 'bytea', 'character varying', 'ARRAY')
		ORDER BY table_name, column_name`); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, c := range cols {
		expr := fmt.Sprintf("%q::text", c.Column)
		if c.Type == "bytea" {
			expr = fmt.Sprintf("encode(%q, 'escape')", c.Column)
		}
		for _, n := range needles {
			var count int
			q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE strpos(lower(%s), lower($1)) > 0`, c.Table, expr)
			if err := db.GetContext(ctx, &count, q, n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if count > 0 {
				t.Logf("%s.%s: %d rows mention %q", c.Table, c.Column, count, n)
				hits += count
			}
		}
	}
	return hits
}
