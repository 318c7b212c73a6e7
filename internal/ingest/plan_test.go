package ingest

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/directory"
	"github.com/cventsync/cventsync/internal/mapping"
)

func noneStored(context.Context, []string) (map[string]directory.Attendee, error) {
	return map[string]directory.Attendee{}, nil
}

func TestPlanManualSyncGuestsAndAgenda(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "cvent", "samples", "attendee_manual_sync.json"))
	if err != nil {
		t.Skip("shared samples not available:", err)
	}
	for _, c := range []struct {
		guests    string
		attendees int
		skipped   int
	}{{mapping.GuestsAdmit, 3, 0}, {mapping.GuestsSkip, 2, 1}} {
		p, err := PlanDelivery(context.Background(), Delivery{IntegrationID: "i1", Body: body, ReceivedAt: time.Now(),
			Mapping: &mapping.Config{Guests: c.guests}}, noneStored)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Attendees) != c.attendees || p.Result.Skipped != c.skipped {
			t.Errorf("guests %s: %d attendees, %d skipped; want %d, %d", c.guests, len(p.Attendees), p.Result.Skipped, c.attendees, c.skipped)
		}
		// Only the first registrant's item carries sessionStubList.
		want := map[string][]string{"11111111-aaaa-4bbb-8ccc-000000000001": {"01d7e3c5-3275-4bd6-8149-bd8b1574200f"}}
		if !reflect.DeepEqual(p.Agendas, want) {
			t.Errorf("agendas: got %v, want %v", p.Agendas, want)
		}
	}
}

func TestPlanSessionRegistrationAndSpeakers(t *testing.T) {
	cases := []struct {
		body    string
		entries int
		speaker int
	}{
		{`{"eventType":"InviteeRegistersForCventSession","message":[{"inviteeStub":"A","sessionStub":"S"}]}`, 1, 0},
		{`{"eventType":"InviteeCancelsRegistrationForCventSession","message":[{"inviteeStub":"A","sessionStubList":["S","T"]}]}`, 2, 0},
		{`{"eventType":"SpeakerDeleted","message":[{"speakerStub":"SP"}]}`, 0, 1},
	}
	for _, c := range cases {
		p, err := PlanDelivery(context.Background(), Delivery{IntegrationID: "i1", Body: []byte(c.body)}, noneStored)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.AgendaEntries) != c.entries || len(p.Speakers) != c.speaker {
			t.Errorf("%s: %d entries, %d speakers", c.body, len(p.AgendaEntries), len(p.Speakers))
		}
	}
}
