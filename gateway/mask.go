package gateway

import (
	"bytes"
	"encoding/json"

	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/secret"
)

// maskSettings is an integration's settings as the API shows them: the
// sealed Cvent client secret is replaced by "clientSecret": "…abcd" (its
// last four characters), so neither the secret nor its ciphertext leaves
// the server. Sending the masked value back leaves the secret as it is.
func (s *Server) maskSettings(doc json.RawMessage) json.RawMessage {
	if !bytes.Contains(doc, []byte(`"clientSecretSealed"`)) {
		return doc
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(doc, &all) != nil {
		return doc
	}
	var section map[string]json.RawMessage
	if json.Unmarshal(all[connection.SettingsSection], &section) != nil || section == nil {
		return doc
	}
	var sealed string
	_ = json.Unmarshal(section["clientSecretSealed"], &sealed)
	delete(section, "clientSecretSealed")
	masked := "…"
	if s.opts.SecretBox != nil {
		if plain, err := s.opts.SecretBox.Open(sealed); err == nil {
			masked = secret.Mask(plain)
		}
	}
	section["clientSecret"], _ = json.Marshal(masked)
	all[connection.SettingsSection], _ = json.Marshal(section)
	out, err := json.Marshal(all)
	if err != nil {
		return doc
	}
	return out
}
