package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
)

func (s *cventStack) directory() map[string]attendee {
	s.t.Helper()
	out := map[string]attendee{}
	for _, a := range s.attendees(s.in, "?limit=10000") {
		out[a.InviteeID] = a
	}
	return out
}

// Access as the rules say: only Accepted, and guests admitted by default.
func checkAccess(t *testing.T, sim []simulator.Attendee, dir map[string]attendee) {
	t.Helper()
	bad := 0
	for _, a := range sim {
		got, ok := dir[a.ID]
		if !ok || got.Access != (a.Status == "Accepted") || got.CventStatus != a.Status {
			if bad++; bad < 5 {
				t.Errorf("attendee %s (%s in Cvent): %+v present=%v", a.ID, a.Status, got, ok)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d attendees wrong", bad, len(sim))
	}
}

// 1,000 live registrations, then a manual sync of everyone: all in the
// directory with the right access.
func TestLiveWebhooksThenManualSync(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 21, Attendees: 4000}, "")
	target := simulator.Target{URL: s.hookURL(s.in), Token: s.in.WebhookToken}
	sent := s.sim.SendRegistrations(context.Background(), target, 1000, 0, 20)
	for _, r := range sent {
		if r.Err != nil || r.Status != http.StatusOK {
			t.Fatalf("live webhook: %+v", r)
		}
	}
	s.waitFor("1000 live registrations", 60*time.Second, func() (bool, string) {
		total, _, err := s.store.CountAttendees(context.Background(), s.in.ID)
		return err == nil && total == 5000, fmt.Sprint(total)
	})
	if r := s.sim.SendManualSync(context.Background(), target); r.Err != nil || r.Status != http.StatusOK {
		t.Fatalf("manual sync: %+v", r)
	}
	s.waitFor("the second manual sync", 60*time.Second, func() (bool, string) {
		st, err := s.store.IntegrationStats(context.Background(), s.in.ID)
		return err == nil && st.Deliveries[store.DeliveryReceived] == 0, fmt.Sprint(st.Deliveries)
	})
	all := s.sim.Attendees()
	if len(all) != 5000 {
		t.Fatalf("simulator has %d attendees", len(all))
	}
	checkAccess(t, all, s.directory())
}

// With webhooks off, polling picks up new, changed and cancelled
// registrants within one interval.
func TestPollingPicksUpChangesWithinOneInterval(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 22}, `,"participation":null`)
	s.admin(http.MethodPatch, "/api/v1/integrations/"+s.in.ID, fmt.Sprintf(
		`{"cvent":{"mode":"rest","clientId":%q,"baseUrl":%q,"pollIntervalSeconds":5}}`, mustID(s.sim), s.simBase()), http.StatusOK, nil)
	first := s.sim.Register(30)
	s.waitFor("the first poll", 30*time.Second, func() (bool, string) {
		total, _, _ := s.store.CountAttendees(context.Background(), s.in.ID)
		return total == 30, fmt.Sprint(total)
	})
	// Webhooks are off: these reach cventsync only by polling.
	newcomers := s.sim.Register(3)
	s.sim.Update(first[0].ID, func(a *simulator.Attendee) { a.Title = "Head of Polling" })
	s.sim.Cancel(first[1].ID)
	changedAt := time.Now()
	s.waitFor("the next poll", 30*time.Second, func() (bool, string) {
		dir := s.directory()
		ok := len(dir) == 33 && dir[first[0].ID].Title == "Head of Polling" && !dir[first[1].ID].Access &&
			dir[newcomers[2].ID].Access
		return ok, fmt.Sprint(len(dir), dir[first[1].ID].CventStatus)
	})
	// One interval is 5 s; allow two more for a loaded machine.
	if took := time.Since(changedAt); took > 15*time.Second {
		t.Errorf("changes took %v to arrive with a 5 s polling interval", took)
	}
	checkAccess(t, s.sim.Attendees(), s.directory())
}

func mustID(sim *simulator.Simulator) string { id, _ := sim.Credentials(); return id }

// A re-sync of 50,000 attendees completes and reports progress.
func TestResyncOfFiftyThousand(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 23, Attendees: 50000, OpenAPISpecPath: "-"}, "", true)
	var r struct {
		ID         int64
		WorkflowID string
	}
	s.admin(http.MethodPost, "/api/v1/integrations/"+s.in.ID+"/resync", "", http.StatusAccepted, &r)
	var seen []int
	var last struct {
		Status      string
		Total, Done int
	}
	s.waitFor("the re-sync", 5*time.Minute, func() (bool, string) {
		s.admin(http.MethodGet, fmt.Sprintf("/api/v1/integrations/%s/resyncs/%d", s.in.ID, r.ID), "", http.StatusOK, &last)
		if len(seen) == 0 || seen[len(seen)-1] != last.Done {
			seen = append(seen, last.Done)
		}
		return last.Status == "done", fmt.Sprintf("%+v", last)
	})
	if last.Total != 50000 || last.Done != 50000 {
		t.Fatalf("re-sync finished at %+v", last)
	}
	if len(seen) < 3 {
		t.Errorf("progress was not reported along the way: %v", seen)
	}
	total, _, _ := s.store.CountAttendees(context.Background(), s.in.ID)
	if total != 50000 {
		t.Fatalf("%d attendees after the re-sync", total)
	}
}

// A mapping that needs a registration question answer fetches it from the
// REST API when the webhook arrives; polling brings sessions and agendas.
func TestRESTAnswersSessionsAndAgendas(t *testing.T) {
	sim := simulator.New(simulator.Config{Seed: 24})
	question := sim.Questions()[0][0]
	s := newCventStack(t, simulator.Config{Seed: 24}, fmt.Sprintf(`,"mapping":{"customFields":[{"questionId":%q,"to":"workshop"}]}`, question))
	target := simulator.Target{URL: s.hookURL(s.in), Token: s.in.WebhookToken}
	sent := s.sim.SendRegistrations(context.Background(), target, 3, 0, 3)
	for _, r := range sent {
		if d := s.waitDeliveryByStub(r.MessageStub); d.Status != store.DeliveryProcessed {
			t.Fatalf("delivery: %s %s", d.Status, d.Error)
		}
	}
	// The fields list shows the account's questions, to pick by id.
	var fields struct {
		AccountFields struct {
			Questions []struct{ ID string }
		}
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/fields", "", http.StatusOK, &fields)
	if len(fields.AccountFields.Questions) != 2 || fields.AccountFields.Questions[0].ID != question {
		t.Errorf("account questions in /fields: %+v", fields.AccountFields)
	}
	for _, a := range s.sim.Attendees() {
		var got struct{ CustomFields map[string]string }
		s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/attendees/"+a.ID, "", http.StatusOK, &got)
		if want := a.Answers[question]; want == "" || got.CustomFields["workshop"] != want {
			t.Errorf("attendee %s: workshop %q, want %q from REST", a.ID, got.CustomFields["workshop"], want)
		}
	}
	// Polling imports the sessions and each attendee's personal agenda.
	s.admin(http.MethodPatch, "/api/v1/integrations/"+s.in.ID, fmt.Sprintf(
		`{"cvent":{"mode":"both","clientId":%q,"baseUrl":%q}}`, mustID(s.sim), s.simBase()), http.StatusOK, nil)
	s.admin(http.MethodPost, "/api/v1/integrations/"+s.in.ID+"/poll", "", http.StatusAccepted, nil)
	var sessions struct{ Sessions []struct{ SessionID string } }
	s.waitFor("REST sessions", 30*time.Second, func() (bool, string) {
		s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/sessions", "", http.StatusOK, &sessions)
		return len(sessions.Sessions) == len(s.sim.Sessions()), fmt.Sprint(len(sessions.Sessions))
	})
	a := s.sim.Attendees()[0]
	var agenda struct {
		Sessions []struct{ SessionID string }
	}
	s.waitFor("the agenda", 15*time.Second, func() (bool, string) {
		s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/attendees/"+a.ID+"/agenda", "", http.StatusOK, &agenda)
		return len(agenda.Sessions) == 1 && agenda.Sessions[0].SessionID == a.Sessions[0], fmt.Sprint(agenda)
	})
}
