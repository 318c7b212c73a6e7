// Package mapping holds cventsync's business rules for turning Cvent data into
// platform records: which Cvent field lands in which platform field, which
// statuses are admitted, and how partial updates merge with what is stored.
// Everything here is a plain function of its inputs.
package mapping

import (
	"strings"

	"github.com/cventsync/cventsync/internal/cventpush"
	"github.com/cventsync/cventsync/internal/directory"
)

// Admitted reports whether a Cvent registration status grants platform
// access. Only Accepted does; every other status (cancelled, waitlisted,
// pending approval, ...) keeps the record without access.
func Admitted(status string) bool {
	return strings.EqualFold(strings.TrimSpace(status), directory.StatusAccepted)
}

// CanonicalStatus spells a Cvent status the way the REST API does, so that
// "accepted", "ACCEPTED" and "Accepted" are one status in the directory.
func CanonicalStatus(status string) string {
	s := strings.TrimSpace(status)
	for _, known := range []string{
		directory.StatusAccepted, directory.StatusCancelled, directory.StatusWaitlisted,
		directory.StatusNoResponse, directory.StatusDeclined, directory.StatusVisited,
		directory.StatusPendingApproval, directory.StatusDeniedApproval,
	} {
		if strings.EqualFold(s, known) {
			return known
		}
	}
	return s
}

// StatusFor decides the Cvent status an attendee item stands for. The event
// type is authoritative for live triggers; a manual sync carries inviteeStatus;
// a modification keeps the stored status unless it says otherwise.
func StatusFor(eventType string, item *cventpush.Attendee, existing *directory.Attendee) string {
	if s := CanonicalStatus(string(item.InviteeStatus)); s != "" && eventType != cventpush.InviteeOrGuestCancelled {
		return s
	}
	switch eventType {
	case cventpush.InviteeOrGuestAccepted:
		return directory.StatusAccepted
	case cventpush.InviteeOrGuestCancelled:
		return directory.StatusCancelled
	}
	if existing != nil && existing.CventStatus != "" {
		return existing.CventStatus
	}
	// Cvent only sends a modification for a registration that exists; with no
	// stored record the registrant is, by the trigger's definition, registered.
	return directory.StatusAccepted
}
