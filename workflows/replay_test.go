package workflows_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	cvworker "github.com/cventsync/cventsync/worker"
)

// Histories recorded from a real dev server (`temporal workflow show -o
// json`) must replay against today's workflow code: a change that would
// break workflows already running fails here. Record new ones when a
// workflow changes on purpose, keeping the old ones while such runs exist.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("recorded histories missing: %v %v", files, err)
	}
	r := worker.NewWorkflowReplayer()
	cvworker.RegisterWorkflows(r)
	covered := map[string]bool{}
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s does not replay: %v", f, err)
		}
		covered[workflowType(t, f)] = true
	}
	// Workflows whose recorded runs must keep replaying (rfp-v0.json was
	// recorded before the RFP workflow's rfp-answered-inline-pull change;
	// rfp.json before PullInline, rfp-inline.json with it: one pull inline,
	// the next inline then, the account's pace being busy, as an activity).
	for _, name := range []string{"RFP", "Maintenance"} {
		if !covered[name] {
			t.Errorf("no recorded history of the %s workflow in testdata", name)
		}
	}
}

// workflowType reads the workflow type a recorded history starts.
func workflowType(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Events []struct {
			Attrs struct {
				WorkflowType struct{ Name string } `json:"workflowType"`
			} `json:"workflowExecutionStartedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil || len(h.Events) == 0 {
		t.Fatalf("%s: not a history: %v", file, err)
	}
	return h.Events[0].Attrs.WorkflowType.Name
}
