package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// Limits on what the admin API reads; the README documents them. A value
// over its limit, with a NUL byte or with invalid UTF-8 answers 400 naming
// the field, before any handler or database sees it.
const (
	maxPathValue   = 256      // one path segment: an id
	maxQueryKey    = 64       // a query parameter's name
	maxQueryValue  = 1024     // a query parameter's value
	maxHeaderValue = 8 << 10  // one header value
	maxJSONKey     = 256      // an object key in a JSON body
	maxJSONString  = 64 << 10 // a string value in a JSON body
	maxJSONDepth   = 64       // nesting of a JSON body
	// DefaultAdminMaxBodyBytes caps an admin request body (413 above).
	DefaultAdminMaxBodyBytes = 1 << 20
)

// bodyFieldLimits are tighter limits on top-level fields of admin bodies.
var bodyFieldLimits = map[string]int{
	"name":         200,
	"cventEventId": 100,
	"environment":  32,
	"region":       32,
	"kind":         32,
	"role":         32,
}

// inputError is a 400 (or 413) that names the field at fault.
type inputError struct {
	status  int
	Field   string `json:"field"`
	Problem string `json:"error"`
}

func (e *inputError) Error() string { return e.Problem }

// checkInput answers 400 or 413 and returns false when a request's path,
// query, headers or JSON body carry what the admin API does not take.
func (s *Server) checkInput(c *gin.Context) bool {
	err := checkRequestParts(c)
	if err == nil {
		err = s.checkBody(c)
	}
	if err == nil {
		return true
	}
	var ie *inputError
	if !errors.As(err, &ie) {
		s.internalError(c, "read request", err)
		return false
	}
	c.AbortWithStatusJSON(ie.status, ie)
	return false
}

func badInput(field, problem string) *inputError {
	return &inputError{status: http.StatusBadRequest, Field: field, Problem: field + ": " + problem}
}

// checkText is the rule for every string the admin API takes.
func checkInputText(field, v string, max int) *inputError {
	switch {
	case strings.IndexByte(v, 0) >= 0:
		return badInput(field, "contains a NUL byte")
	case !utf8.ValidString(v):
		return badInput(field, "is not valid UTF-8")
	case len(v) > max:
		return badInput(field, fmt.Sprintf("is %d bytes long; at most %d are allowed", len(v), max))
	}
	return nil
}

// asError keeps a nil *inputError a nil error.
func asError(e *inputError) error {
	if e == nil {
		return nil
	}
	return e
}

func checkRequestParts(c *gin.Context) error {
	for _, p := range c.Params {
		if err := checkInputText("path."+p.Key, p.Value, maxPathValue); err != nil {
			return err
		}
	}
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return badInput("query", "cannot be parsed: "+err.Error())
	}
	for k, vs := range q {
		if err := checkInputText("query", k, maxQueryKey); err != nil {
			err.Problem = "query: a parameter name " + strings.TrimPrefix(err.Problem, "query: ")
			return err
		}
		for _, v := range vs {
			if err := checkInputText("query."+k, v, maxQueryValue); err != nil {
				return err
			}
		}
	}
	for k, vs := range c.Request.Header {
		for _, v := range vs {
			if err := checkInputText("header."+k, v, maxHeaderValue); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBody reads a body up to the cap (413 above it), checks it as JSON,
// and puts it back for the handler.
func (s *Server) checkBody(c *gin.Context) error {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		return nil
	}
	limit := s.opts.AdminMaxBodyBytes
	if limit <= 0 {
		limit = DefaultAdminMaxBodyBytes
	}
	if c.Request.ContentLength > limit {
		return bodyTooLarge(limit)
	}
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	if err != nil {
		return badInput("body", "could not be read: "+err.Error())
	}
	if int64(len(b)) > limit {
		return bodyTooLarge(limit)
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(b))
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := CheckJSONBody(b); err != nil {
		return err
	}
	return nil
}

func bodyTooLarge(limit int64) *inputError {
	return &inputError{status: http.StatusRequestEntityTooLarge, Field: "body",
		Problem: "body: larger than " + strconv.FormatInt(limit, 10) + " bytes (CVENTSYNC_ADMIN_MAX_BODY_BYTES)"}
}

// CheckJSONBody checks an admin JSON body: valid JSON and UTF-8, no NUL in
// any key or string, keys and strings within their limits. The error names
// the field as a path (body.settings.mapping.rules[2].name).
func CheckJSONBody(b []byte) error { return checkJSON(b, "body") }

func checkJSON(b []byte, root string) error {
	// encoding/json turns invalid UTF-8 into U+FFFD silently: find the first
	// bad byte, and name the field the decoder was in when it got there.
	badAt := -1
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				badAt = i
				break
			}
			i += n
		}
	}
	w := &jsonWalker{dec: json.NewDecoder(bytes.NewReader(b)), badAt: int64(badAt)}
	w.dec.UseNumber()
	if err := w.value(root, 0); err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != io.EOF {
		return badInput(root, "has more after the JSON value")
	}
	if badAt >= 0 { // in whitespace between tokens
		return badInput(root, "is not valid UTF-8")
	}
	return nil
}

type jsonWalker struct {
	dec   *json.Decoder
	badAt int64
}

func (w *jsonWalker) value(path string, depth int) error {
	if depth > maxJSONDepth {
		return badInput(path, fmt.Sprintf("nests deeper than %d levels", maxJSONDepth))
	}
	tok, err := w.dec.Token()
	if err != nil {
		return badInput(path, "is not valid JSON: "+err.Error())
	}
	if err := w.afterToken(path); err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			for w.dec.More() {
				kt, err := w.dec.Token()
				if err != nil {
					return badInput(path, "is not valid JSON: "+err.Error())
				}
				key, _ := kt.(string)
				if err := w.afterToken(path + "." + key); err != nil {
					return err
				}
				if err := checkInputText(path+"."+key, key, maxJSONKey); err != nil {
					err.Problem = path + ": key " + quoteShort(key) + " " + strings.TrimPrefix(err.Problem, path+"."+key+": ")
					err.Field = path
					return err
				}
				if err := w.field(path, key, depth); err != nil {
					return err
				}
			}
		case '[':
			for i := 0; w.dec.More(); i++ {
				if err := w.value(path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
					return err
				}
			}
		}
		if _, err := w.dec.Token(); err != nil { // the closing delimiter
			return badInput(path, "is not valid JSON: "+err.Error())
		}
		return w.afterToken(path)
	case string:
		return asError(checkInputText(path, t, maxJSONString))
	}
	return nil
}

// field walks one object member, with the tighter limits of bodyFieldLimits
// on top-level string fields.
func (w *jsonWalker) field(path, key string, depth int) error {
	max, limited := bodyFieldLimits[key]
	if !limited || depth != 0 {
		return w.value(path+"."+key, depth+1)
	}
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		return badInput(path+"."+key, "is not valid JSON: "+err.Error())
	}
	if err := w.afterToken(path + "." + key); err != nil {
		return err
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return checkJSON(raw, path+"."+key) // not a string: the handler says what it should be
	}
	return asError(checkInputText(path+"."+key, s, max))
}

// afterToken names the field holding the first invalid UTF-8 byte, once
// the decoder has read past it.
func (w *jsonWalker) afterToken(path string) error {
	if w.badAt >= 0 && w.dec.InputOffset() > w.badAt {
		return badInput(path, "is not valid UTF-8")
	}
	return nil
}

// quoteShort quotes a key for an error message, cut so that an over-long
// key is not echoed whole.
func quoteShort(key string) string {
	if len(key) > 64 {
		key = strings.ToValidUTF8(key[:64], "") + "…"
	}
	return strconv.Quote(key)
}
