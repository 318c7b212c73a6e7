package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Target is where webhooks go: the URL configured in Cvent's Push API
// settings and its token, sent raw as the Authorization header.
type Target struct {
	URL    string
	Token  string
	Client *http.Client
}

// Sent is the outcome of one webhook POST.
type Sent struct {
	EventType   string
	MessageStub string
	InviteeIDs  []string // lower case, as the REST API spells them
	SentAt      time.Time
	Status      int
	Latency     time.Duration
	Err         error
}

// Post sends one delivery in Cvent's envelope.
func (s *Simulator) Post(ctx context.Context, t Target, eventType string, items []map[string]any) Sent {
	stub := uuid.NewString()
	out := Sent{EventType: eventType, MessageStub: stub}
	for _, it := range items {
		if id, ok := it["inviteeStub"].(string); ok {
			out.InviteeIDs = append(out.InviteeIDs, strings.ToLower(id))
		}
	}
	body, err := json.Marshal(map[string]any{"eventType": eventType,
		"messageTime": s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "messageStub": stub, "message": items})
	if err != nil {
		out.Err = err
		return out
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		out.Err = err
		return out
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", t.Token)
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	out.SentAt = time.Now()
	resp, err := client.Do(req)
	out.Latency = time.Since(out.SentAt)
	if err != nil {
		out.Err = err
		return out
	}
	resp.Body.Close()
	out.Status = resp.StatusCode
	return out
}

// WebhookItem renders an attendee as a webhook item, with Cvent's quirks:
// UPPER-CASE ids, "" for empty values, flags as strings or numbers, dates in
// the several formats Cvent mixes.
func (s *Simulator) WebhookItem(a Attendee, withStatus bool) map[string]any {
	s.mu.Lock()
	flag := []any{false, "false", "False", 0, "no"}[s.rng.IntN(5)]
	if a.Guest {
		flag = []any{true, "true", "True", 1, "yes"}[s.rng.IntN(5)]
	}
	date := []string{"2006-01-02", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05.000Z", "2006-01-02 15:04:05.0"}[s.rng.IntN(4)]
	s.mu.Unlock()
	up := strings.ToUpper
	item := map[string]any{
		"inviteeStub": up(a.ID), "contactStub": up(a.ContactID), "contactSourceId": "", "eventStub": up(s.event.ID),
		"accountStub": "0F0E0D0C-0B0A-4909-8807-060504030201", "isGuest": flag, "prefix": "",
		"firstName": a.FirstName, "middleName": "", "lastName": a.LastName, "fullName": a.FirstName + " " + a.LastName,
		"title": a.Title, "company": a.Company, "email": a.Email, "ccEmail": "", "profileImageUrl": "",
		"registrationType": a.RegistrationType, "admissionItem": "Full Conference", "responseMethod": "Online",
		"registrationDate": a.RegisteredAt.UTC().Format(date), "updatedDate": a.LastModified.UTC().Format(date),
		"confirmationNumber": a.ConfirmationNumber, "referenceId": "", "optedOut": "no", "eligibleCredits": "0.00",
		"customFields": s.customFieldItems(a),
		"eventForInvitee": map[string]any{"eventTitle": s.event.Title, "eventCode": s.event.Code,
			"eventStartDate": "2026-05-25 18:00:00.0", "eventEndDate": "2026-05-27 23:00:00.0", "eventTimeZoneName": "Central Time"},
	}
	if a.PrimaryID != "" {
		item["primaryInviteeStub"] = up(a.PrimaryID)
	}
	if withStatus {
		sessions := make([]string, len(a.Sessions))
		for i, id := range a.Sessions {
			sessions[i] = up(id)
		}
		item["inviteeStatus"], item["participantStatus"] = a.Status, a.CheckedIn
		item["sessionStubList"], item["internalNote"], item["visibleOnAttendeeList"] = sessions, "", 1
	}
	return item
}

func (s *Simulator) customFieldItems(a Attendee) []map[string]any {
	out := []map[string]any{}
	for _, f := range s.customFields {
		out = append(out, map[string]any{"id": strings.ToUpper(f.ID), "name": f.Name, "value": a.CustomFields[f.ID]})
	}
	return out
}

// SendRegistrations registers n new attendees and posts one
// InviteeOrGuestAccepted each, perSecond a second (0 = as fast as possible,
// from `parallel` senders).
func (s *Simulator) SendRegistrations(ctx context.Context, t Target, n int, perSecond float64, parallel int) []Sent {
	registered := s.Register(n)
	out := make([]Sent, n)
	send := func(i int) {
		out[i] = s.Post(ctx, t, "InviteeOrGuestAccepted", []map[string]any{s.WebhookItem(registered[i], false)})
	}
	var wg sync.WaitGroup
	if perSecond > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer tick.Stop()
		for i := range out {
			select {
			case <-ctx.Done():
				wg.Wait()
				return out[:i]
			case <-tick.C:
			}
			wg.Add(1)
			go func(i int) { defer wg.Done(); send(i) }(i)
		}
		wg.Wait()
		return out
	}
	jobs := make(chan int)
	for w := 0; w < max(1, parallel); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				send(i)
			}
		}()
	}
	for i := range out {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// SendCancellation cancels a registration and posts InviteeOrGuestCancelled.
func (s *Simulator) SendCancellation(ctx context.Context, t Target, id string) Sent {
	a, _ := s.Cancel(id)
	return s.Post(ctx, t, "InviteeOrGuestCancelled", []map[string]any{s.WebhookItem(a, false)})
}

// SendModified changes an attendee and posts InviteeOrGuestModified.
func (s *Simulator) SendModified(ctx context.Context, t Target, id string, fn func(*Attendee)) Sent {
	a, _ := s.Update(id, fn)
	return s.Post(ctx, t, "InviteeOrGuestModified", []map[string]any{s.WebhookItem(a, false)})
}

// SendSubstitution hands a registration to a new person and posts
// InviteeSubstitutedInAnEvent in its snake_case shape.
func (s *Simulator) SendSubstitution(ctx context.Context, t Target, id, first, last, email string) Sent {
	var oldContact string
	a, _ := s.Update(id, func(a *Attendee) {
		oldContact = a.ContactID
		a.FirstName, a.LastName, a.Email = first, last, email
	})
	s.mu.Lock()
	newContact := s.uuid()
	s.contacts[newContact] = map[string]any{"id": newContact, "firstName": first, "lastName": last, "email": email, "company": a.Company, "title": a.Title}
	s.attendees[a.ID].ContactID = newContact
	s.mu.Unlock()
	up := strings.ToUpper
	return s.Post(ctx, t, "InviteeSubstitutedInAnEvent", []map[string]any{{
		"inviteeStub": up(a.ID), "eventStub": up(s.event.ID), "oldContactStub": up(oldContact), "newContactStub": up(newContact),
		"first_name": first, "last_name": last, "email": email, "organization_name": a.Company, "title": a.Title,
		"phone_work": "", "createdDate": s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
	}})
}

// SendSession posts SessionCreated, SessionUpdated or SessionDeleted for a session.
func (s *Simulator) SendSession(ctx context.Context, t Target, eventType string, se Session) Sent {
	item := map[string]any{"sessionStub": strings.ToUpper(se.ID)}
	if eventType != "SessionDeleted" {
		item["sessionName"], item["sessionCode"], item["sessionDescription"] = se.Name, se.Code, se.Description
		item["sessionStartDateTime"] = se.Start.Format("2006-01-02T15:04:05")
		item["sessionEndDateTime"] = se.End.Format("2006-01-02T15:04:05")
		item["timezoneName"], item["updatedDate"], item["speakers"] = "Central Time", s.cfg.Now().Format("2006-01-02"), []string{}
	}
	return s.Post(ctx, t, eventType, []map[string]any{item})
}

// Sessions returns copies of the sessions.
func (s *Simulator) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, len(s.sessions))
	for i, se := range s.sessions {
		out[i] = *se
	}
	return out
}

// SendManualSync posts every attendee in one AttendeeManualSynced, as the
// "Sync" button in Cvent does.
func (s *Simulator) SendManualSync(ctx context.Context, t Target) Sent {
	all := s.Attendees()
	items := make([]map[string]any, len(all))
	for i, a := range all {
		items[i] = s.WebhookItem(a, true)
	}
	return s.Post(ctx, t, "AttendeeManualSynced", items)
}
