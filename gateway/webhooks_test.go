package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/store"
)

const newIntegration = `{"name":"Northwind Summit","cventEventId":"3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B","environment":"sandbox","region":"na"}`

const amara = "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f"

func TestCreateIntegrationValidatesAndHandsOutAToken(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	if in.ID == "" || !strings.HasSuffix(in.WebhookURL, "/webhooks/cvent/"+in.ID) {
		t.Fatalf("bad integration answer: %+v", in)
	}
	if n := len(in.WebhookToken); n < 32 || n > 150 {
		t.Errorf("webhook token has %d characters; Cvent takes at most 150 and it must be hard to guess", n)
	}
	var bad struct{ Error string }
	s.admin(http.MethodPost, "/api/v1/integrations", `{"name":"x","environment":"staging"}`, http.StatusBadRequest, &bad)
	if !strings.Contains(bad.Error, "cventEventId") || !strings.Contains(bad.Error, "environment") {
		t.Errorf("error does not name the problems: %q", bad.Error)
	}
	// Admin API without or with a wrong token.
	for _, h := range []string{"", "Bearer nope", adminToken} {
		req, _ := http.NewRequest(http.MethodGet, s.server.URL+"/api/v1/integrations/"+in.ID, nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		s.do(req, http.StatusUnauthorized, nil)
	}
	var got struct{ ID, WebhookToken string }
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID, "", http.StatusOK, &got)
	if got.ID != in.ID || got.WebhookToken != "" {
		t.Errorf("GET must return the integration without its token: %+v", got)
	}
}

func TestWebhookValidationGET(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	in := s.createIntegration(newIntegration)
	url := strings.Replace(in.WebhookURL, "http://cventsync.test", s.server.URL, 1)
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{"", in.WebhookToken, http.StatusOK},
		{"/InviteeOrGuestAccepted/123", in.WebhookToken, http.StatusOK},
		{"", "wrong", http.StatusUnauthorized},
		{"", "", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, url+c.path, nil)
		req.Header.Set("request-id", uuid.NewString())
		if c.token != "" {
			req.Header.Set("Authorization", c.token)
		}
		s.do(req, c.want, nil)
	}
	req, _ := http.NewRequest(http.MethodGet, s.server.URL+"/webhooks/cvent/"+uuid.NewString(), nil)
	req.Header.Set("Authorization", in.WebhookToken)
	s.do(req, http.StatusNotFound, nil)
}

// Every shared sample, in Cvent-time order, ends in the directory as the rules say.
func TestSharedSamplesReachTheDirectory(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	for _, name := range []string{"session_created.json", "invitee_accepted.json", "invitee_cancelled.json",
		"attendee_manual_sync.json", "invitee_substituted.json"} {
		ans := s.post(in, in.WebhookToken, s.sample(name), http.StatusOK)
		if ans.Status != "accepted" {
			t.Fatalf("%s: answer %+v", name, ans)
		}
		if d := s.waitDelivery(ans.DeliveryID, 15*time.Second); d.Status != store.DeliveryProcessed {
			t.Fatalf("%s: delivery %s: %s", name, d.Status, d.Error)
		}
	}
	byID := map[string]attendee{}
	for _, a := range s.attendees(in, "") {
		byID[a.InviteeID] = a
	}
	if len(byID) != 4 {
		t.Fatalf("got %d attendees, want 4: %+v", len(byID), byID)
	}
	a := byID[amara]
	if a.Access || a.CventStatus != "Cancelled" || a.Email != "amara.okafor@northwind.example" ||
		a.ProfileImageURL != "https://images.example/amara.png" || a.Company != "Northwind Labs" {
		t.Errorf("cancelled registrant: record must stay, without access: %+v", a)
	}
	lin := byID["11111111-aaaa-4bbb-8ccc-000000000001"]
	if !lin.Access || lin.FirstName != "Priya" || lin.LastName != "Raman" || lin.Email != "priya.raman@contoso.example" ||
		lin.ContactID != "22222222-aaaa-4bbb-8ccc-0000000000a1" || lin.RegistrationType != "Atlantic Track" {
		t.Errorf("substituted registrant: profile replaced, access kept: %+v", lin)
	}
	if w := byID["11111111-aaaa-4bbb-8ccc-000000000002"]; w.Access || w.CventStatus != "Waitlisted" {
		t.Errorf("waitlisted registrant must not have access: %+v", w)
	}
	if g := byID["11111111-aaaa-4bbb-8ccc-000000000003"]; !g.Access || !g.IsGuest {
		t.Errorf("accepted guest: %+v", g)
	}
	// Filters.
	if got := s.attendees(in, "?email=PRIYA.RAMAN@contoso.example"); len(got) != 1 || got[0].FirstName != "Priya" {
		t.Errorf("email filter: %+v", got)
	}
	if got := s.attendees(in, "?inviteeId="+strings.ToUpper(amara)); len(got) != 1 {
		t.Errorf("inviteeId filter must take Cvent's upper-case ids: %+v", got)
	}
	var sessions struct {
		Sessions []struct{ SessionID, Name string }
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/sessions", "", http.StatusOK, &sessions)
	if len(sessions.Sessions) != 1 || sessions.Sessions[0].Name != "Keynote: The Next Decade" {
		t.Errorf("sessions: %+v", sessions)
	}
	var deliveries struct {
		Deliveries []struct {
			Status, EventType, WorkflowID string
		}
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/deliveries", "", http.StatusOK, &deliveries)
	if len(deliveries.Deliveries) != 5 {
		t.Fatalf("delivery log has %d entries, want 5", len(deliveries.Deliveries))
	}
	for _, d := range deliveries.Deliveries {
		// Small deliveries are drained by the integration's ingest workflow
		// and recorded in batches.
		if d.Status != "processed" || !strings.HasPrefix(d.WorkflowID, "batch/"+in.ID+"/") {
			t.Errorf("delivery log entry: %+v", d)
		}
	}
}

func TestRepeatedDeliveryHasOneEffect(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	body := s.sample("invitee_accepted.json")
	first := s.post(in, in.WebhookToken, body, http.StatusOK)
	s.waitDelivery(first.DeliveryID, 15*time.Second)
	again := s.post(in, in.WebhookToken, body, http.StatusOK)
	if again.Status != "duplicate" || again.DeliveryID != first.DeliveryID {
		t.Fatalf("second delivery of the same messageStub: %+v (first %+v)", again, first)
	}
	list, err := s.store.ListDeliveries(context.Background(), in.ID, store.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("%d deliveries stored, want 1", len(list))
	}
	before, _ := s.store.GetAttendee(context.Background(), in.ID, amara)
	// A replay is idempotent too: same state, same source time.
	var replay struct{ Status, WorkflowID string }
	s.admin(http.MethodPost, "/api/v1/deliveries/"+itoa(first.DeliveryID)+"/replay", "", http.StatusAccepted, &replay)
	if d := s.waitDelivery(first.DeliveryID, 15*time.Second); d.Status != store.DeliveryProcessed {
		t.Fatalf("replayed delivery: %s %s", d.Status, d.Error)
	}
	after, _ := s.store.GetAttendee(context.Background(), in.ID, amara)
	if before.Email != after.Email || !before.SourceTime.Equal(after.SourceTime) || after.Access != true {
		t.Errorf("replay changed the record: before %+v after %+v", before, after)
	}
	if got := s.attendees(in, ""); len(got) != 1 {
		t.Errorf("%d attendees, want 1", len(got))
	}
}

func TestOlderMessageNeverOverwritesNewer(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	// The cancellation (newer) arrives before the registration (older).
	cancel := s.post(in, in.WebhookToken, s.sample("invitee_cancelled.json"), http.StatusOK)
	s.waitDelivery(cancel.DeliveryID, 15*time.Second)
	accept := s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	d := s.waitDelivery(accept.DeliveryID, 15*time.Second)
	if d.Status != store.DeliveryProcessed {
		t.Fatalf("late registration: %s %s", d.Status, d.Error)
	}
	got := s.attendees(in, "")
	if len(got) != 1 || got[0].Access || got[0].CventStatus != "Cancelled" {
		t.Fatalf("the older registration overwrote the newer cancellation: %+v", got)
	}
	var result struct{ Stale, Written int }
	if err := json.Unmarshal(d.Result, &result); err != nil || result.Stale != 1 || result.Written != 0 {
		t.Errorf("delivery result should count the stale item: %s", d.Result)
	}
}

func TestMalformedAndUnauthorisedDeliveries(t *testing.T) {
	s := newStack(t, stackOptions{maxBodyBytes: 64 << 10})
	in := s.createIntegration(newIntegration)

	bad := s.post(in, in.WebhookToken, []byte(`{"eventType":"InviteeOrGuestAccepted","message":[{"inviteeStub":`), http.StatusBadRequest)
	if bad.Status != "rejected" || bad.Error == "" || bad.DeliveryID == 0 {
		t.Fatalf("malformed JSON answer: %+v", bad)
	}
	d, err := s.store.GetDelivery(context.Background(), bad.DeliveryID)
	if err != nil || d.Status != store.DeliveryRejected || !bytes.HasPrefix(d.Body, []byte(`{"eventType"`)) {
		t.Fatalf("malformed body must be kept as a rejected delivery: %+v %v", d, err)
	}

	s.post(in, "not-the-token", s.sample("invitee_accepted.json"), http.StatusUnauthorized)
	s.post(in, "", s.sample("invitee_accepted.json"), http.StatusUnauthorized)
	other := s.createIntegration(newIntegration)
	s.post(in, other.WebhookToken, s.sample("invitee_accepted.json"), http.StatusUnauthorized)
	list, _ := s.store.ListDeliveries(context.Background(), in.ID, store.DeliveryFilter{})
	if len(list) != 1 {
		t.Errorf("unauthorised deliveries were stored: %d deliveries, want only the rejected one", len(list))
	}

	unknown := s.post(in, in.WebhookToken, withEnvelope("InviteeOrGuestEmailOpened", uuid.NewString(), time.Now(),
		map[string]any{"inviteeStub": uuid.NewString()}), http.StatusOK)
	if unknown.Status != "ignored" {
		t.Errorf("unknown event type: %+v", unknown)
	}

	big := withEnvelope("AttendeeManualSynced", uuid.NewString(), time.Now(), map[string]any{"internalNote": strings.Repeat("x", 70<<10)})
	s.post(in, in.WebhookToken, big, http.StatusRequestEntityTooLarge)
	if got := s.attendees(in, ""); len(got) != 0 {
		t.Errorf("attendees from rejected deliveries: %+v", got)
	}
}

func TestManualSyncOfThousandsIsOneBatch(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	items := make([]map[string]any, 3000)
	for i := range items {
		status := "Accepted"
		if i%10 == 0 {
			status = "Cancelled"
		}
		items[i] = map[string]any{"inviteeStub": strings.ToUpper(uuid.NewString()), "inviteeStatus": status,
			"firstName": "P" + itoa(int64(i)), "email": "p" + itoa(int64(i)) + "@x.example", "isGuest": "false"}
	}
	ans := s.post(in, in.WebhookToken, withEnvelope("AttendeeManualSynced", uuid.NewString(), time.Now(), items...), http.StatusOK)
	d := s.waitDelivery(ans.DeliveryID, 60*time.Second)
	if d.Status != store.DeliveryProcessed {
		t.Fatalf("manual sync: %s %s", d.Status, d.Error)
	}
	total, withAccess, err := s.store.CountAttendees(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3000 || withAccess != 2700 {
		t.Errorf("got %d attendees (%d with access), want 3000 (2700)", total, withAccess)
	}
}

func TestSettingsDriveAccessGroups(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(`{"name":"n","cventEventId":"e","mapping":{"defaultGroup":"attendees"}}`)
	var bad struct {
		Error   string
		Details []string
	}
	s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, `{"mapping":{"defaultGrup":"x"},"colour":"red"}`, http.StatusBadRequest, &bad)
	if len(bad.Details) != 2 || !strings.Contains(bad.Error, "defaultGrup") || !strings.Contains(bad.Error, "colour") {
		t.Fatalf("invalid settings must be named: %+v", bad)
	}
	s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID,
		`{"mapping":{"defaultGroup":"attendees","registrationTypeGroups":{"EMEA Track":["emea"]}}}`, http.StatusOK, nil)
	ans := s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	s.waitDelivery(ans.DeliveryID, 15*time.Second)
	got := s.attendees(in, "")
	if len(got) != 1 || strings.Join(got[0].Groups, ",") != "attendees,emea" {
		t.Fatalf("groups from settings: %+v", got)
	}
}
