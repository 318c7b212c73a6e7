package settings

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The settings reader takes any document without panicking: the duplicate
// key check, Merge of any section and Decode of what Merge stored.
func FuzzSettings(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "cvent", "samples", "*.json"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`{"demo":{"size":3}}`, `{"demo":{"size":3},"demo":{"size":4}}`, `{"demo":{"size":-1}}`,
		`{"demo":null}`, `{"nope":{}}`, `{"demo":{"size":1,"size":2}}`, `[{"a":1,"a":2}]`, `{"a":{"b":[{"c":1},{"c":2,"c":3}]}}`, `"x"`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := CheckDuplicateKeys(raw); err != nil && !errors.Is(err, ErrDuplicateKey) {
			t.Fatalf("CheckDuplicateKeys: %v is not ErrDuplicateKey", err)
		}
		var sections map[string]json.RawMessage
		if json.Unmarshal(raw, &sections) != nil {
			return
		}
		doc, err := Merge(nil, sections)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || len(se.Problems) == 0 {
				t.Fatalf("Merge error without problems: %v", err)
			}
			return
		}
		if err := CheckDuplicateKeys(doc); err != nil {
			t.Fatalf("stored settings repeat a key: %v", err)
		}
		var d demo
		if err := Decode(doc, "demo", &d); err != nil {
			t.Fatalf("stored settings do not decode: %v", err)
		}
	})
}
