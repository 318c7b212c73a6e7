package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// A speaker's sessions come from either side: the speaker item's
// presenterAt, or the sessions that list the speaker in speakers (Cvent
// sends both shapes). A manual speaker sync, whatever Cvent names it, is
// applied as speakers.
func TestSpeakerSessionsFromEitherSide(t *testing.T) {
	s := newStack(t, stackOptions{})
	in := mappedIntegration(s, "admit")
	const ada, grace = "7a279d37-3665-4e27-b398-4f4810e48d5f", "8b38ae48-4776-4f38-c4a9-5a5921f59e60"
	const panel = "02e8f4d6-4386-4ce7-9250-ce9c2685311a"
	t0 := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	// The keynote lists Ada in speakers; Ada's own item has no presenterAt.
	s.deliver(in, s.sample("session_created.json"))
	s.deliver(in, withEnvelope("SessionCreated", "panel-1", t0, map[string]any{
		"sessionStub": strings.ToUpper(panel), "sessionName": "Panel", "sessionStartDateTime": "2026-05-25T20:00:00"}))
	s.deliver(in, withEnvelope("SpeakerManualSynced", "spk-sync-1", t0, map[string]any{
		"speakerStub": strings.ToUpper(ada), "speakerFirstName": "Ada", "speakerLastName": "Lovelace"},
		map[string]any{"speakerStub": strings.ToUpper(grace), "speakerFirstName": "Grace", "speakerLastName": "Hopper",
			"presenterAt": []string{strings.ToUpper(panel)}}))
	var speakers struct {
		Speakers []struct {
			SpeakerID  string   `json:"speakerId"`
			SessionIDs []string `json:"sessionIds"`
		}
	}
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/speakers", "", http.StatusOK, &speakers)
	got := map[string][]string{}
	for _, sp := range speakers.Speakers {
		got[sp.SpeakerID] = sp.SessionIDs
	}
	if !slices.Equal(got[ada], []string{keynote}) || !slices.Equal(got[grace], []string{panel}) {
		t.Errorf("speaker sessions: %v", got)
	}
	// The other direction: the panel (no speakers list) shows Grace.
	var agenda struct {
		Sessions []struct {
			SessionID  string   `json:"sessionId"`
			SpeakerIDs []string `json:"speakerIds"`
		}
	}
	s.admin(http.MethodPatch, "/api/v1/integrations/"+in.ID, `{"mapping":{"sessions":{"import":"managedSchedule"}}}`, http.StatusOK, nil)
	s.deliver(in, s.sample("invitee_accepted.json"))
	s.admin(http.MethodGet, "/api/v1/integrations/"+in.ID+"/attendees/6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f/agenda", "", http.StatusOK, &agenda)
	bySession := map[string][]string{}
	for _, ses := range agenda.Sessions {
		bySession[ses.SessionID] = ses.SpeakerIDs
	}
	if !slices.Equal(bySession[panel], []string{grace}) || !slices.Equal(bySession[keynote], []string{ada}) {
		t.Errorf("session speakers: %v", bySession)
	}
}
