package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// api calls the gateway's admin API in process, with the admin token: the
// console holds no SQL and no rules of its own, it shows what the API
// answers and asks it to act.
type api struct {
	handler http.Handler
	token   string
}

// apiError is an admin API answer other than 2xx.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (a *api) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "127.0.0.1:0"
	if id := requestID(ctx); id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	return req, nil
}

// call runs one admin API request and decodes a 2xx answer into out.
func (a *api) call(ctx context.Context, method, path string, body, out any) error {
	req, err := a.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	rec := &recorder{header: http.Header{}}
	a.handler.ServeHTTP(rec, req)
	if rec.status < 200 || rec.status > 299 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(rec.body.String())
		}
		return &apiError{Status: rec.status, Message: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// stream runs a GET and writes its answer straight to w (a large body
// never sits in memory here).
func (a *api) stream(w http.ResponseWriter, r *http.Request, path string) {
	req, err := a.request(r.Context(), http.MethodGet, path, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.handler.ServeHTTP(w, req)
}

// raw runs a request with a raw body and answers the status and body.
func (a *api) raw(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := a.request(ctx, method, path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	rec := &recorder{header: http.Header{}}
	a.handler.ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes(), nil
}

func esc(s string) string { return url.PathEscape(s) }

type ctxKey int

const requestIDKey ctxKey = 1

func requestID(ctx context.Context) string {
	v, _ := ctx.Value(requestIDKey).(string)
	return v
}
