package activities

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/ingest"
)

// A poll whose pull fails leaves the watermark where it was, even after
// applying earlier pages: Cvent's pages are not ordered by lastModified, so
// a change on the page that failed may be older than those applied, and a
// watermark past it would skip it for ever.
func TestPollWatermarkMovesOnlyAfterACompletePull(t *testing.T) {
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(min int) cvent.Attendee {
		return cvent.Attendee{ID: "a" + time.Duration(min).String(), LastModified: start.Add(time.Duration(min) * time.Minute)}
	}
	pullFailed := errors.New("cvent 503: Service Unavailable")
	applyFailed := errors.New("apply: deadlock")
	cases := []struct {
		name      string
		pages     [][]cvent.Attendee
		failAt    int   // page index whose pull fails; -1 = none
		applyErr  error // returned by the apply of the first page
		watermark time.Time
		wantErr   error
	}{
		{"all pages applied", [][]cvent.Attendee{{at(5), at(30)}, {at(10)}}, -1, nil, start.Add(30 * time.Minute), nil},
		{"nothing changed", nil, -1, nil, start, nil},
		{"first pull fails", [][]cvent.Attendee{{at(5)}}, 0, nil, start, pullFailed},
		{"second pull fails after a newer page", [][]cvent.Attendee{{at(30)}, {at(10)}}, 1, nil, start, pullFailed},
		{"apply fails", [][]cvent.Attendee{{at(30)}}, -1, applyFailed, start, applyFailed},
		{"older records never move it back", [][]cvent.Attendee{{at(-30)}}, -1, nil, start, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			i := 0
			next := func(context.Context) ([]cvent.Attendee, bool, error) {
				if i == c.failAt {
					return nil, false, pullFailed
				}
				if i >= len(c.pages) {
					return nil, false, nil
				}
				i++
				return c.pages[i-1], true, nil
			}
			var applied []string
			apply := func(_ context.Context, page []cvent.Attendee) (*ingest.Result, error) {
				if c.applyErr != nil {
					return nil, c.applyErr
				}
				for _, a := range page {
					applied = append(applied, a.ID)
				}
				return &ingest.Result{Written: len(page)}, nil
			}
			res, err := pollPages(context.Background(), start, next, apply)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if !res.Watermark.Equal(c.watermark) {
				t.Errorf("watermark %v, want %v (applied %v)", res.Watermark, c.watermark, applied)
			}
		})
	}
}

// Polls and re-syncs pull the registration question answers, as the
// webhook path does, so a question mapping is filled by them too.
func TestRESTPullsExpandAnswers(t *testing.T) {
	w := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for name, o := range map[string]cvent.ListOptions{
		"poll": PollOptions("EVT", w), "first poll": PollOptions("EVT", time.Time{}), "re-sync": ResyncOptions("EVT", "tok"),
	} {
		if !slices.Contains(strings.Split(o.Expand, ","), "answers.question") {
			t.Errorf("%s: expand %q lacks answers.question", name, o.Expand)
		}
		if o.Filter != "event.id eq 'evt'" || o.Limit != 200 {
			t.Errorf("%s: %+v", name, o)
		}
	}
	if o := PollOptions("EVT", w); !o.After.Equal(w.Add(-pollOverlap)) {
		t.Errorf("poll after %v", o.After)
	}
	if o := ResyncOptions("EVT", "tok"); o.Token != "tok" || !o.After.IsZero() {
		t.Errorf("re-sync %+v", o)
	}
}
