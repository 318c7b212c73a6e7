package activities

import (
	"reflect"
	"testing"

	"github.com/cventsync/cventsync/internal/store"
)

// Notifications not handed on are grouped by RFP in the order the RFPs
// were first notified; each RFP's workflow is told the newest notification
// of each supplier, and every one is marked handed afterwards.
func TestStaleRFPs(t *testing.T) {
	rows := []store.UnhandedPNS{
		{ID: 3, IntegrationID: "I", RFPID: "B", EventType: "RFP_SEND", SupplierID: "S1"},
		{ID: 4, IntegrationID: "I", RFPID: "A", EventType: "RFP_SEND", SupplierID: "S1"},
		{ID: 5, IntegrationID: "I", RFPID: "B", EventType: "RFP_VIEWED", SupplierID: "S1"},
		{ID: 6, IntegrationID: "I", RFPID: "B", EventType: "RFP_FORWARD", SupplierID: "S2"},
		{ID: 7, IntegrationID: "J", RFPID: "B", EventType: "PLANNER_CANCEL", SupplierID: ""},
	}
	want := []StaleRFP{
		{IntegrationID: "I", RFPID: "B", NotificationIDs: []int64{3, 5, 6}, Notices: []StalePNSNotice{
			{NotificationID: 5, Type: "RFP_VIEWED", SupplierID: "S1"}, {NotificationID: 6, Type: "RFP_FORWARD", SupplierID: "S2"}}},
		{IntegrationID: "I", RFPID: "A", NotificationIDs: []int64{4}, Notices: []StalePNSNotice{
			{NotificationID: 4, Type: "RFP_SEND", SupplierID: "S1"}}},
		{IntegrationID: "J", RFPID: "B", NotificationIDs: []int64{7}, Notices: []StalePNSNotice{
			{NotificationID: 7, Type: "PLANNER_CANCEL"}}},
	}
	if got := staleRFPs(rows); !reflect.DeepEqual(got, want) {
		t.Fatalf("staleRFPs:\n got %+v\nwant %+v", got, want)
	}
	if got := staleRFPs(nil); len(got) != 0 {
		t.Fatalf("nothing stale: %+v", got)
	}
}
