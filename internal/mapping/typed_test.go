package mapping

import (
	"encoding/json"
	"testing"

	"github.com/cventsync/cventsync/internal/cventpush"
)

// The typed reading of a field must give what a document read of the same
// item gives, whatever shape Cvent sends the value in.
func TestTypedFieldsReadAsTheDocumentDoes(t *testing.T) {
	values := []string{`"Ada"`, `"  padded  "`, `""`, `null`, `42`, `1.50`, `true`, `false`, `"\u00e9t\u00e9"`, `"tab\tin"`,
		`["a", " b ", "", 3]`, `[["x"], {"y": 1}, "z"]`, `{"nested": "object"}`, `[]`, `"é"`, `"a\"quote"`}
	for path := range typedFields {
		for _, v := range values {
			for _, key := range []string{path, upperFirst(path)} {
				raw := json.RawMessage(`{"` + key + `": ` + v + `}`)
				items, err := cventpush.Attendees([]json.RawMessage{raw})
				if err != nil {
					t.Fatalf("%s: %v", raw, err)
				}
				got, ok := typedField(&items[0], path)
				if !ok {
					t.Fatalf("%s is not typed", path)
				}
				if want := parseDoc(raw).get(path); got != want {
					t.Errorf("%s: typed %q, document %q", raw, got, want)
				}
			}
		}
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
