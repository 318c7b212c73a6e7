package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ErrDuplicateKey marks a JSON object that repeats a key.
var ErrDuplicateKey = errors.New("duplicate key")

// CheckDuplicateKeys reports the first object in raw that repeats a key,
// naming the key and its path (e.g. `duplicate key "title" in
// mapping.fields`). encoding/json keeps the last of repeated keys silently,
// so a settings document with one would not mean what its author read.
// Invalid JSON is left to the decoder that reads the document.
func CheckDuplicateKeys(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := checkValue(dec, "", 0)
	if errors.Is(err, ErrDuplicateKey) {
		return err
	}
	return nil
}

// maxDepth is encoding/json's own nesting limit; deeper documents are
// refused by the decoder anyway.
const maxDepth = 10000

var errTooDeep = errors.New("nested too deeply")

// checkValue reads one JSON value from dec, checking every object in it.
func checkValue(dec *json.Decoder, path string, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, ok := tok.(string)
			if !ok {
				return io.ErrUnexpectedEOF
			}
			if seen[key] {
				if path == "" {
					return fmt.Errorf("%w %q", ErrDuplicateKey, key)
				}
				return fmt.Errorf("%w %q in %s", ErrDuplicateKey, key, path)
			}
			seen[key] = true
			if err := checkValue(dec, join(path, key), depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
