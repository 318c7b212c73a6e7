package participation

import (
	"encoding/json"
	"sort"

	"github.com/cventsync/cventsync/internal/settings"
)

// TwoWaySection is the settings section that turns platform → Cvent profile
// sync on.
const TwoWaySection = "twoWaySync"

// TwoWay configures pushing platform profile edits to the Cvent contact.
type TwoWay struct {
	Enabled bool `json:"enabled"`
}

func init() {
	settings.Register(TwoWaySection, func(raw json.RawMessage) (json.RawMessage, error) {
		var t TwoWay
		if err := settings.Strict(raw, &t); err != nil {
			return nil, err
		}
		return json.Marshal(t)
	})
}

// contactFields maps platform profile fields to Cvent contact fields. Profile
// image, home country and work country are never written back, as Cvent's
// integrators promise (shared/cvent/FACTS.md §4).
var contactFields = map[string]string{
	"firstName": "firstName",
	"lastName":  "lastName",
	"email":     "email",
	"company":   "company",
	"title":     "title",
}

// neverWrittenBack lists platform fields that stay on the platform.
var neverWrittenBack = map[string]bool{"profileImageUrl": true, "homeCountry": true, "workCountry": true}

// ContactPatch turns a platform edit (field → new value, only fields that
// changed) into the body of Cvent's PATCH /contacts/{id}. Fields that are
// never written back, or that Cvent has no contact field for, are left out.
func ContactPatch(changed map[string]string) map[string]string {
	out := map[string]string{}
	for field, value := range changed {
		if neverWrittenBack[field] {
			continue
		}
		if cventField, ok := contactFields[field]; ok {
			out[cventField] = value
		}
	}
	return out
}

// WritableFields lists the platform fields that two-way sync pushes.
func WritableFields() []string {
	out := make([]string, 0, len(contactFields))
	for f := range contactFields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
