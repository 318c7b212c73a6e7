package mapping

import (
	"encoding/json"
	"strings"

	"github.com/cventsync/cventsync/internal/settings"
)

// Config is an integration's mapping configuration.
type Config struct {
	// DefaultGroup is given to every admitted attendee, when set.
	DefaultGroup string `json:"defaultGroup,omitempty"`
	// RegistrationTypeGroups maps a Cvent registration type name to access groups.
	RegistrationTypeGroups map[string][]string `json:"registrationTypeGroups,omitempty"`
}

// GroupsFor returns the access groups of an attendee with this registration
// type. Attendees without access are in no group.
func (c *Config) GroupsFor(registrationType string, admitted bool) []string {
	groups := []string{}
	if !admitted || c == nil {
		return groups
	}
	seen := map[string]bool{}
	add := func(g string) {
		if g != "" && !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	add(c.DefaultGroup)
	for name, gs := range c.RegistrationTypeGroups {
		if strings.EqualFold(strings.TrimSpace(name), strings.TrimSpace(registrationType)) {
			for _, g := range gs {
				add(g)
			}
		}
	}
	return groups
}

// SettingsSection is the name of the mapping section in integration settings.
const SettingsSection = "mapping"

func init() {
	settings.Register(SettingsSection, func(raw json.RawMessage) (json.RawMessage, error) {
		var c Config
		if err := settings.Strict(raw, &c); err != nil {
			return nil, err
		}
		return json.Marshal(c)
	})
}
