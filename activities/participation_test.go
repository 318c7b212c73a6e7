package activities

import (
	"testing"

	"github.com/cventsync/cventsync/internal/store"
)

func TestOutcomeRecords(t *testing.T) {
	records, written, failed := outcomeRecords([]string{"a", "b", "c"}, []CheckInOutcome{
		{AttendeeID: "A", OK: true},
		{AttendeeID: "b", OK: false, Error: "Attendee not found"},
	})
	want := map[string]string{"a": store.ParticipationWritten, "b": store.ParticipationFailed, "c": store.ParticipationPending}
	for _, r := range records {
		if want[r.InviteeID] != r.Status {
			t.Errorf("%s: %s, want %s", r.InviteeID, r.Status, want[r.InviteeID])
		}
	}
	if written != 1 || failed != 1 || records[1].Error != "Attendee not found" || records[2].Error == "" {
		t.Errorf("written %d failed %d records %+v", written, failed, records)
	}
}
