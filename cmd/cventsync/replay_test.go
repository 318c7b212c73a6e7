package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/config"
)

// `cventsync replay --integration ID --status failed --since 2h` posts the
// filter to the admin API with the admin token, follows the BulkReplay
// workflow's progress and prints what was replayed.
func TestReplayCommand(t *testing.T) {
	var got replayRequest
	var auth, path string
	polls := 0
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // the progress of the BulkReplay workflow
			polls++
			if polls == 1 {
				_, _ = w.Write([]byte(`{"status":"running","matched":2,"replayed":1,"deliveryIds":[42]}`))
				return
			}
			_, _ = w.Write([]byte(`{"status":"completed","matched":2,"replayed":2,"deliveryIds":[42,17]}`))
			return
		}
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("body: %v", err)
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"running","matched":2,"replayId":"r1","workflowId":"replay/int-1/r1",` +
			`"progressUrl":"/api/v1/integrations/int-1/deliveries/replays/r1"}`))
	}))
	defer gw.Close()
	cfg := &config.Config{AdminToken: "tok", DataDir: t.TempDir()}
	root := newRoot(cfg)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"replay", "--gateway", gw.URL, "--integration", "int-1", "--status", "failed", "--since", "2h"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if path != "/api/v1/integrations/int-1/deliveries/replay" || auth != "Bearer tok" {
		t.Errorf("called %s with %q", path, auth)
	}
	if got.Status != "failed" || got.Since != "2h" || got.Limit != 1000 || got.DryRun {
		t.Errorf("filter sent: %+v", got)
	}
	if polls != 2 {
		t.Errorf("progress polled %d times, want until completed (2)", polls)
	}
	for _, want := range []string{"replayed 2 deliveries (failed, since 2h)", "  42\n", "  17\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// An error answer is reported with the gateway's words and request id.
func TestReplayCommandReportsGatewayError(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "rid-9")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"since must be an RFC 3339 time"}`))
	}))
	defer gw.Close()
	root := newRoot(&config.Config{AdminToken: "tok", DataDir: t.TempDir()})
	root.SetOut(&bytes.Buffer{})
	root.SetArgs([]string{"replay", "--gateway", gw.URL, "--integration", "int-1", "--since", "yesterday"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "400: since must be") || !strings.Contains(err.Error(), "rid-9") {
		t.Fatalf("error: %v", err)
	}
}
