package mapping

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cventsync/cventsync/internal/settings"
)

// Config is an integration's mapping configuration: the "mapping" section of
// its settings. The zero value is the default mapping: the six person fields
// from their Cvent namesakes, no additional or custom fields, no groups,
// guests admitted, personal agendas.
type Config struct {
	// Fields maps the platform's person fields (firstName, lastName, email,
	// company, title, profileImageUrl) to Cvent fields. A field left out keeps
	// its default; "" unmaps it (not allowed for email and profileImageUrl).
	Fields map[string]string `json:"fields,omitempty"`
	// Profile maps additional platform profile fields (any name) to Cvent
	// fields from the catalogue (GET /api/v1/integrations/{id}/fields).
	Profile map[string]string `json:"profile,omitempty"`
	// CustomFields maps Cvent contact custom fields and registration question
	// answers to platform custom fields or person fields.
	CustomFields []CustomFieldMapping `json:"customFields,omitempty"`
	// DefaultGroup is given to every admitted attendee, when set.
	DefaultGroup string `json:"defaultGroup,omitempty"`
	// RegistrationTypeGroups maps a Cvent registration type name to access groups.
	RegistrationTypeGroups map[string][]string `json:"registrationTypeGroups,omitempty"`
	// Guests is "admit" (default: guests are attendees of their own, linked to
	// their primary registrant) or "skip" (guests are not imported and never
	// get access).
	Guests string `json:"guests,omitempty"`
	// Sessions says how sessions reach attendees' agendas.
	Sessions SessionConfig `json:"sessions,omitempty"`
}

// CustomFieldMapping maps one Cvent custom value to a platform field. Exactly
// one of Name, ID (a contact custom field, by exact name or id) and
// QuestionID (a registration question, answered through the REST API) is set.
type CustomFieldMapping struct {
	Name       string `json:"name,omitempty"`
	ID         string `json:"id,omitempty"`
	QuestionID string `json:"questionId,omitempty"`
	// To is a platform custom field name, "person.<field>" for a person field
	// (firstName, lastName, company, title) or "profile.<field>".
	To string `json:"to"`
}

// SessionConfig is the session import method.
type SessionConfig struct {
	// Import is "personalAgenda" (default: each attendee sees the sessions
	// they registered for) or "managedSchedule" (sessions are visible by group).
	Import string `json:"import,omitempty"`
	// Groups limits sessions, by session id or code, to access groups under a
	// managed schedule. A session not listed is visible to every admitted attendee.
	Groups map[string][]string `json:"groups,omitempty"`
}

// Guest handling and session import methods.
const (
	GuestsAdmit            = "admit"
	GuestsSkip             = "skip"
	ImportPersonalAgenda   = "personalAgenda"
	ImportManagedSchedule  = "managedSchedule"
	targetPersonPrefix     = "person."
	targetProfilePrefix    = "profile."
	personFieldsUnmappable = "firstName, lastName, company, title"
)

// personFields are the platform's fixed person fields and their default Cvent fields.
var personFields = []string{"firstName", "lastName", "email", "company", "title", "profileImageUrl"}

// requiredPersonFields cannot be unmapped: email identifies the person on
// the platform, and the picture is the platform's own login avatar.
var requiredPersonFields = map[string]bool{"email": true, "profileImageUrl": true}

// PersonField returns the Cvent field that feeds a platform person field,
// or "" when it is unmapped.
func (c *Config) PersonField(platform string) string {
	if c != nil {
		if v, ok := c.Fields[platform]; ok {
			return v
		}
	}
	return platform
}

// SkipsGuests reports whether guests are left out of the platform.
func (c *Config) SkipsGuests() bool { return c != nil && c.Guests == GuestsSkip }

// ImportMethod is the session import method, defaulted.
func (c *Config) ImportMethod() string {
	if c == nil || c.Sessions.Import == "" {
		return ImportPersonalAgenda
	}
	return c.Sessions.Import
}

// NeedsREST reports whether a mapped field can only be filled from the REST
// API (registration question answers, REST-only attendee fields), so a
// caller knows when fetching the attendee is worth a call.
func (c *Config) NeedsREST() bool {
	if c == nil {
		return false
	}
	for _, m := range c.CustomFields {
		if m.QuestionID != "" {
			return true
		}
	}
	for _, name := range c.Profile {
		if f, ok := LookupField(name); ok && f.Webhook == "" {
			return true
		}
	}
	return false
}

// GroupsFor returns the access groups of an attendee with this registration
// type: the default group first, then the type's groups in configured
// order. Attendees without access are in no group.
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
	// Sorted so that the result never depends on map order (validation
	// forbids two keys that match the same type, but old settings may have them).
	for _, name := range sortedKeys(c.RegistrationTypeGroups) {
		if strings.EqualFold(strings.TrimSpace(name), strings.TrimSpace(registrationType)) {
			for _, g := range c.RegistrationTypeGroups[name] {
				add(g)
			}
		}
	}
	return groups
}

// Validate returns every problem in the configuration, in words that name
// the offending key; nil when it is valid.
func (c *Config) Validate() []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	knownPerson := map[string]bool{}
	for _, f := range personFields {
		knownPerson[f] = true
	}
	checkCvent := func(where, name string) {
		if _, ok := LookupField(name); !ok {
			bad("%s: unknown Cvent field %q (GET /api/v1/integrations/{id}/fields lists them)", where, name)
		}
	}
	for _, k := range sortedKeys(c.Fields) {
		v := strings.TrimSpace(c.Fields[k])
		switch {
		case !knownPerson[k]:
			bad("fields: unknown person field %q (known: %s)", k, strings.Join(personFields, ", "))
		case v == "" && requiredPersonFields[k]:
			bad("fields.%s cannot be unmapped (only %s can)", k, personFieldsUnmappable)
		case v != "":
			checkCvent("fields."+k, v)
		}
	}
	targets := map[string]string{} // platform target → who writes it
	claim := func(target, by string) {
		if prev, dup := targets[strings.ToLower(target)]; dup {
			bad("%s and %s both map to %q", prev, by, target)
			return
		}
		targets[strings.ToLower(target)] = by
	}
	for _, k := range sortedKeys(c.Profile) {
		if strings.TrimSpace(k) == "" {
			bad("profile: a platform field name is empty")
			continue
		}
		if strings.TrimSpace(c.Profile[k]) == "" {
			bad("profile.%s: no Cvent field given", k)
			continue
		}
		checkCvent("profile."+k, c.Profile[k])
		claim(targetProfilePrefix+k, "profile."+k)
	}
	for i, m := range c.CustomFields {
		where := fmt.Sprintf("customFields[%d]", i)
		n := 0
		for _, s := range []string{m.Name, m.ID, m.QuestionID} {
			if strings.TrimSpace(s) != "" {
				n++
			}
		}
		if n != 1 {
			bad("%s: give exactly one of name, id (contact custom field) or questionId (registration question)", where)
		}
		to := strings.TrimSpace(m.To)
		switch {
		case to == "":
			bad("%s: to is required (a platform custom field, person.<field> or profile.<field>)", where)
			continue
		case strings.HasPrefix(to, targetPersonPrefix):
			f := strings.TrimPrefix(to, targetPersonPrefix)
			if requiredPersonFields[f] || !knownPerson[f] {
				bad("%s: %q is not a person field a custom field can fill (%s)", where, to, personFieldsUnmappable)
				continue
			}
		case to == targetProfilePrefix:
			bad("%s: profile field name missing in %q", where, to)
			continue
		case !strings.HasPrefix(to, targetProfilePrefix):
			to = "customFields." + to
		}
		claim(to, where)
	}
	typeSeen := map[string]string{}
	for _, name := range sortedKeys(c.RegistrationTypeGroups) {
		key := strings.ToLower(strings.TrimSpace(name))
		if key == "" {
			bad("registrationTypeGroups: a registration type name is empty")
		} else if prev, dup := typeSeen[key]; dup {
			bad("registrationTypeGroups: registration type %q is mapped twice (as %q and %q)", name, prev, name)
		}
		typeSeen[key] = name
		checkGroups(fmt.Sprintf("registrationTypeGroups[%q]", name), c.RegistrationTypeGroups[name], c.DefaultGroup, bad)
	}
	switch c.Guests {
	case "", GuestsAdmit, GuestsSkip:
	default:
		bad("guests must be %q or %q, not %q", GuestsAdmit, GuestsSkip, c.Guests)
	}
	switch c.Sessions.Import {
	case "", ImportPersonalAgenda, ImportManagedSchedule:
	default:
		bad("sessions.import must be %q or %q, not %q", ImportPersonalAgenda, ImportManagedSchedule, c.Sessions.Import)
	}
	sessionSeen := map[string]string{}
	for _, s := range sortedKeys(c.Sessions.Groups) {
		key := strings.ToLower(strings.TrimSpace(s))
		if prev, dup := sessionSeen[key]; dup {
			bad("sessions.groups: session %q is mapped twice (as %q and %q)", s, prev, s)
		}
		sessionSeen[key] = s
		checkGroups(fmt.Sprintf("sessions.groups[%q]", s), c.Sessions.Groups[s], "", bad)
	}
	return p
}

func checkGroups(where string, groups []string, defaultGroup string, bad func(string, ...any)) {
	if len(groups) == 0 {
		bad("%s: no groups given", where)
	}
	seen := map[string]bool{}
	for _, g := range groups {
		g = strings.TrimSpace(g)
		switch {
		case g == "":
			bad("%s: a group name is empty", where)
		case seen[g]:
			bad("%s: group %q is mapped twice", where, g)
		case g == defaultGroup:
			bad("%s: group %q is already the default group of every admitted attendee", where, g)
		}
		seen[g] = true
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SettingsSection is the name of the mapping section in integration settings.
const SettingsSection = "mapping"

func init() {
	settings.Register(SettingsSection, func(raw json.RawMessage) (json.RawMessage, error) {
		var c Config
		if err := settings.Strict(raw, &c); err != nil {
			return nil, err
		}
		if problems := c.Validate(); len(problems) > 0 {
			return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
		}
		return json.Marshal(c)
	})
}
