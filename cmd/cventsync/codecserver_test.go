package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/config"
)

func TestCodecServerConfiguration(t *testing.T) {
	const keys = "k1:" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	for _, tc := range []struct {
		name string
		cfg  config.Config
		err  string
	}{
		{"no keys", config.Config{AdminToken: "a"}, "CVENTSYNC_PAYLOAD_KEYS"},
		{"no token", config.Config{PayloadKeys: keys}, "CVENTSYNC_CODEC_TOKEN"},
		{"any origin", config.Config{PayloadKeys: keys, AdminToken: "a", CodecOrigins: "*"}, "not *"},
		{"bad key", config.Config{PayloadKeys: "k1:abc", AdminToken: "a"}, "64 hex digits"},
	} {
		if _, err := codecHandler(&tc.cfg); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.err)
		}
	}
	// The admin token is the default; a codec token replaces it.
	for token, want := range map[string]int{"": http.StatusUnauthorized, "admin": http.StatusUnauthorized, "codec": http.StatusBadRequest} {
		h, err := codecHandler(&config.Config{PayloadKeys: keys, AdminToken: "admin", CodecToken: "codec", CodecOrigins: "http://127.0.0.1:8233"})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader("not json"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("token %q: %d, want %d", token, rec.Code, want)
		}
	}
}
