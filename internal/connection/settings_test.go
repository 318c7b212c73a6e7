package connection

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cventsync/cventsync/internal/secret"
	"github.com/cventsync/cventsync/internal/settings"
)

func TestSealSecretNeverStoresPlaintext(t *testing.T) {
	box, err := secret.NewBox(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := SealSecret(json.RawMessage(`{"mode":"rest","clientId":"abc","clientSecret":"s3cret"}`), nil, box)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "s3cret") {
		t.Fatalf("plaintext secret left in %s", sealed)
	}
	doc, err := settings.Merge(nil, map[string]json.RawMessage{SettingsSection: sealed})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := box.Open(s.ClientSecretSealed); err != nil || plain != "s3cret" {
		t.Errorf("sealed secret does not open: %q %v", plain, err)
	}
	// Changing the interval without resending the secret keeps it.
	again, _ := SealSecret(json.RawMessage(`{"mode":"rest","clientId":"abc","pollIntervalMinutes":2}`), doc2section(t, doc), box)
	if _, err := settings.Merge(doc, map[string]json.RawMessage{SettingsSection: again}); err != nil {
		t.Errorf("keeping the stored secret: %v", err)
	}
}

func doc2section(t *testing.T, doc json.RawMessage) json.RawMessage {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(doc, &all); err != nil {
		t.Fatal(err)
	}
	return all[SettingsSection]
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{`{"mode":"webhook"}`, ""},
		{`{"mode":"rest"}`, "needs clientId"},
		{`{"mode":"sometimes"}`, "mode must be"},
		{`{"clientId":"x","clientSecret":"plain"}`, "sealed"},
		{`{"mode":"both","clientId":"x","clientSecretSealed":"y","pollIntervalMinutes":5000}`, "pollIntervalMinutes"},
		{`{"baseUrl":"ftp://x"}`, "baseUrl"},
		{`{"mod":"rest"}`, "mod"},
	} {
		_, err := settings.Merge(nil, map[string]json.RawMessage{SettingsSection: json.RawMessage(c.in)})
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want error containing %q", c.in, err, c.want)
		}
	}
}
