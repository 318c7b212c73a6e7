package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/activities"
	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/workflows"
)

// A notification stored while its RFP's workflow cannot be started (Temporal
// down) is acknowledged and stays "received"; nothing but the maintenance
// sweep hands it on once Temporal is back, and then the RFP appears. The
// sweep also signals a running RFP workflow that missed a notification (the
// gateway stopped between the store and the signal).
func TestPNSSweepHandsOnNotificationsNeverHanded(t *testing.T) {
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	startTemporal := func() *devenv.Temporal {
		tp, err := devenv.StartTemporal(context.Background(), devenv.TemporalOptions{
			Port: port, UIPort: -1, SearchAttributes: searchattr.Definitions(),
		})
		if err != nil {
			t.Fatalf("start temporal: %v", err)
		}
		return tp
	}
	tp := startTemporal()
	logs := &syncBuffer{}
	e := newPNSEnv(t, pnsOptions{stack: stackOptions{temporalAddress: tp.Address, logTo: logs}})
	ctx := context.Background()

	if err := tp.Stop(); err != nil {
		t.Fatalf("stop temporal: %v", err)
	}
	lost, lostNotes := e.net.SendRFP("Sales kickoff", "S1")
	status, body := e.sender.PostOnce(lostNotes[0].Body())
	if status != http.StatusOK {
		t.Fatalf("with Temporal down the notification must be stored and acknowledged: %d %s", status, body)
	}
	// The gateway tried to start the RFP's workflow, and failed.
	wid := workflows.RFPWorkflowID(e.id, lost.ID)
	e.waitFor("the failed start to be logged", 60*time.Second, func() (bool, string) {
		for _, l := range logs.lines() {
			if strings.Contains(l, "not handed on") && strings.Contains(l, wid) {
				return true, ""
			}
		}
		return false, "no such log line"
	})

	tp = startTemporal() // same address, fresh server: the worker and the gateway reconnect
	t.Cleanup(func() { _ = tp.Stop() })
	c, err := client.Dial(client.Options{HostPort: tp.Address, Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A running RFP workflow, to miss a notification. Its notification is
	// posted again (a repeat of one not handed is handed again) until the
	// gateway has handed it on, past its Temporal-down pause.
	open, openNotes := e.net.SendRFP("Board meeting", "S1")
	e.waitFor("the second RFP handed on", 60*time.Second, func() (bool, string) {
		if status, body := e.sender.PostOnce(openNotes[0].Body()); status != http.StatusOK {
			return false, string(body)
		}
		time.Sleep(500 * time.Millisecond)
		counts, _ := e.store.CountPNSNotifications(ctx, e.id)
		return counts[store.PNSHanded]+counts[store.PNSProcessed] == 1, ""
	})
	e.waitRFP(open.ID, "the second RFP", 30*time.Second, func(v rfpView) bool { return v.SupplierStatus == "AWAITING_PROPOSAL" })

	// The gateway stopped between storing this one and signalling it.
	proposal, err := e.net.Act("RESPONSE_SUBMIT_PROPOSAL", open.ID, "S1", "")
	if err != nil {
		t.Fatal(err)
	}
	missed := e.storeOnly(proposal.Body())
	// Nothing else hands them on: no workflow for the lost RFP, and both stay received.
	time.Sleep(1500 * time.Millisecond) // older than the age given below, too
	if _, err := c.DescribeWorkflowExecution(ctx, wid, ""); !errors.As(err, new(*serviceerror.NotFound)) {
		t.Fatalf("the lost RFP's workflow exists before the sweep (%v): the test proves nothing", err)
	}
	stale, err := e.store.PNSNotHanded(ctx, time.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var staleIDs []int64
	for _, x := range stale {
		if x.IntegrationID == e.id {
			staleIDs = append(staleIDs, x.ID)
		}
	}
	if len(staleIDs) != 2 || !slices.Contains(staleIDs, missed.ID) {
		t.Fatalf("not handed before the sweep: %v, want two with %d", staleIDs, missed.ID)
	}

	sweep := func(record string) *activities.StaleWork {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "maintenance-" + uuid.NewString(), TaskQueue: e.queue},
			workflows.Maintenance, &activities.StaleWorkInput{PNSNotificationAge: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var work activities.StaleWork
		if err := run.Get(ctx, &work); err != nil {
			t.Fatalf("maintenance: %v", err)
		}
		if record != "" {
			recordHistory(t, c, run.GetID(), run.GetRunID(), record)
		}
		return &work
	}
	work := sweep("maintenance-pns")
	var swept []string
	for _, r := range work.RFPs {
		if r.IntegrationID == e.id {
			swept = append(swept, r.RFPID)
		}
	}
	slices.Sort(swept)
	want := []string{lost.ID, open.ID}
	slices.Sort(want)
	if !slices.Equal(swept, want) {
		t.Fatalf("the sweep handed on %v, want %v", swept, want)
	}
	e.waitRFP(lost.ID, "the lost RFP after the sweep", 30*time.Second, func(v rfpView) bool {
		return v.Name == "Sales kickoff" && v.SupplierStatus == "AWAITING_PROPOSAL"
	})
	e.waitRFP(open.ID, "the missed proposal after the sweep", 30*time.Second, func(v rfpView) bool {
		return v.SupplierStatus == "SUBMITTED_PROPOSAL"
	})
	e.waitFor("every notification answered by a pull", 10*time.Second, func() (bool, string) {
		counts, err := e.store.CountPNSNotifications(ctx, e.id)
		if err != nil {
			return false, err.Error()
		}
		return counts[store.PNSProcessed] == 3 && len(counts) == 1, ""
	})
	// Handed on once: the next sweep finds nothing of this integration.
	for _, r := range sweep("").RFPs {
		if r.IntegrationID == e.id {
			t.Fatalf("handed on again: %+v", r)
		}
	}
}
