package activities

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/testsuite"

	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/store/storetest"
	"github.com/cventsync/cventsync/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixedAccount struct{ c *cvent.Client }

func (f fixedAccount) For(*store.Integration) (*cvent.Client, error) { return f.c, nil }

// A re-sync attempt that failed after applying some pages leaves its place
// in its heartbeat: the retry reads on from there instead of starting the
// run's pages over (which, with a steady error rate, would slow a long
// re-sync the more the more pages a run reads).
func TestResyncRetryResumesFromItsHeartbeat(t *testing.T) {
	ctx := context.Background()
	sim := simulator.New(simulator.Config{Seed: 7, Attendees: 1000})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	id, secret := sim.Credentials()
	client, err := cvent.New(cvent.Config{ClientID: id, ClientSecret: secret, BaseURL: srv.URL + "/ea"})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	in := &store.Integration{ID: uuid.NewString(), Name: "resync", CventEventID: sim.EventID(), Environment: "sandbox",
		Region: "na", WebhookTokenHash: []byte("h")}
	if err := st.CreateIntegration(ctx, in); err != nil {
		t.Fatal(err)
	}
	rs, err := st.CreateResync(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	// How many reads a whole re-sync takes, then where a failed attempt
	// stood: two of the run's pages applied.
	full := listCalls(sim)
	for _, err := range client.Attendees(ResyncOptions(in.CventEventID, "")).All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
	}
	full = listCalls(sim) - full
	pager := client.Attendees(ResyncOptions(in.CventEventID, ""))
	for range 2 {
		if _, ok, err := pager.Next(ctx); err != nil || !ok {
			t.Fatalf("page: %v %v", ok, err)
		}
	}
	before := listCalls(sim)

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&Cvent{Store: st, Accounts: fixedAccount{client}})
	env.SetHeartbeatDetails(resyncHeartbeat{Token: "", Pages: 2, Progress: ResyncPageResult{Token: pager.Token, Done: 400, Total: 1000}})
	val, err := env.ExecuteActivity((&Cvent{}).ResyncPages, &ResyncPageInput{IntegrationID: in.ID, ResyncID: rs.ID, MaxPages: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out ResyncPageResult
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	if !out.Finished || out.Done != 1000 {
		t.Fatalf("re-sync ended at %+v, want all 1000 done", out)
	}
	if read := listCalls(sim) - before; read != full-2 {
		t.Fatalf("the retry read %d pages; a whole re-sync reads %d, so %d were left after the heartbeat's two", read, full, full-2)
	}
	got, err := st.GetResync(ctx, rs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Done != 1000 {
		t.Fatalf("recorded progress %d, want 1000", got.Done)
	}
}

func listCalls(sim *simulator.Simulator) int {
	n := 0
	for k, v := range sim.Calls() {
		if k == "GET /attendees" {
			n += v
		}
	}
	return n
}
