package bench

import (
	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

// statusMix is the share, in every hundred registrations, of each status
// Cvent sends (REST spelling; webhooks use the same words). Only Accepted
// gets access, so a scenario checks both sides of the rule.
var statusMix = []struct {
	Status string
	Per100 int
}{
	{directory.StatusAccepted, 80},
	{directory.StatusCancelled, 8},
	{directory.StatusWaitlisted, 5},
	{directory.StatusPendingApproval, 4},
	{directory.StatusDeclined, 3},
}

// mixStatus is the status of the i-th registration of a scenario. Within
// every block of 100 consecutive registrations the shares of statusMix hold
// exactly; 37 is coprime to 100, so the statuses are spread over the block
// instead of arriving in runs.
func mixStatus(i int) string {
	r := (i % 100) * 37 % 100
	for _, m := range statusMix {
		if r < m.Per100 {
			return m.Status
		}
		r -= m.Per100
	}
	return directory.StatusAccepted
}

// wantsAccess is the rule the benchmark checks: only Accepted gets access.
func wantsAccess(status string) bool { return status == directory.StatusAccepted }

// deliveryFor is how Cvent tells a single registration of that status: the
// live triggers for accepted and cancelled registrations; any other status
// only travels in inviteeStatus of an attendee manual sync, so those are
// one-item AttendeeManualSynced deliveries.
func deliveryFor(status string) (eventType string, withStatus bool) {
	switch status {
	case directory.StatusAccepted:
		return cventpush.InviteeOrGuestAccepted, false
	case directory.StatusCancelled:
		return cventpush.InviteeOrGuestCancelled, false
	default:
		return cventpush.AttendeeManualSynced, true
	}
}
