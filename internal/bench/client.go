package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cventsync/cventsync/internal/store"
)

// Integration is what creating one returns.
type Integration struct {
	ID           string `json:"id"`
	WebhookURL   string `json:"webhookUrl"`
	WebhookToken string `json:"webhookToken"`
	PlatformKey  string `json:"platformKey"`
}

func (e *Env) admin(ctx context.Context, method, path string, body any, out any) error {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequestWithContext(ctx, method, e.BaseURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var eb struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, eb.Error)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// CreateIntegration makes a fresh integration with the given settings sections.
func (e *Env) CreateIntegration(ctx context.Context, sections map[string]any) (*Integration, error) {
	body := map[string]any{"name": "bench", "cventEventId": uuid.NewString(), "environment": "sandbox", "region": "na"}
	for k, v := range sections {
		body[k] = v
	}
	var in Integration
	if err := e.admin(ctx, http.MethodPost, "/api/v1/integrations", body, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Stats reads an integration's counters.
func (e *Env) Stats(ctx context.Context, id string) (*store.Stats, error) {
	var st store.Stats
	err := e.admin(ctx, http.MethodGet, "/api/v1/integrations/"+id+"/stats", nil, &st)
	return &st, err
}

// HasAccess reports whether an attendee is visible with access through the API.
func (e *Env) HasAccess(ctx context.Context, integrationID, inviteeID string) (bool, error) {
	var out struct {
		Attendees []struct{ Access bool } `json:"attendees"`
	}
	if err := e.admin(ctx, http.MethodGet, "/api/v1/integrations/"+integrationID+"/attendees?inviteeId="+inviteeID, nil, &out); err != nil {
		return false, err
	}
	return len(out.Attendees) == 1 && out.Attendees[0].Access, nil
}

// PostWebhook sends a body as Cvent does and returns the answer's status and latency.
func (e *Env) PostWebhook(ctx context.Context, in *Integration, body []byte) (int, time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, in.WebhookURL, bytes.NewReader(body))
	req.Header.Set("Authorization", in.WebhookToken)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	drain(resp.Body)
	return resp.StatusCode, time.Since(start), nil
}

// WaitFor polls cond every interval until it holds or timeout passes.
func WaitFor(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) (time.Duration, error) {
	return waitFor(ctx, timeout, interval, interval, cond)
}

// WaitBackoff polls like WaitFor, but the interval grows by half each time
// up to maxInterval: many concurrent waiters must not become the load that
// slows down what they measure.
func WaitBackoff(ctx context.Context, timeout, interval, maxInterval time.Duration, cond func() (bool, error)) (time.Duration, error) {
	return waitFor(ctx, timeout, interval, maxInterval, cond)
}

func waitFor(ctx context.Context, timeout, interval, maxInterval time.Duration, cond func() (bool, error)) (time.Duration, error) {
	start := time.Now()
	for {
		ok, err := cond()
		if err == nil && ok {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			if err != nil {
				return time.Since(start), err
			}
			return time.Since(start), fmt.Errorf("not done after %v", timeout)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(interval):
		}
		interval = min(maxInterval, interval*3/2)
	}
}

// Registration builds a single-registration webhook in Cvent's envelope.
func Registration(inviteeID string, n int) []byte {
	b, _ := json.Marshal(map[string]any{
		"eventType": "InviteeOrGuestAccepted", "messageTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"messageStub": uuid.NewString(), "message": []map[string]any{attendeeItem(inviteeID, n, "")},
	})
	return b
}

// ManualSync builds an AttendeeManualSynced delivery of n attendees with
// the scenarios' mix of statuses.
func ManualSync(n int) ([]byte, []string) {
	items := make([]map[string]any, n)
	ids := make([]string, n)
	for i := range items {
		ids[i] = strings.ToUpper(uuid.NewString())
		items[i] = attendeeItem(ids[i], i, mixStatus(i))
	}
	b, _ := json.Marshal(map[string]any{
		"eventType": "AttendeeManualSynced", "messageTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"messageStub": uuid.NewString(), "message": items,
	})
	return b, ids
}

// attendeeItem is shaped like shared/cvent/samples/invitee_accepted.json,
// with its size, so that JSON and database costs are realistic.
func attendeeItem(inviteeID string, n int, status string) map[string]any {
	item := map[string]any{
		"inviteeStub": inviteeID, "contactStub": strings.ToUpper(uuid.NewString()), "contactSourceId": "",
		"eventStub": "3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B", "accountStub": "0F0E0D0C-0B0A-4909-8807-060504030201",
		"isGuest": "false", "prefix": "", "firstName": fmt.Sprintf("First%d", n), "middleName": "", "lastName": fmt.Sprintf("Last%d", n),
		"fullName": fmt.Sprintf("First%d Last%d", n, n), "nickName": "", "title": "Director of Research", "company": "Northwind Labs",
		"designation": "", "gender": "", "email": fmt.Sprintf("person%d.%s@northwind.example", n, strings.ToLower(inviteeID[:8])),
		"ccEmail": "", "profileImageUrl": "https://images.example/p.png", "workPhone": "+1 555 0100", "mobilePhone": "",
		"workCity": "Austin", "workState": "Texas", "workCountry": "United States", "contactType": "Attendee",
		"registrationType": "EMEA Track", "admissionItem": "Full Conference", "responseMethod": "Online",
		"registrationDate": "2026-03-02", "updatedDate": "2026-03-02", "confirmationNumber": "VQNB3XNFS5X", "referenceId": "",
		"optedOut": "no", "eligibleCredits": "0.00", "totalCredits": "0.00",
		"customFields": []map[string]any{{"id": "5A0C7E11-2B9D-4C3A-8E1F-7D6C5B4A3F21", "name": "Dietary Requirements", "value": "Vegetarian"}},
		"eventForInvitee": map[string]any{"eventTitle": "Northwind Summit 2026", "eventCode": "R5NP4NJYB3D",
			"eventStartDate": "2026-05-25 18:00:00.0", "eventEndDate": "2026-05-27 23:00:00.0", "eventTimeZoneName": "Central Time"},
		"orders": []map[string]any{{"orderNumber": "100045", "orderDate": "2026-03-02", "orderDetails": []map[string]any{
			{"productName": "Full Conference", "orderQuantity": "1", "orderAmount": "0.00", "paidAmount": "0.00"}}}},
	}
	if status != "" {
		item["inviteeStatus"] = status
		item["participantStatus"] = false
		item["sessionStubList"] = []string{}
	}
	return item
}
