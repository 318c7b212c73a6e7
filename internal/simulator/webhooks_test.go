package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// receiver records every delivery as Cvent's receivers see it.
type receiver struct {
	mu   sync.Mutex
	got  []delivery
	srv  *httptest.Server
	code int
}

type delivery struct {
	method, auth, contentType, requestID string
	raw                                  []byte
	env                                  struct {
		EventType   string           `json:"eventType"`
		MessageTime string           `json:"messageTime"`
		MessageStub string           `json:"messageStub"`
		Message     []map[string]any `json:"message"`
	}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{code: http.StatusOK}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d := delivery{method: req.Method, auth: req.Header.Get("Authorization"),
			contentType: req.Header.Get("Content-Type"), requestID: req.Header.Get("request-id")}
		d.raw, _ = io.ReadAll(req.Body)
		if req.Method == http.MethodPost {
			if err := json.Unmarshal(d.raw, &d.env); err != nil {
				t.Errorf("undecodable delivery: %v", err)
			}
		}
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
		w.WriteHeader(r.code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func TestWebhooksChangeRESTStateAndCarryCventsEnvelope(t *testing.T) {
	s := New(Config{Seed: 21, Attendees: 10})
	rcv := newReceiver(t)
	target := Target{URL: rcv.srv.URL + "/hooks/cvent", Token: "tok-123"}
	ctx := context.Background()
	ids := []string{s.Attendees()[0].ID, s.Attendees()[1].ID}

	cases := []struct {
		eventType string
		ids       []string
		count     int
		check     func(t *testing.T, item map[string]any)
	}{
		{"InviteeOrGuestAccepted", nil, 3, func(t *testing.T, item map[string]any) {
			a, ok := s.Attendee(item["inviteeStub"].(string))
			if !ok || a.Status != "Accepted" || item["email"] != a.Email {
				t.Errorf("registration not in REST state: %v %+v", ok, a)
			}
		}},
		{"InviteeOrGuestModified", ids, 0, func(t *testing.T, item map[string]any) {
			a, _ := s.Attendee(item["inviteeStub"].(string))
			if !strings.HasPrefix(a.Title, "Principal ") || item["title"] != a.Title {
				t.Errorf("modification: REST %q, webhook %v", a.Title, item["title"])
			}
		}},
		{"InviteeOrGuestCancelled", ids[:1], 0, func(t *testing.T, item map[string]any) {
			if a, _ := s.Attendee(item["inviteeStub"].(string)); a.Status != "Cancelled" {
				t.Errorf("cancellation: REST status %q", a.Status)
			}
		}},
		{"InviteeSubstitutedInAnEvent", ids[1:], 0, func(t *testing.T, item map[string]any) {
			for _, k := range []string{"first_name", "last_name", "organization_name", "newContactStub", "oldContactStub"} {
				if _, ok := item[k]; !ok {
					t.Errorf("substitution lacks %s: %v", k, item)
				}
			}
			a, _ := s.Attendee(item["inviteeStub"].(string))
			if a.Email != item["email"] || !strings.EqualFold(a.ContactID, item["newContactStub"].(string)) {
				t.Errorf("substitution not in REST state: %+v", a)
			}
		}},
		{"SessionDeleted", []string{s.Sessions()[0].ID}, 0, func(t *testing.T, item map[string]any) {
			for _, se := range s.Sessions() {
				if strings.EqualFold(se.ID, item["sessionStub"].(string)) {
					t.Error("deleted session still listed")
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.eventType, func(t *testing.T) {
			before := len(rcv.deliveries())
			sent, err := s.SendWebhooks(ctx, target, Webhooks{EventType: c.eventType, AttendeeIDs: c.ids, Count: c.count, Parallel: 2})
			if err != nil {
				t.Fatal(err)
			}
			want := max(len(c.ids), c.count)
			got := rcv.deliveries()[before:]
			if len(sent) != want || len(got) != want {
				t.Fatalf("%d results, %d deliveries, want %d", len(sent), len(got), want)
			}
			for _, r := range sent {
				if r.Err != nil || r.Status != http.StatusOK || r.MessageStub == "" || r.SentAt.IsZero() {
					t.Errorf("result: %+v", r)
				}
			}
			for _, d := range got {
				if d.method != http.MethodPost || d.auth != "tok-123" || d.contentType != "application/json" {
					t.Errorf("transport: %s auth %q type %q", d.method, d.auth, d.contentType)
				}
				if d.env.EventType != c.eventType || d.env.MessageStub == "" || len(d.env.Message) != 1 {
					t.Fatalf("envelope: %s", d.raw)
				}
				item := d.env.Message[0]
				for _, k := range []string{"inviteeStub", "sessionStub", "eventStub", "contactStub"} {
					if v, ok := item[k].(string); ok && v != strings.ToUpper(v) {
						t.Errorf("%s %q is not upper case", k, v)
					}
				}
				c.check(t, item)
			}
		})
	}
	if _, err := s.SendWebhooks(ctx, target, Webhooks{EventType: "InviteeOrGuestCancelled", AttendeeIDs: []string{"nope"}}); err == nil {
		t.Error("an unknown attendee was accepted")
	}
	if _, err := s.SendWebhooks(ctx, target, Webhooks{EventType: "SpeakerDeleted"}); err == nil {
		t.Error("an unsupported event type was accepted")
	}
}

// Receivers must not depend on key order: it varies between deliveries.
func TestWebhookKeyOrderVaries(t *testing.T) {
	s := New(Config{Seed: 22, Attendees: 1})
	rcv := newReceiver(t)
	a := s.Attendees()[0]
	orders := map[string]bool{}
	for i := 0; i < 8; i++ {
		s.Post(context.Background(), Target{URL: rcv.srv.URL, Token: "x"}, "InviteeOrGuestModified", []map[string]any{s.WebhookItem(a, false)})
	}
	for _, d := range rcv.deliveries() {
		orders[strings.Join(itemKeys(d.raw), ",")] = true
	}
	if len(orders) < 2 {
		t.Errorf("8 deliveries all had the same key order")
	}
}

// itemKeys lists the first message item's keys in the order they were sent.
func itemKeys(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var keys []string
	depth, expectKey := 0, false
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		if k, ok := tok.(string); ok && depth == 3 && expectKey {
			keys = append(keys, k)
			expectKey = false
			continue
		}
		if v, ok := tok.(json.Delim); ok {
			if v == '{' || v == '[' {
				depth++
				expectKey = depth == 3
				continue
			}
			depth--
			if depth == 2 {
				return keys // the first item is done
			}
		}
		expectKey = depth == 3 // a value at the item's level ended
	}
}

// The generated items have at least every field of Cvent's own samples.
func TestWebhookItemsCoverCventsSamples(t *testing.T) {
	s := New(Config{Seed: 23, Attendees: 2})
	rcv := newReceiver(t)
	target := Target{URL: rcv.srv.URL, Token: "x"}
	ctx := context.Background()
	a := s.Attendees()[0]
	s.Post(ctx, target, "InviteeOrGuestAccepted", []map[string]any{s.WebhookItem(a, false)})
	s.SendCancellation(ctx, target, a.ID)
	s.SendManualSync(ctx, target)
	s.SendSubstitution(ctx, target, s.Attendees()[1].ID, "Priya", "Raman", "priya@contoso.example")
	s.SendSession(ctx, target, "SessionCreated", s.Sessions()[0])
	ours := map[string]map[string]bool{}
	for _, d := range rcv.deliveries() {
		keys := map[string]bool{}
		for k := range d.env.Message[0] {
			keys[k] = true
		}
		ours[d.env.EventType] = keys
	}
	samples, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "cvent", "samples", "*.json"))
	if len(samples) == 0 {
		t.Skip("no Cvent samples beside the repository")
	}
	for _, f := range samples {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			EventType string           `json:"eventType"`
			Message   []map[string]any `json:"message"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		keys, ok := ours[env.EventType]
		if !ok {
			t.Errorf("%s: the simulator sent no %s", filepath.Base(f), env.EventType)
			continue
		}
		for _, item := range env.Message {
			for k := range item {
				if !keys[k] {
					t.Errorf("%s: %s items lack %q", filepath.Base(f), env.EventType, k)
				}
			}
		}
	}
	if n := len(rcv.deliveries()[2].env.Message); n != 2 {
		t.Errorf("manual sync carried %d items, want every attendee (2)", n)
	}
}

func TestManualSyncOfChosenAttendeesAndValidation(t *testing.T) {
	s := New(Config{Seed: 24, Attendees: 5})
	rcv := newReceiver(t)
	target := Target{URL: rcv.srv.URL, Token: "tok"}
	as := s.Attendees()
	r := s.SendManualSync(context.Background(), target, as[1], as[3])
	if r.Err != nil || len(r.InviteeIDs) != 2 || r.InviteeIDs[0] != as[1].ID {
		t.Fatalf("manual sync result: %+v", r)
	}
	item := rcv.deliveries()[0].env.Message[0]
	for _, k := range []string{"inviteeStatus", "participantStatus", "sessionStubList", "internalNote", "visibleOnAttendeeList"} {
		if _, ok := item[k]; !ok {
			t.Errorf("manual sync item lacks %s", k)
		}
	}
	code, err := s.SendValidation(context.Background(), target)
	d := rcv.deliveries()[1]
	if err != nil || code != 200 || d.method != http.MethodGet || d.auth != "tok" || d.requestID == "" {
		t.Errorf("validation GET: %d %v %+v", code, err, d)
	}
}
