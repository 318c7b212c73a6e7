package workflows_test

import (
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
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s does not replay: %v", f, err)
		}
	}
}
