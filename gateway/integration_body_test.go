package gateway

import (
	"slices"
	"strings"
	"testing"
)

// The integration body is split into its own fields and settings sections;
// a repeated key anywhere is refused, naming it, instead of the last one
// silently winning.
func TestSplitIntegrationJSON(t *testing.T) {
	cases := []struct {
		name, body string
		base       []string
		sections   []string
		err        string
	}{
		{"fields and sections", `{"name":"N","cventEventId":"E","mapping":{"defaultGroup":"all"}}`, []string{"cventEventId", "name"}, []string{"mapping"}, ""},
		{"repeated section", `{"name":"N","mapping":{"defaultGroup":"a"},"mapping":{"defaultGroup":"b"}}`, nil, nil, `duplicate key "mapping"`},
		{"repeated field", `{"name":"N","name":"M"}`, nil, nil, `duplicate key "name"`},
		{"repeated key inside a section", `{"mapping":{"fields":{"title":"a","title":"b"}}}`, nil, nil, `duplicate key "title" in mapping.fields`},
		{"not an object", `[1]`, nil, nil, "request body must be a JSON object"},
		{"null", `null`, nil, nil, "request body must be a JSON object"},
		{"not JSON", `{`, nil, nil, "request body must be a JSON object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base, sections, err := splitIntegrationJSON([]byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(sortedKeys(base), ","); got != strings.Join(c.base, ",") {
				t.Errorf("base %s", got)
			}
			if got := strings.Join(sortedKeys(sections), ","); got != strings.Join(c.sections, ",") {
				t.Errorf("sections %s", got)
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
