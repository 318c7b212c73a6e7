package devenv

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/internal/searchattr"
)

func TestTemporalInMemoryWithSearchAttributes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	tmp, err := StartTemporal(ctx, TemporalOptions{
		UIPort:           -1,
		SearchAttributes: searchattr.Definitions(),
		Logger:           testLogger(t),
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer func() {
		if err := tmp.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if tmp.UIURL != "" {
		t.Errorf("headless server has UIURL %q", tmp.UIURL)
	}

	c, err := client.DialContext(ctx, client.Options{HostPort: tmp.Address, Namespace: tmp.Namespace})
	if err != nil {
		t.Fatalf("dial %s: %v", tmp.Address, err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Fatalf("health: %v", err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: tmp.Namespace})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for name, typ := range searchattr.Definitions() {
		got, ok := resp.GetCustomAttributes()[name]
		want := enums.IndexedValueType(enums.IndexedValueType_value["INDEXED_VALUE_TYPE_"+toUpperSnake(typ)])
		if !ok || got != want {
			t.Errorf("search attribute %s = %v (present %v), want %v", name, got, ok, want)
		}
	}
}

func TestTemporalStopIsIdempotentAndFreesPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	tmp, err := StartTemporal(ctx, TemporalOptions{UIPort: -1, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := tmp.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := tmp.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	_, p, _ := net.SplitHostPort(tmp.Address)
	port, _ := strconv.Atoi(p)
	if !portFree(port) {
		t.Errorf("port %d still in use after Stop", port)
	}
}

func TestFindTemporalBinaryHonoursEnv(t *testing.T) {
	t.Setenv("CVENTSYNC_TEMPORAL_BIN", "/nonexistent/temporal")
	if _, err := FindTemporalBinary(); err == nil {
		t.Fatal("want an error for a missing CVENTSYNC_TEMPORAL_BIN")
	}
}

// toUpperSnake maps "KeywordList" to "KEYWORD_LIST" as the enum names it.
func toUpperSnake(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' && i > 0 {
			out = append(out, '_')
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
}
