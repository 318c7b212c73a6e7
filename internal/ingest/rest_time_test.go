package ingest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/mapping"
)

// restAttendee decodes a REST record as the client does (keeping Raw).
func restAttendee(t *testing.T, doc string) cvent.Attendee {
	t.Helper()
	var a cvent.Attendee
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// A record pulled over REST is ordered against webhooks by Cvent's own
// lastModified, not by the local clock at the pull: two clocks cannot be
// compared, and a pull must not beat a newer webhook it never saw.
func TestRESTRecordsCarryCventLastModified(t *testing.T) {
	fetchedAt := time.Date(2026, 5, 25, 18, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		lastModified string
		want         time.Time
	}{
		{"Cvent's time", `"2026-05-25T17:45:12.5Z"`, time.Date(2026, 5, 25, 17, 45, 12, 500000000, time.UTC)},
		{"no lastModified: the pull's time", `null`, fetchedAt},
		{"a year-9999 lastModified is clamped", `"9999-01-01T00:00:00Z"`, fetchedAt},
		{"a placeholder before 2000 is clamped", `"1970-01-01T00:00:00Z"`, fetchedAt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := restAttendee(t, `{"id":"abc","status":"Accepted","contact":{"id":"c","email":"a@x.example"},"lastModified":`+c.lastModified+`}`)
			d, err := RESTDelivery("i1", &mapping.Config{}, []cvent.Attendee{a}, fetchedAt)
			if err != nil {
				t.Fatal(err)
			}
			p, err := PlanDelivery(context.Background(), d, noneStored)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Attendees) != 1 || !p.Attendees[0].SourceTime.Equal(c.want) {
				t.Fatalf("source time %v, want %v", p.Attendees[0].SourceTime, c.want)
			}
		})
	}
}

// Question answers pulled over REST (expand=answers.question) map like the
// ones a webhook's REST look-up brings.
func TestRESTAnswersMapToCustomFields(t *testing.T) {
	var cfg mapping.Config
	if err := json.Unmarshal([]byte(`{"customFields":[{"questionId":"60F1D05B-E3EE-4D70-A7F3-0EDB9A76AF4A","to":"workshop"}]}`), &cfg); err != nil {
		t.Fatal(err)
	}
	a := restAttendee(t, `{"id":"abc","status":"Accepted","contact":{"id":"c","email":"a@x.example"},
		"answers":[{"question":{"id":"60f1d05b-e3ee-4d70-a7f3-0edb9a76af4a","text":"Workshop"},"value":["Go"]}]}`)
	d, err := RESTDelivery("i1", &cfg, []cvent.Attendee{a}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanDelivery(context.Background(), d, noneStored)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Attendees[0].CustomFields["workshop"]; got != "Go" {
		t.Errorf("workshop = %v (custom fields %v)", got, p.Attendees[0].CustomFields)
	}
}
