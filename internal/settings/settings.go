// Package settings owns the per-integration settings document (the
// integrations.settings column). It is made of named sections — "mapping",
// "polling", "participation", ... — each owned by the package that reads it
// and registered here with a function that validates and normalises it, so a
// feature adds its settings without touching anyone else's.
package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Section validates and normalises one section's JSON. It returns the JSON
// to store, or an error that names the problem in the user's terms.
type Section func(raw json.RawMessage) (json.RawMessage, error)

var (
	mu       sync.RWMutex
	sections = map[string]Section{}
)

// Register adds a section. It panics on a duplicate name: that is a
// programming error found at start-up.
func Register(name string, validate Section) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := sections[name]; dup {
		panic("settings: section registered twice: " + name)
	}
	sections[name] = validate
}

// Names lists the registered sections.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(sections))
	for n := range sections {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// IsSection reports whether name is a registered section.
func IsSection(name string) bool {
	mu.RLock()
	defer mu.RUnlock()
	_, ok := sections[name]
	return ok
}

// Merge validates each given section and returns current with those
// sections replaced. A section given as JSON null is removed (defaults apply).
func Merge(current json.RawMessage, updates map[string]json.RawMessage) (json.RawMessage, error) {
	doc := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(current)) > 0 {
		if err := json.Unmarshal(current, &doc); err != nil {
			return nil, fmt.Errorf("stored settings are not a JSON object: %w", err)
		}
	}
	var problems []string
	names := make([]string, 0, len(updates))
	for n := range updates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := updates[name]
		mu.RLock()
		validate, ok := sections[name]
		mu.RUnlock()
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown setting %q (known: %s)", name, strings.Join(Names(), ", ")))
			continue
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			delete(doc, name)
			continue
		}
		if err := CheckDuplicateKeys(raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		norm, err := validate(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		doc[name] = norm
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode settings: %w", err)
	}
	return out, nil
}

// Decode reads one section of a settings document into v. A missing
// section leaves v as it is (its defaults).
func Decode(doc json.RawMessage, name string, v any) error {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(doc, &all); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	raw, ok := all[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("settings %s: %w", name, err)
	}
	return nil
}

// Strict decodes raw into v, refusing unknown fields, for validators.
func Strict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// Error lists every problem found in a settings update.
type Error struct{ Problems []string }

func (e *Error) Error() string { return strings.Join(e.Problems, "; ") }
