package mapping

import (
	"sort"
	"time"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

// ExtraFromREST is the mapping input a REST attendee (fetched with
// expand=answers.question) provides: the whole record and its answers.
func ExtraFromREST(a *cvent.Attendee) *Extra {
	if a == nil {
		return nil
	}
	return &Extra{REST: a.Raw, Answers: AnswersFromREST(a.Raw)}
}

// FromRESTSession builds the platform session for a REST session. Its
// lastModified orders it against webhooks; without one, sourceTime does.
func FromRESTSession(integrationID string, s *cvent.Session, sourceTime time.Time) directory.Session {
	start, _ := cventpush.ParseTime(s.Start)
	end, _ := cventpush.ParseTime(s.End)
	if !s.LastModified.IsZero() {
		sourceTime = s.LastModified
	}
	return directory.Session{
		IntegrationID: integrationID,
		SessionID:     cventpush.NormaliseID(s.ID),
		Name:          s.Name,
		Code:          s.Code,
		Description:   s.Description,
		StartsAt:      start,
		EndsAt:        end,
		Timezone:      s.Timezone,
		Deleted:       s.Status == "Deleted" || s.Status == "Cancelled",
		SourceTime:    sourceTime,
	}
}

// AgendasFromEnrollment groups REST session enrollments into each listed
// attendee's complete session list (sorted, lower case).
func AgendasFromEnrollment(enrollments []cvent.Enrollment) map[string][]string {
	sets := map[string]map[string]bool{}
	for _, e := range enrollments {
		a, s := cventpush.NormaliseID(e.Attendee.ID), cventpush.NormaliseID(e.Session.ID)
		if a == "" || s == "" {
			continue
		}
		if sets[a] == nil {
			sets[a] = map[string]bool{}
		}
		sets[a][s] = true
	}
	out := make(map[string][]string, len(sets))
	for a, set := range sets {
		ids := make([]string, 0, len(set))
		for s := range set {
			ids = append(ids, s)
		}
		sort.Strings(ids)
		out[a] = ids
	}
	return out
}
