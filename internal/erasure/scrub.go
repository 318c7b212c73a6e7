// Package erasure removes a person from stored webhook bodies: the rule for
// what is left of a body after a data subject's erasure request. The SQL that
// erases the rest lives in internal/store (ErasePerson).
package erasure

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Scrubber returns the body rewriter for a person known by needles (their
// e-mail addresses and invitee id): every array element (an item of the
// envelope's message list, a guest, a session registration) that mentions
// any needle, case-insensitively, once its own such elements are gone, is removed and the rest of the
// JSON kept, so a replay still applies everyone else. A body that is not
// JSON, or that still mentions the person once such elements are gone (a
// single-item envelope whose message is an object), is blanked.
func Scrubber(needles ...string) func(body []byte) ([]byte, bool) {
	var lower []string
	for _, n := range needles {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			lower = append(lower, n)
		}
	}
	return func(body []byte) ([]byte, bool) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // numbers keep their exact text
		var doc any
		if err := dec.Decode(&doc); err != nil {
			return nil, true
		}
		doc = drop(doc, lower)
		if mentions(doc, lower) {
			return nil, true
		}
		out, err := json.Marshal(doc)
		if err != nil {
			return nil, true
		}
		return out, false
	}
}

// drop removes the array elements that still mention a needle once their
// own elements are dropped, at any depth.
func drop(v any, needles []string) any {
	switch x := v.(type) {
	case []any:
		kept := make([]any, 0, len(x))
		for _, e := range x {
			// Innermost first: a guest is removed from its host's item,
			// not the host with it.
			if e = drop(e, needles); !mentions(e, needles) {
				kept = append(kept, e)
			}
		}
		return kept
	case map[string]any:
		for k, e := range x {
			x[k] = drop(e, needles)
		}
		return x
	}
	return v
}

func mentions(v any, needles []string) bool {
	switch x := v.(type) {
	case string:
		s := strings.ToLower(x)
		for _, n := range needles {
			if strings.Contains(s, n) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if mentions(e, needles) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if mentions(k, needles) || mentions(e, needles) {
				return true
			}
		}
	}
	return false
}
