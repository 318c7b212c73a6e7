package devenv

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Gateway and worker are healthy when their /readyz answers (PostgreSQL,
// migrations, Temporal), probed by the binary itself (the image has no
// shell); the worker's listener is reachable in the compose network.
func TestComposeHealthChecksUseReadyz(t *testing.T) {
	b, err := os.ReadFile(composeFile(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for name, port := range map[string]string{"gateway": "8080", "worker": "8081"} {
		test := strings.Join(doc.Services[name].Healthcheck.Test, " ")
		if want := "cventsync probe http://127.0.0.1:" + port + "/readyz"; !strings.Contains(test, want) {
			t.Errorf("%s healthcheck %q, want it to run %q", name, test, want)
		}
	}
	if got := doc.Services["worker"].Environment["CVENTSYNC_WORKER_HTTP_ADDR"]; got != "0.0.0.0:8081" {
		t.Errorf("worker CVENTSYNC_WORKER_HTTP_ADDR = %q, want 0.0.0.0:8081", got)
	}
}
