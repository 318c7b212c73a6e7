package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
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
	s.mu.Lock()
	seed := s.rng.Uint64()
	s.mu.Unlock()
	envelope := map[string]any{"eventType": eventType,
		"messageTime": s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "messageStub": stub, "message": items}
	body, err := encodeShuffled(envelope, rand.New(rand.NewPCG(seed, seed>>1)))
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

// accountStub is the simulated account's id in webhooks.
const accountStub = "0F0E0D0C-0B0A-4909-8807-060504030201"

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
		"accountStub": accountStub, "isGuest": flag, "prefix": "",
		"firstName": a.FirstName, "middleName": "", "lastName": a.LastName, "fullName": a.FirstName + " " + a.LastName,
		"title": a.Title, "company": a.Company, "email": a.Email, "ccEmail": "", "profileImageUrl": "",
		"registrationType": a.RegistrationType, "admissionItem": "Full Conference", "responseMethod": "Online",
		"registrationDate": a.RegisteredAt.UTC().Format(date), "updatedDate": a.LastModified.UTC().Format(date),
		"confirmationNumber": a.ConfirmationNumber, "referenceId": "", "optedOut": "no", "eligibleCredits": "0.00",
		"customFields": s.customFieldItems(a), "totalCredits": "0.00", "contactType": "Attendee",
		"nickName": "", "designation": "", "gender": "", "workPhone": "", "mobilePhone": "",
		"workCity": "Austin", "workState": "Texas", "workCountry": "United States",
		"eventForInvitee": map[string]any{"eventTitle": s.event.Title, "eventCode": s.event.Code, "eventLocation": "Online",
			"eventStartDate": "2026-05-25 18:00:00.0", "eventEndDate": "2026-05-27 23:00:00.0", "eventTimeZoneName": "Central Time",
			"eventCustomFields": []any{}},
		"orders": []any{map[string]any{"orderNumber": strings.TrimLeft(a.ConfirmationNumber, "C0"),
			"orderDate": a.RegisteredAt.UTC().Format("2006-01-02"), "orderDetails": []any{map[string]any{
				"productName": "Full Conference", "orderQuantity": "1", "orderAmount": "0.00", "paidAmount": "0.00", "orderType": "charge"}}}},
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
	return s.fanOut(ctx, n, perSecond, parallel, func(ctx context.Context, i int) Sent {
		return s.Post(ctx, t, "InviteeOrGuestAccepted", []map[string]any{s.WebhookItem(registered[i], false)})
	})
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
		"accountStub": accountStub, "createdBy": "planner@contoso.example",
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
		item["speakerCategory"] = []string{}
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

// SendManualSync posts every attendee (or only the given ones) in one
// AttendeeManualSynced, as the "Sync" button in Cvent does.
func (s *Simulator) SendManualSync(ctx context.Context, t Target, only ...Attendee) Sent {
	all := only
	if len(all) == 0 {
		all = s.Attendees()
	}
	items := make([]map[string]any, len(all))
	for i, a := range all {
		items[i] = s.WebhookItem(a, true)
	}
	return s.Post(ctx, t, "AttendeeManualSynced", items)
}

// encodeShuffled writes v as JSON with every object's keys in a random
// order: Cvent's key order varies between deliveries, and a receiver that
// depends on it must fail in tests, not in production.
func encodeShuffled(v any, rng *rand.Rand) ([]byte, error) {
	var b bytes.Buffer
	err := writeShuffled(&b, v, rng)
	return b.Bytes(), err
}

func writeShuffled(b *bytes.Buffer, v any, rng *rand.Rand) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // a deterministic start, so the seed decides the order
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeShuffled(b, x[k], rng); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []map[string]any:
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeShuffled(b, it, rng); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, it := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeShuffled(b, it, rng); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("encode webhook value: %w", err)
		}
		b.Write(raw)
	}
	return nil
}

// Webhooks chooses what SendWebhooks posts.
type Webhooks struct {
	// EventType is one of InviteeOrGuestAccepted, InviteeOrGuestModified,
	// InviteeOrGuestCancelled, InviteeSubstitutedInAnEvent, SessionCreated,
	// SessionUpdated, SessionDeleted.
	EventType string
	// AttendeeIDs are the attendees (or, for Session*, the sessions) the
	// deliveries are about, one POST each. For InviteeOrGuestAccepted with
	// no ids, Count new attendees register first.
	AttendeeIDs []string
	Count       int
	// PerSecond paces the POSTs; 0 sends as fast as Parallel senders can.
	PerSecond float64
	Parallel  int
	// Modify changes each attendee for InviteeOrGuestModified; by default
	// the job title changes.
	Modify func(*Attendee)
}

// SendWebhooks changes the account as the event type says (registers,
// modifies, cancels, substitutes, edits sessions) and posts one live
// webhook per record, so REST and webhooks agree afterwards. Results come
// in the order of the records.
func (s *Simulator) SendWebhooks(ctx context.Context, t Target, w Webhooks) ([]Sent, error) {
	ids := w.AttendeeIDs
	var send func(ctx context.Context, id string) Sent
	switch w.EventType {
	case "InviteeOrGuestAccepted":
		if len(ids) == 0 {
			for _, a := range s.Register(w.Count) {
				ids = append(ids, a.ID)
			}
		}
		send = func(ctx context.Context, id string) Sent {
			a, _ := s.Update(id, func(a *Attendee) { a.Status = "Accepted" })
			return s.Post(ctx, t, w.EventType, []map[string]any{s.WebhookItem(a, false)})
		}
	case "InviteeOrGuestModified":
		modify := w.Modify
		if modify == nil {
			modify = func(a *Attendee) { a.Title = "Principal " + strings.TrimPrefix(a.Title, "Principal ") }
		}
		send = func(ctx context.Context, id string) Sent { return s.SendModified(ctx, t, id, modify) }
	case "InviteeOrGuestCancelled":
		send = func(ctx context.Context, id string) Sent { return s.SendCancellation(ctx, t, id) }
	case "InviteeSubstitutedInAnEvent":
		send = func(ctx context.Context, id string) Sent {
			s.mu.Lock()
			first, last := firstNames[s.rng.IntN(len(firstNames))], lastNames[s.rng.IntN(len(lastNames))]
			email := strings.ToLower(fmt.Sprintf("%s.%s.%d@substitute.example", first, last, s.rng.IntN(1_000_000)))
			s.mu.Unlock()
			return s.SendSubstitution(ctx, t, id, first, last, email)
		}
	case "SessionCreated", "SessionUpdated", "SessionDeleted":
		if len(ids) == 0 {
			for _, se := range s.Sessions() {
				ids = append(ids, se.ID)
			}
		}
		send = func(ctx context.Context, id string) Sent {
			se, ok := s.changeSession(id, w.EventType)
			if !ok {
				return Sent{EventType: w.EventType, Err: fmt.Errorf("no session %s", id)}
			}
			return s.SendSession(ctx, t, w.EventType, se)
		}
	default:
		return nil, fmt.Errorf("simulator: cannot send %q webhooks", w.EventType)
	}
	for _, id := range ids {
		if _, ok := s.Attendee(id); !ok && !strings.HasPrefix(w.EventType, "Session") {
			return nil, fmt.Errorf("simulator: no attendee %s", id)
		}
	}
	return s.fanOut(ctx, len(ids), w.PerSecond, w.Parallel, func(ctx context.Context, i int) Sent { return send(ctx, ids[i]) }), nil
}

// changeSession applies a session event to the REST state: Created adds the
// session when it is new, Updated bumps it, Deleted removes it.
func (s *Simulator) changeSession(id, eventType string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id = strings.ToLower(id)
	for i, se := range s.sessions {
		if se.ID != id {
			continue
		}
		se.LastModified = s.cfg.Now()
		if eventType == "SessionDeleted" {
			s.sessions = append(s.sessions[:i:i], s.sessions[i+1:]...)
		}
		return *se, true
	}
	if eventType != "SessionCreated" {
		return Session{}, false
	}
	start := time.Date(2026, 5, 26, 9, 0, 0, 0, time.UTC).Add(time.Duration(len(s.sessions)) * time.Hour)
	se := &Session{ID: id, Name: fmt.Sprintf("Session %d", len(s.sessions)+1), Code: fmt.Sprintf("S-%02d", len(s.sessions)+1),
		Start: start, End: start.Add(45 * time.Minute), LastModified: s.cfg.Now()}
	s.sessions = append(s.sessions, se)
	return *se, true
}

// fanOut runs n sends, paced at perSecond or from parallel workers.
func (s *Simulator) fanOut(ctx context.Context, n int, perSecond float64, parallel int, send func(context.Context, int) Sent) []Sent {
	out := make([]Sent, n)
	var wg sync.WaitGroup
	if perSecond > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer tick.Stop()
		for i := range out {
			if i > 0 {
				select {
				case <-ctx.Done():
					wg.Wait()
					return out[:i]
				case <-tick.C:
				}
			}
			wg.Add(1)
			go func(i int) { defer wg.Done(); out[i] = send(ctx, i) }(i)
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
				out[i] = send(ctx, i)
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

// SendValidation is the GET Cvent sends when a Push API integration is
// activated: the raw token in authorization and a request-id. Cvent wants 200.
func (s *Simulator) SendValidation(ctx context.Context, t Target) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("validation request: %w", err)
	}
	req.Header.Set("authorization", t.Token)
	req.Header.Set("request-id", uuid.NewString())
	client := t.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("validation request: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
