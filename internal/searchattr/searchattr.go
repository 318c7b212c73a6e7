// Package searchattr owns the custom Temporal search attributes cventsync sets on
// its workflows, so operators can find work by integration, event or attendee in
// the Web UI (e.g. `CventInviteeIds = "6f1d2c3b-..."`).
package searchattr

import "go.temporal.io/sdk/temporal"

var (
	// IntegrationID is the cventsync integration a workflow works for.
	IntegrationID = temporal.NewSearchAttributeKeyKeyword("CventIntegrationId")
	// EventID is the Cvent event id (lower case) of that integration.
	EventID = temporal.NewSearchAttributeKeyKeyword("CventEventId")
	// EventType is the Cvent webhook eventType a delivery carries.
	EventType = temporal.NewSearchAttributeKeyKeyword("CventEventType")
	// InviteeIDs are the (lower-case) invitee ids a workflow touches; only set
	// for small deliveries so that a manual sync does not bloat visibility.
	InviteeIDs = temporal.NewSearchAttributeKeyKeywordList("CventInviteeIds")
)

// MaxInviteeIDs bounds how many invitee ids one workflow lists in InviteeIDs.
const MaxInviteeIDs = 48

// maxValueBytes keeps one attribute's value under Temporal's default limit
// of 2 KiB per value (limit.searchAttributesSizeOfValueLimit); a workflow
// task that upserts more fails again and again.
const maxValueBytes = 1900

// FitInviteeIDs returns the longest prefix of ids, at most MaxInviteeIDs,
// whose encoded list fits in one search attribute value.
func FitInviteeIDs(ids []string) []string {
	size := 2 // []
	for i, id := range ids {
		size += len(id) + 3 // "id",
		if i == MaxInviteeIDs || size > maxValueBytes {
			return ids[:i]
		}
	}
	return ids
}

// Definitions returns name → type for every attribute, in the form
// `temporal server start-dev --search-attribute name=type` and the operator API take.
func Definitions() map[string]string {
	return map[string]string{
		IntegrationID.GetName(): "Keyword",
		EventID.GetName():       "Keyword",
		EventType.GetName():     "Keyword",
		InviteeIDs.GetName():    "KeywordList",
	}
}
