package gateway_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/simulator"
)

// Re-syncs and polls map registration question answers as webhooks do:
// they pull with expand=answers.question.
func TestResyncAndPollingMapQuestionAnswers(t *testing.T) {
	question := simulator.New(simulator.Config{Seed: 26}).Questions()[0][0]
	mapping := fmt.Sprintf(`,"participation":null,"mapping":{"customFields":[{"questionId":%q,"to":"workshop"}]}`, question)
	s := newCventStack(t, simulator.Config{Seed: 26, Attendees: 20}, mapping, true)
	workshops := func() (bool, string) {
		var list struct {
			Attendees []struct {
				InviteeID    string            `json:"inviteeId"`
				CustomFields map[string]string `json:"customFields"`
			}
		}
		s.admin(http.MethodGet, "/api/v1/integrations/"+s.in.ID+"/attendees?limit=10000", "", http.StatusOK, &list)
		got := map[string]string{}
		for _, a := range list.Attendees {
			got[a.InviteeID] = a.CustomFields["workshop"]
		}
		missing := 0
		for _, a := range s.sim.Attendees() {
			if want := a.Answers[question]; want == "" || got[a.ID] != want {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d attendees without their answer", missing, len(s.sim.Attendees()))
	}
	var r struct{ ID int64 }
	s.admin(http.MethodPost, "/api/v1/integrations/"+s.in.ID+"/resync", "", http.StatusAccepted, &r)
	s.waitFor("the re-sync", time.Minute, func() (bool, string) {
		var st struct{ Status string }
		s.admin(http.MethodGet, fmt.Sprintf("/api/v1/integrations/%s/resyncs/%d", s.in.ID, r.ID), "", http.StatusOK, &st)
		return st.Status == "done", st.Status
	})
	if ok, seen := workshops(); !ok {
		t.Errorf("after the re-sync: %s", seen)
	}
	// Polling brings newcomers with their answers.
	s.admin(http.MethodPatch, "/api/v1/integrations/"+s.in.ID, fmt.Sprintf(
		`{"cvent":{"mode":"rest","clientId":%q,"baseUrl":%q,"pollIntervalSeconds":5}}`, mustID(s.sim), s.simBase()), http.StatusOK, nil)
	s.sim.Register(3)
	s.waitFor("polled answers", 30*time.Second, workshops)
}
