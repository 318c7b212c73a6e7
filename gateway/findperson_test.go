package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/store"
)

type deliveryList struct {
	Deliveries []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"deliveries"`
}

func (l deliveryList) ids() []int64 {
	var out []int64
	for _, d := range l.Deliveries {
		out = append(out, d.ID)
	}
	return out
}

// A person's deliveries are found by invitee id (any case) and by e-mail
// (the attendees with that address), newest first.
func TestDeliveriesFilterByInviteeAndEmail(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	amara := s.post(in, in.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	other := s.post(in, in.WebhookToken, registration("other-1", "11111111-2222-4333-8444-555555555555", "Bo", time.Now()), http.StatusOK)
	amaraAgain := s.post(in, in.WebhookToken, s.sample("invitee_cancelled.json"), http.StatusOK)
	for _, id := range []int64{amara.DeliveryID, other.DeliveryID, amaraAgain.DeliveryID} {
		if d := s.waitDelivery(id, 30*time.Second); d.Status != store.DeliveryProcessed {
			t.Fatalf("delivery %d: %s %s", id, d.Status, d.Error)
		}
	}
	list := func(query string) []int64 {
		var out deliveryList
		s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/deliveries"+query, "", http.StatusOK, &out)
		return out.ids()
	}
	want := []int64{amaraAgain.DeliveryID, amara.DeliveryID}
	for _, q := range []string{
		"?inviteeId=6F1D2C3B-4A59-4E8D-9C7B-1A2B3C4D5E6F",
		"?inviteeId=6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f",
		"?email=Amara.Okafor@Northwind.example",
	} {
		if got := list(q); !equalIDs(got, want) {
			t.Errorf("deliveries%s = %v, want %v", q, got, want)
		}
	}
	if got := list("?email=11111111-2222-4333-8444-555555555555@example.com"); !equalIDs(got, []int64{other.DeliveryID}) {
		t.Errorf("the other person's deliveries by e-mail = %v, want [%d]", got, other.DeliveryID)
	}
	if got := list("?email=nobody@example.com"); len(got) != 0 {
		t.Errorf("an e-mail nobody has found %v", got)
	}
	if got := list("?inviteeId=6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f&eventType=InviteeOrGuestCancelled"); !equalIDs(got, []int64{amaraAgain.DeliveryID}) {
		t.Errorf("by invitee and event type = %v", got)
	}
	if got := list("?since=1h"); len(got) != 3 {
		t.Errorf("since 1h = %v, want all three", got)
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/deliveries?since=yesterday", "", http.StatusBadRequest, nil)
}

// Bulk replay runs as a BulkReplay workflow that puts the failed deliveries
// matching a filter back in the queue, with its progress and result at
// progressUrl; a dry run only lists them; processed ones are left alone.
func TestBulkReplayOfFailedDeliveries(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := s.createIntegration(newIntegration)
	good := s.post(in, in.WebhookToken, registration("good-1", "22222222-2222-4333-8444-555555555555", "Ann", time.Now()), http.StatusOK)
	body := registration("bad-1", "33333333-2222-4333-8444-555555555555", `Nul\u0000Byte`, time.Now())
	body = []byte(strings.Replace(string(body), `Nul\\u0000Byte`, `Nul\u0000Byte`, 1))
	bad := s.post(in, in.WebhookToken, body, http.StatusOK)
	if d := s.waitDelivery(good.DeliveryID, 30*time.Second); d.Status != store.DeliveryProcessed {
		t.Fatalf("good delivery: %s %s", d.Status, d.Error)
	}
	failed := s.waitDelivery(bad.DeliveryID, 30*time.Second)
	if failed.Status != store.DeliveryFailed {
		t.Fatalf("a NUL in a name must fail the delivery: %s", failed.Status)
	}
	type answer struct {
		Status      string  `json:"status"`
		ReplayID    string  `json:"replayId"`
		ProgressURL string  `json:"progressUrl"`
		Matched     int     `json:"matched"`
		Replayed    int     `json:"replayed"`
		DeliveryIDs []int64 `json:"deliveryIds"`
		WorkflowID  string  `json:"workflowId"`
	}
	path := "/api/v1/integrations/" + in.ID + "/deliveries/replay"
	var dry answer
	s.admin(http.MethodPost, path, `{"since":"2h","dryRun":true}`, http.StatusOK, &dry)
	if dry.Status != "dry-run" || dry.Matched != 1 || !equalIDs(dry.DeliveryIDs, []int64{bad.DeliveryID}) {
		t.Fatalf("dry run: %+v", dry)
	}
	if d, _ := s.store.GetDelivery(context.Background(), bad.DeliveryID); d.Status != store.DeliveryFailed {
		t.Fatalf("a dry run replayed: %s", d.Status)
	}
	var ans answer
	s.admin(http.MethodPost, path, `{"status":"failed","since":"2h","inviteeId":"33333333-2222-4333-8444-555555555555"}`, http.StatusAccepted, &ans)
	if ans.Status != "running" || ans.Matched != 1 || ans.ReplayID == "" || ans.ProgressURL == "" {
		t.Fatalf("bulk replay must run as a workflow: %+v", ans)
	}
	var progress struct {
		Status      string  `json:"status"`
		Matched     int     `json:"matched"`
		Replayed    int     `json:"replayed"`
		DeliveryIDs []int64 `json:"deliveryIds"`
		WorkflowID  string  `json:"workflowId"`
	}
	s.waitFor("the bulk replay to complete", 30*time.Second, func() (bool, string) {
		s.admin(http.MethodGet, ans.ProgressURL, "", http.StatusOK, &progress)
		return progress.Status == "completed", progress.Status
	})
	if progress.Replayed != 1 || progress.Matched != 1 || !equalIDs(progress.DeliveryIDs, []int64{bad.DeliveryID}) ||
		!strings.HasPrefix(progress.WorkflowID, "replay/"+in.ID+"/") {
		t.Fatalf("bulk replay result: %+v", progress)
	}
	again := s.waitDelivery(bad.DeliveryID, 30*time.Second)
	if again.Status != store.DeliveryFailed || !again.ProcessedAt.Time.After(failed.ProcessedAt.Time) {
		t.Errorf("replayed delivery must have run again (and failed again): %s, processed %v then %v",
			again.Status, failed.ProcessedAt.Time, again.ProcessedAt.Time)
	}
	if d, _ := s.store.GetDelivery(context.Background(), good.DeliveryID); d.ApplyCount != 1 {
		t.Errorf("a processed delivery outside the filter was replayed: applyCount %d", d.ApplyCount)
	}
	s.admin(http.MethodPost, path, `{"status":"rejected"}`, http.StatusBadRequest, nil)
	s.admin(http.MethodPost, path, `{"since":"last week"}`, http.StatusBadRequest, nil)
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
