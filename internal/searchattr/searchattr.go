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
const MaxInviteeIDs = 100

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
