package cventpush

import (
	"errors"
	"io"

	gojson "github.com/goccy/go-json"
)

// The worker splits a stored large delivery into its items with
// goccy/go-json's streaming decoder (Gin offers the library as its JSON
// backend): three times as fast as encoding/json's on the bench's manual
// sync, CPU that the sync's chunks then have for PostgreSQL. It only finds
// where each item begins and ends; the items are decoded with encoding/json
// (goccy's does not match keys case-insensitively for every field, which
// Cvent's varying key case needs: TestTypedFieldsReadAsTheDocumentDoes),
// and the gateway checks every body with encoding/json before it is stored.
// TestStreamItemsSplitsLikeEncodingJSON holds the two to the same bytes.

// newItemDecoder is the streaming decoder StreamItems reads a body with.
func newItemDecoder(r io.Reader) tokenDecoder { return gojson.NewDecoder(r) }

// fastDecodeErrorText describes a syntax or type error of the fast decoder.
func fastDecodeErrorText(err error) (string, bool) {
	var syn *gojson.SyntaxError
	if errors.As(err, &syn) {
		return syntaxErrorText(syn.Offset, syn), true
	}
	var typ *gojson.UnmarshalTypeError
	if errors.As(err, &typ) {
		return typeErrorText(typ.Field, typ.Value), true
	}
	return "", false
}
