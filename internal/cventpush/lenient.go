package cventpush

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// String accepts any JSON scalar and keeps its text: Cvent sends numbers as
// strings and strings as numbers for the same field, and "" for empty values.
// A list gives its scalars joined with ", ", an object nothing.
type String string

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*s = ""
	case b[0] == '"':
		// Most values have no escapes: take their text as it is (the decoder
		// calling this has checked the syntax already). Escapes and invalid
		// UTF-8 (replaced, as encoding/json does) take the slow path.
		if len(b) >= 2 && b[len(b)-1] == '"' {
			if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
				*s = String(strings.TrimSpace(string(inner)))
				return nil
			}
		}
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = String(strings.TrimSpace(v))
	case b[0] == '[':
		// A list where a scalar was expected: its scalars, joined (as a
		// mapped field's path reads them).
		// One parse, however deep the nesting.
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var list any
		if err := dec.Decode(&list); err != nil {
			return err
		}
		var parts []string
		collectScalars(list, &parts)
		*s = String(strings.Join(parts, ", "))
	case b[0] == '{':
		// An object where a scalar was expected: keep nothing rather than fail the
		// whole delivery over one odd field.
		*s = ""
	default:
		*s = String(b) // number or bool literal, as written
	}
	return nil
}

// collectScalars appends the trimmed, non-empty scalars of a decoded list,
// its nested lists included; objects hold no value.
func collectScalars(v any, out *[]string) {
	var text string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			collectScalars(e, out)
		}
		return
	case string:
		text = t
	case json.Number:
		text = t.String()
	case bool:
		text = strconv.FormatBool(t)
	}
	if text = strings.TrimSpace(text); text != "" {
		*out = append(*out, text)
	}
}

// Bool accepts true/false, "true"/"True"/"yes"/"no", 1/0 and "1"/"0".
// Anything it cannot read is false; Cvent uses these flags only as hints.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*v = Bool(ParseBool(string(s)))
	return nil
}

// ParseBool reads a Cvent flag in any of its spellings.
func ParseBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "t", "on":
		return true
	}
	return false
}

// Time accepts every date format Cvent emits. Times without a zone are read as
// UTC: Cvent gives no zone for them and UTC keeps ordering stable.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
	"01/02/2006 15:04:05",
	"01/02/2006",
}

// ParseTime reads a Cvent date or time; the empty string is the zero time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 1e11 {
		return time.UnixMilli(ms).UTC(), nil // epoch milliseconds
	}
	return time.Time{}, fmt.Errorf("unrecognised Cvent time %q", s)
}

// UnmarshalJSON implements json.Unmarshaler. An unreadable time becomes the zero
// time instead of failing the delivery; the raw body is kept for operators.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	parsed, err := ParseTime(string(s))
	if err != nil {
		t.Time = time.Time{}
		return nil
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes RFC 3339, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.Time.Format(time.RFC3339Nano))
}

// StringList accepts an array of scalars, a single scalar, or a comma-separated string.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var items []String
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			if it != "" {
				out = append(out, string(it))
			}
		}
		*l = out
		return nil
	}
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = nil
	for _, part := range strings.Split(string(s), ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}
