package erasure_test

import (
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/erasure"
)

func TestScrubber(t *testing.T) {
	scrub := erasure.Scrubber("Ada@Example.com", "inv-1")
	for _, tc := range []struct {
		name, body string
		want       string // "" = blanked
	}{
		{"item removed, others kept", `{"eventType":"InviteeOrGuestAccepted","messageStub":"s","message":[{"inviteeStub":"INV-1","email":"x@y"},{"inviteeStub":"inv-2","email":"b@example.com","n":1.50}]}`,
			`{"eventType":"InviteeOrGuestAccepted","message":[{"email":"b@example.com","inviteeStub":"inv-2","n":1.50}],"messageStub":"s"}`},
		{"by e-mail, any case", `{"message":[{"email":"ADA@example.com"}]}`, `{"message":[]}`},
		{"nested guest", `{"message":[{"inviteeStub":"inv-3","guests":[{"email":"ada@example.com"}]}]}`, `{"message":[{"guests":[],"inviteeStub":"inv-3"}]}`},
		{"object message blanked", `{"message":{"email":"ada@example.com"}}`, ""},
		{"not JSON blanked", `{"message":[`, ""},
		{"untouched", `{"message":[{"email":"b@example.com"}]}`, `{"message":[{"email":"b@example.com"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, blank := scrub([]byte(tc.body))
			if tc.want == "" {
				if !blank {
					t.Fatalf("kept %s, want blanked", out)
				}
				return
			}
			if blank || string(out) != tc.want {
				t.Fatalf("got %s (blank %v), want %s", out, blank, tc.want)
			}
			if strings.Contains(strings.ToLower(string(out)), "ada@example.com") {
				t.Fatal("the person is still in the body")
			}
		})
	}
}
