package simulator

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// validator checks traffic against Cvent's OpenAPI document.
type validator struct {
	router routers.Router
	server string // the spec's first server, which requests are matched against
}

var (
	specMu    sync.Mutex
	specCache = map[string]*validator{}
)

// loadValidator parses the spec once per process: it is 1.9 MB of YAML.
func loadValidator(path string) (*validator, error) {
	specMu.Lock()
	defer specMu.Unlock()
	if v, ok := specCache[path]; ok {
		return v, nil
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if len(doc.Servers) == 0 {
		return nil, fmt.Errorf("%s declares no servers", path)
	}
	for _, ref := range doc.Components.Schemas {
		dropDottedRequired(ref, map[*openapi3.Schema]bool{})
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	v := &validator{router: router, server: strings.TrimRight(doc.Servers[0].URL, "/")}
	specCache[path] = v
	return v, nil
}

// validate checks each request before it is served and each answer after,
// recording violations; in strict mode a violation becomes a 500.
func (s *Simulator) validate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := readAll(r)
		r.Body = nopCloser(body)
		// Match against the spec's own server: we serve the same paths elsewhere.
		specURL, _ := url.Parse(s.validator.server + strings.TrimPrefix(r.URL.Path, "/ea") + "?" + r.URL.RawQuery)
		specReq := r.Clone(r.Context())
		specReq.URL, specReq.Host, specReq.Body = specURL, specURL.Host, nopCloser(body)
		route, params, err := s.validator.router.FindRoute(specReq)
		if err != nil {
			next.ServeHTTP(w, r) // not in the spec (the token endpoint): nothing to check
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: specReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
				// The token request's grant_type is an enum without a type, which
				// kin-openapi's form decoder cannot read; that one body goes unchecked.
				ExcludeRequestBody: route.Operation.OperationID == "oauth2Token"}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			if s.violation(w, "request "+r.Method+" "+r.URL.Path+": "+firstLine(err.Error())) {
				return
			}
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code,
			Header: rec.Header(), Body: nopCloser(rec.Body.Bytes()),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusTooManyRequests && rec.Code < 500 {
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				if s.violation(w, fmt.Sprintf("response %d to %s %s: %s", rec.Code, r.Method, r.URL.Path, firstLine(err.Error()))) {
					return
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

func (s *Simulator) violation(w http.ResponseWriter, msg string) (stop bool) {
	s.mu.Lock()
	s.violations = append(s.violations, msg)
	s.mu.Unlock()
	if s.cfg.StrictOpenAPI {
		cventError(w, http.StatusInternalServerError, "simulator broke Cvent's OpenAPI spec: "+msg, "")
		return true
	}
	return false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(r.Body)
	return b.Bytes(), err
}

type bodyReader struct{ *bytes.Reader }

func (bodyReader) Close() error { return nil }

func nopCloser(b []byte) bodyReader { return bodyReader{bytes.NewReader(b)} }

// dropDottedRequired removes "required" entries that name a nested path
// (the session schema requires "event.id" beside "event"): JSON Schema reads
// that as a property literally called "event.id", which no Cvent answer has.
// This one defect of the spec is mended in memory; nothing else is changed.
func dropDottedRequired(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	sc := ref.Value
	seen[sc] = true
	kept := sc.Required[:0]
	for _, r := range sc.Required {
		if !strings.Contains(r, ".") {
			kept = append(kept, r)
		}
	}
	sc.Required = kept
	for _, sub := range sc.AllOf {
		dropDottedRequired(sub, seen)
	}
	for _, sub := range sc.OneOf {
		dropDottedRequired(sub, seen)
	}
	for _, sub := range sc.AnyOf {
		dropDottedRequired(sub, seen)
	}
	for _, p := range sc.Properties {
		dropDottedRequired(p, seen)
	}
	dropDottedRequired(sc.Items, seen)
}

// FindSpec looks for Cvent's openapi.yaml where this project keeps it: in
// shared/cvent beside the repository, found by walking up from dir to the
// directory holding go.mod. It reports os.ErrNotExist when there is none.
func FindSpec(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find openapi.yaml: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "cvent", "openapi.yaml")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("find openapi.yaml: %w", err)
			}
			return filepath.Clean(p), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find openapi.yaml: no go.mod above the working directory: %w", os.ErrNotExist)
		}
		dir = parent
	}
}
