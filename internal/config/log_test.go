package config

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/reqid"
)

// CVENTSYNC_LOG_FORMAT=json writes one JSON object a line, with the
// request id of the context; text stays key=value.
func TestLoggerFormats(t *testing.T) {
	var buf bytes.Buffer
	logger := func(format string) *slog.Logger {
		return slog.New(reqid.Handler(LogHandler(&buf, format, slog.LevelInfo)))
	}
	logger("json").InfoContext(reqid.With(context.Background(), "rid-1"), "delivery applied", "deliveryId", 7)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("json format wrote %q: %v", buf.String(), err)
	}
	if rec["msg"] != "delivery applied" || rec["deliveryId"] != float64(7) || rec["requestId"] != "rid-1" || rec["level"] != "INFO" {
		t.Errorf("json record: %v", rec)
	}

	buf.Reset()
	logger("text").Info("hello", "integrationId", "i-1")
	if line := buf.String(); !strings.Contains(line, "msg=hello") || !strings.Contains(line, "integrationId=i-1") {
		t.Errorf("text format wrote %q", line)
	}
}
