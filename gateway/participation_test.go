package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/testenv"
)

// cventStack is a stack wired to a simulated Cvent account whose attendees
// are already in the directory (through a manual sync webhook).
type cventStack struct {
	*stack
	sim    *simulator.Simulator
	in     integration
	simURL string
}

func (s *cventStack) simBase() string { return s.simURL + "/ea" }

// newCventStack builds the stack; with noSync the directory starts empty.
func newCventStack(t *testing.T, simCfg simulator.Config, sections string, noSync ...bool) *cventStack {
	t.Helper()
	return newCventStackWith(t, simCfg, sections, stackOptions{}, len(noSync) == 0)
}

// newCventStackWith is newCventStack with stack options; sync fills the
// directory from the simulated account.
func newCventStackWith(t *testing.T, simCfg simulator.Config, sections string, opts stackOptions, sync bool) *cventStack {
	t.Helper()
	if simCfg.OpenAPISpecPath == "-" {
		// Checking a 50,000-attendee walk against the spec would measure kin-openapi, not us.
		simCfg.OpenAPISpecPath = ""
	} else {
		simCfg.OpenAPISpecPath, simCfg.StrictOpenAPI = testenv.SharedPath(t, "cvent/openapi.yaml"), true
	}
	sim := simulator.New(simCfg)
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)
	t.Cleanup(func() {
		if v := sim.Violations(); len(v) > 0 {
			t.Errorf("%d OpenAPI violations, first: %s", len(v), v[0])
		}
	})
	s := newStack(t, opts)
	id, secret := sim.Credentials()
	body := fmt.Sprintf(`{"name":"sim","cventEventId":%q,"cvent":{"clientId":%q,"clientSecret":%q,"baseUrl":%q}%s}`,
		sim.EventID(), id, secret, simSrv.URL+"/ea", sections)
	in := s.createIntegration(body)
	if simCfg.Attendees > 0 && sync {
		sent := sim.SendManualSync(context.Background(), simulator.Target{URL: s.hookURL(in), Token: in.WebhookToken})
		if sent.Err != nil || sent.Status != http.StatusOK {
			t.Fatalf("manual sync: %+v", sent)
		}
		s.waitFor("the manual sync", 60*time.Second, func() (bool, string) {
			total, _, err := s.store.CountAttendees(context.Background(), in.ID)
			return err == nil && total == simCfg.Attendees, fmt.Sprint(total, err)
		})
	}
	return &cventStack{stack: s, sim: sim, in: in, simURL: simSrv.URL}
}

type activityAnswer struct {
	Accepted, Rejected int
	Errors             []struct {
		Index int
		Error string
	}
}

func (s *cventStack) activity(items []map[string]any, wantStatus int) activityAnswer {
	s.t.Helper()
	b, _ := json.Marshal(items)
	req, _ := http.NewRequest(http.MethodPost, s.server.URL+"/api/v1/integrations/"+s.in.ID+"/activity", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.in.PlatformKey)
	var ans activityAnswer
	s.do(req, wantStatus, &ans)
	return ans
}

func (s *cventStack) waitWritten(n int, timeout time.Duration) {
	s.t.Helper()
	s.waitFor(fmt.Sprintf("%d check-ins written", n), timeout, func() (bool, string) {
		st, err := s.store.IntegrationStats(context.Background(), s.in.ID)
		if err != nil {
			return false, err.Error()
		}
		return st.Participation["written"] >= n, fmt.Sprint(st.Participation)
	})
}

func (s *cventStack) accepted() []simulator.Attendee {
	var out []simulator.Attendee
	for _, a := range s.sim.Attendees() {
		if a.Status == "Accepted" {
			out = append(out, a)
		}
	}
	return out
}

func TestActivityAPIValidatesEachItem(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 11, Attendees: 5}, `,"participation":{"criterion":"login"}`)
	a := s.accepted()[0]
	ans := s.activity([]map[string]any{
		{"type": "login", "inviteeId": a.ID},
		{"type": "dance", "inviteeId": a.ID},
		{"type": "login", "email": "nobody@nowhere.example"},
		{"type": "login", "inviteeId": a.ID, "at": "yesterday"},
	}, http.StatusOK)
	if ans.Accepted != 1 || ans.Rejected != 3 || len(ans.Errors) != 3 {
		t.Fatalf("answer: %+v", ans)
	}
	for i, e := range ans.Errors {
		if e.Index != i+1 || e.Error == "" {
			t.Errorf("error %d: %+v", i, e)
		}
	}
	// Wrong key, and nothing valid.
	req, _ := http.NewRequest(http.MethodPost, s.server.URL+"/api/v1/integrations/"+s.in.ID+"/activity", bytes.NewReader([]byte(`[]`)))
	req.Header.Set("Authorization", "Bearer "+s.in.WebhookToken)
	s.do(req, http.StatusUnauthorized, nil)
	s.activity([]map[string]any{{"type": "dance", "inviteeId": a.ID}}, http.StatusBadRequest)
	s.waitWritten(1, 30*time.Second)
}

// Only attendees that met the criterion are checked in: here 3 minutes of
// watching; one watches enough, one not, one only logs in.
func TestOnlyAttendeesMeetingTheCriterionAreCheckedIn(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 12, Attendees: 20}, `,"participation":{"criterion":"minutesWatched","minutes":3}`)
	as := s.accepted()
	enough, short, loginOnly := as[0], as[1], as[2]
	s.activity([]map[string]any{
		{"type": "login", "inviteeId": enough.ID}, {"type": "watch", "inviteeId": enough.ID, "seconds": 120},
		{"type": "watch", "inviteeId": short.ID, "seconds": 170},
		{"type": "login", "inviteeId": loginOnly.ID},
	}, http.StatusOK)
	s.activity([]map[string]any{{"type": "watch", "email": enough.Email, "seconds": 60}, {"type": "watch", "inviteeId": short.ID, "seconds": 9}}, http.StatusOK)
	s.waitWritten(1, 30*time.Second)
	time.Sleep(time.Second) // give a wrong extra write-back the chance to happen
	got := s.sim.CheckIns()
	if len(got) != 1 || got[enough.ID] != 1 {
		t.Fatalf("checked in: %v; want only %s once", got, enough.ID)
	}
	var att struct {
		Participation struct{ Status, WrittenAt string }
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/attendees/"+enough.ID, "", http.StatusOK, &att)
	if att.Participation.Status != "written" || att.Participation.WrittenAt == "" {
		t.Errorf("attendee API participation: %+v", att)
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/attendees/"+short.ID, "", http.StatusOK, &att)
	if att.Participation.Status != "pending" {
		t.Errorf("attendee below the threshold: %+v", att)
	}
}

// 5,000 logins within a minute become at most 60 check-in calls, all
// written, none twice, with no 429 from Cvent.
func TestFiveThousandLoginsAreBatched(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 13, Attendees: 5600, Tier: "Standard"}, `,"participation":{"criterion":"login"}`)
	as := s.accepted()
	if len(as) < 5000 {
		t.Fatalf("the simulated event has only %d accepted attendees", len(as))
	}
	as = as[:5000]
	accepted := 0
	for i := 0; i < len(as); i += 250 {
		items := make([]map[string]any, 0, 250)
		for _, a := range as[i : i+250] {
			items = append(items, map[string]any{"type": "login", "inviteeId": a.ID})
		}
		ans := s.activity(items, http.StatusOK)
		accepted += ans.Accepted
		if len(ans.Errors) > 0 {
			t.Fatalf("activity errors: %+v", ans.Errors[0])
		}
	}
	if accepted != 5000 {
		t.Fatalf("%d logins accepted", accepted)
	}
	s.waitWritten(5000, 90*time.Second)
	calls := s.sim.Calls()["POST /events/{id}/check-in"]
	if calls > 60 {
		t.Errorf("%d check-in calls for 5,000 logins, want at most 60", calls)
	}
	checked := s.sim.CheckIns()
	for _, a := range as {
		if checked[a.ID] != 1 {
			t.Fatalf("attendee %s checked in %d times", a.ID, checked[a.ID])
		}
	}
	if len(checked) != 5000 {
		t.Errorf("%d attendees checked in, want 5000", len(checked))
	}
	if tmr, le := s.sim.RateLimited(); tmr+le != 0 {
		t.Errorf("Cvent answered %d + %d 429s", tmr, le)
	}
}

// Under a 429 storm, with the worker stopped and started again in the
// middle, every write-back still lands exactly once.
func TestWriteBackSurvivesA429StormAndAWorkerRestart(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 14, Attendees: 400}, `,"participation":{"criterion":"login"}`)
	as := s.accepted()[:300]
	s.sim.SetFaults(simulator.Faults{TooManyRequests: 6, ErrorRate: 0.2})
	items := make([]map[string]any, len(as))
	for i, a := range as {
		items[i] = map[string]any{"type": "login", "inviteeId": a.ID}
	}
	s.activity(items, http.StatusOK)
	time.Sleep(1500 * time.Millisecond)
	s.stopWorker()
	time.Sleep(500 * time.Millisecond)
	s.startWorker()
	s.waitWritten(len(as), 120*time.Second)
	s.sim.SetFaults(simulator.Faults{})
	checked := s.sim.CheckIns()
	for _, a := range as {
		if checked[a.ID] != 1 {
			t.Fatalf("attendee %s checked in %d times", a.ID, checked[a.ID])
		}
	}
	if tmr, _ := s.sim.RateLimited(); tmr < 6 {
		t.Errorf("the storm did not happen: %d 429s", tmr)
	}
}

func TestTwoWayProfileSync(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 15, Attendees: 5}, `,"twoWaySync":{"enabled":true}`)
	a := s.accepted()[0]
	var ans struct {
		Changed, PushedToCvent []string
		WorkflowID             string
	}
	s.admin(http.MethodPatch, "/api/v1/integrations/"+s.in.ID+"/attendees/"+a.ID,
		`{"title":"Chief Scientist","profileImageUrl":"https://img.example/new.png"}`, http.StatusOK, &ans)
	if len(ans.Changed) != 2 || len(ans.PushedToCvent) != 1 || ans.PushedToCvent[0] != "title" || ans.WorkflowID == "" {
		t.Fatalf("edit answer: %+v", ans)
	}
	s.waitFor("the contact update", 30*time.Second, func() (bool, string) {
		c := s.sim.Contact(a.ContactID)
		return c["title"] == "Chief Scientist", fmt.Sprint(c)
	})
	c := s.sim.Contact(a.ContactID)
	if _, ok := c["profileImageUrl"]; ok || c["firstName"] != a.FirstName {
		t.Errorf("excluded or unedited fields reached Cvent: %v", c)
	}
	// A change that came from Cvent is not sent back.
	before := s.sim.ContactPatches()[a.ContactID]
	sent := s.sim.SendModified(context.Background(), simulator.Target{URL: s.hookURL(s.in), Token: s.in.WebhookToken}, a.ID,
		func(x *simulator.Attendee) { x.Company = "Renamed Ltd" })
	if d := s.waitDeliveryByStub(sent.MessageStub); d.Status != store.DeliveryProcessed {
		t.Fatalf("modification: %s %s", d.Status, d.Error)
	}
	time.Sleep(500 * time.Millisecond)
	if after := s.sim.ContactPatches()[a.ContactID]; after != before {
		t.Errorf("a change from Cvent was echoed back: %d PATCH calls, before %d", after, before)
	}
	// Deleting on the platform does not cancel in Cvent.
	s.admin(http.MethodDelete, "/api/v1/integrations/"+s.in.ID+"/attendees/"+a.ID, "", http.StatusNoContent, nil)
	if x, _ := s.sim.Attendee(a.ID); x.Status != "Accepted" {
		t.Errorf("deleting on the platform changed Cvent: %s", x.Status)
	}
}

func (s *cventStack) waitDeliveryByStub(stub string) *store.Delivery {
	s.t.Helper()
	var id int64
	s.waitFor("delivery "+stub, 15*time.Second, func() (bool, string) {
		list, err := s.store.ListDeliveries(context.Background(), s.in.ID, store.DeliveryFilter{})
		if err != nil {
			return false, err.Error()
		}
		for _, d := range list {
			if d.MessageStub.String == stub {
				id = d.ID
				return true, ""
			}
		}
		return false, "not stored"
	})
	return s.waitDelivery(id, 15*time.Second)
}

// Session watch time past the session threshold checks the attendee in to
// that session.
func TestSessionParticipation(t *testing.T) {
	s := newCventStack(t, simulator.Config{Seed: 16, Attendees: 5}, `,"participation":{"criterion":"login","sessionMinutes":2}`)
	a, b := s.accepted()[0], s.accepted()[1]
	session := s.sim.Sessions()[0].ID
	s.activity([]map[string]any{
		{"type": "watch", "inviteeId": a.ID, "seconds": 90, "sessionId": session},
		{"type": "watch", "inviteeId": a.ID, "seconds": 40, "sessionId": session},
		{"type": "watch", "inviteeId": b.ID, "seconds": 100, "sessionId": session},
	}, http.StatusOK)
	s.waitFor("the session check-in", 30*time.Second, func() (bool, string) {
		got := s.sim.SessionCheckIns()
		return got[session+"/"+a.ID] == 1, fmt.Sprint(got)
	})
	time.Sleep(500 * time.Millisecond)
	if got := s.sim.SessionCheckIns(); len(got) != 1 {
		t.Errorf("session check-ins: %v; want only %s", got, a.ID)
	}
	if len(s.sim.CheckIns()) != 0 {
		t.Errorf("watching is not a login: event check-ins %v", s.sim.CheckIns())
	}
}
