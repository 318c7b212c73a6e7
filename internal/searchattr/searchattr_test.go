package searchattr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFitInviteeIDs(t *testing.T) {
	uuid := "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f"
	many := make([]string, 200)
	for i := range many {
		many[i] = uuid
	}
	long := []string{strings.Repeat("x", 1000), strings.Repeat("y", 1000), "z"}
	for _, tc := range []struct {
		name string
		ids  []string
		want int
	}{
		{"none", nil, 0},
		{"a few", many[:3], 3},
		{"capped at MaxInviteeIDs", many, MaxInviteeIDs},
		{"cut by size", long, 1},
	} {
		got := FitInviteeIDs(tc.ids)
		b, _ := json.Marshal(got)
		if len(got) != tc.want || len(b) > 2048 {
			t.Errorf("%s: %d ids in %d bytes, want %d ids within 2048 bytes", tc.name, len(got), len(b), tc.want)
		}
	}
}
