package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A repeated key is a mistake the last-one-wins rule of encoding/json hides:
// the check names the key and where it is.
func TestCheckDuplicateKeys(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // "" = no error; else a substring of the error
	}{
		{"plain", `{"a":1,"b":{"c":[1,{"d":2}]}}`, ""},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":2}}`, ""},
		{"same key in array items", `[{"x":1},{"x":2}]`, ""},
		{"top level", `{"mapping":{},"mapping":{}}`, `duplicate key "mapping"`},
		{"nested", `{"mapping":{"fields":{"title":"a","title":"b"}}}`, `duplicate key "title" in mapping.fields`},
		{"inside an array", `{"mapping":{"customFields":[{"name":"a","to":"x","to":"y"}]}}`, `duplicate key "to" in mapping.customFields[0]`},
		{"escaped spelling is the same key", `{"a":1,"\u0061":2}`, `duplicate key "a"`},
		{"scalar", `12`, ""},
		{"empty object", `{}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckDuplicateKeys([]byte(c.in))
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// Merge refuses a section with a repeated key and names it.
func TestMergeRefusesDuplicateKeys(t *testing.T) {
	Register("duptest", func(raw json.RawMessage) (json.RawMessage, error) { return raw, nil })
	_, err := Merge(nil, map[string]json.RawMessage{"duptest": json.RawMessage(`{"fields":{"title":"a","title":"b"}}`)})
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), `duptest: duplicate key "title" in fields`) {
		t.Fatalf("got %v", err)
	}
}
