package mapping

import (
	"reflect"
	"testing"

	"github.com/cventsync/cventsync/internal/directory"
)

// A speaker–session link known from either side shows on both.
func TestLinkSpeakers(t *testing.T) {
	cases := []struct {
		name            string
		presenterAt     map[string][]string // speaker -> sessions
		sessionSpeakers map[string][]string // session -> speakers
		live            []string
		wantSpeakers    map[string][]string
		wantSessions    map[string][]string
	}{
		{"from the session's speakers", map[string][]string{"ada": nil}, map[string][]string{"s1": {"ada"}}, []string{"s1"},
			map[string][]string{"ada": {"s1"}}, map[string][]string{"s1": {"ada"}}},
		{"from presenterAt", map[string][]string{"ada": {"s1"}}, map[string][]string{}, []string{"s1"},
			map[string][]string{"ada": {"s1"}}, map[string][]string{"s1": {"ada"}}},
		{"both, merged without repeats, sorted", map[string][]string{"ada": {"s2", "s1"}, "bob": {}},
			map[string][]string{"s1": {"bob", "ada"}, "s3": {"ada"}}, []string{"s1", "s2", "s3"},
			map[string][]string{"ada": {"s1", "s2", "s3"}, "bob": {"s1"}}, map[string][]string{"s1": {"ada", "bob"}, "s2": {"ada"}, "s3": {"ada"}}},
		{"a deleted session links nobody", map[string][]string{"ada": {"gone"}}, map[string][]string{"gone": {"ada"}}, nil,
			map[string][]string{"ada": {}}, map[string][]string{}},
		{"a session may list an unknown speaker", map[string][]string{}, map[string][]string{"s1": {"zed"}}, []string{"s1"},
			map[string][]string{}, map[string][]string{"s1": {"zed"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var speakers []directory.Speaker
			for id, ss := range c.presenterAt {
				speakers = append(speakers, directory.Speaker{SpeakerID: id, SessionIDs: ss})
			}
			live := map[string]bool{}
			for _, s := range c.live {
				live[s] = true
			}
			gotSpeakers, gotSessions := LinkSpeakers(speakers, c.sessionSpeakers, live)
			bySpeaker := map[string][]string{}
			for _, sp := range gotSpeakers {
				bySpeaker[sp.SpeakerID] = sp.SessionIDs
			}
			if !reflect.DeepEqual(bySpeaker, c.wantSpeakers) {
				t.Errorf("speakers: got %v, want %v", bySpeaker, c.wantSpeakers)
			}
			if !reflect.DeepEqual(gotSessions, c.wantSessions) {
				t.Errorf("sessions: got %v, want %v", gotSessions, c.wantSessions)
			}
		})
	}
}
