package devenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cventsync/cventsync/internal/searchattr"
)

func composeFile(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := ModuleRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "docker-compose.yml")
}

// docker-compose validates the file without a Docker engine, which catches
// what a YAML parser does not: bad keys, depends_on conditions, interpolation.
func TestComposeFileIsValid(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("docker-compose is not installed, so docker-compose.yml cannot be validated (make tools, or apt-get install docker-compose)")
		}
		t.Skip("docker-compose is not installed (apt-get install docker-compose); docker-compose.yml not validated")
	}
	cmd := exec.Command(bin, "-f", composeFile(t), "config", "-q")
	// Validate the committed defaults, not whatever a developer's shell sets.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config -q: %v\n%s", err, out)
	}
}

type composeDoc struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     any               `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) composeDoc {
	t.Helper()
	b, err := os.ReadFile(composeFile(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc composeDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return doc
}

func TestComposeDeclaresServices(t *testing.T) {
	doc := readCompose(t)
	for _, name := range []string{"postgres", "temporal", "temporal-setup", "temporal-ui", "migrate", "gateway", "worker"} {
		if _, ok := doc.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no service %q", name)
		}
	}
	for name, want := range map[string]string{"migrate": "migrate", "gateway": "gateway", "worker": "worker"} {
		if got := commandText(doc.Services[name].Command); got != want {
			t.Errorf("service %s runs %q, want the %q subcommand", name, got, want)
		}
	}
	if got := doc.Services["gateway"].Environment["CVENTSYNC_HTTP_ADDR"]; !strings.HasPrefix(got, "0.0.0.0:") {
		t.Errorf("gateway CVENTSYNC_HTTP_ADDR = %q; it must listen on all interfaces in a container", got)
	}
}

// The one-shot temporal-setup must register exactly what the code sets on
// workflows; a missing attribute makes every workflow start fail.
func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	script := commandText(readCompose(t).Services["temporal-setup"].Command)
	for name, typ := range searchattr.Definitions() {
		if !strings.Contains(script, "create "+name+" "+typ+"\n") {
			t.Errorf("temporal-setup does not run `create %s %s`", name, typ)
		}
	}
}

func commandText(c any) string {
	switch c := c.(type) {
	case string:
		return c
	case []any:
		parts := make([]string, len(c))
		for i, p := range c {
			parts[i], _ = p.(string)
		}
		return strings.Join(parts, " ")
	}
	return ""
}
