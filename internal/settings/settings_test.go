package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type demo struct {
	Size int `json:"size"`
}

func init() {
	Register("demo", func(raw json.RawMessage) (json.RawMessage, error) {
		var d demo
		if err := Strict(raw, &d); err != nil {
			return nil, err
		}
		if d.Size < 0 {
			return nil, errors.New("size must not be negative")
		}
		return json.Marshal(d)
	})
}

func TestMergeValidatesAndKeepsOtherSections(t *testing.T) {
	doc, err := Merge(json.RawMessage(`{"other":{"x":1}}`), map[string]json.RawMessage{"demo": json.RawMessage(`{"size":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	var d demo
	if err := Decode(doc, "demo", &d); err != nil || d.Size != 3 {
		t.Fatalf("got %+v %v", d, err)
	}
	if !strings.Contains(string(doc), `"other"`) {
		t.Errorf("other section lost: %s", doc)
	}
	doc, err = Merge(doc, map[string]json.RawMessage{"demo": json.RawMessage(`null`)})
	if err != nil || strings.Contains(string(doc), "demo") {
		t.Errorf("null must remove the section: %s %v", doc, err)
	}
}

func TestMergeNamesEveryProblem(t *testing.T) {
	_, err := Merge(nil, map[string]json.RawMessage{
		"demo": json.RawMessage(`{"size":-1}`), "nope": json.RawMessage(`{}`),
	})
	var se *Error
	if !errors.As(err, &se) || len(se.Problems) != 2 {
		t.Fatalf("want two problems, got %v", err)
	}
	if !strings.Contains(err.Error(), `unknown setting "nope"`) || !strings.Contains(err.Error(), "negative") {
		t.Errorf("problems not named: %v", err)
	}
	if _, err := Merge(nil, map[string]json.RawMessage{"demo": json.RawMessage(`{"sizes":1}`)}); err == nil ||
		!strings.Contains(err.Error(), "sizes") {
		t.Errorf("an unknown field must be named: %v", err)
	}
}
