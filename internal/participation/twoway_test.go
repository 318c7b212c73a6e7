package participation

import (
	"reflect"
	"testing"
)

func TestContactPatch(t *testing.T) {
	for _, c := range []struct {
		name    string
		changed map[string]string
		want    map[string]string
	}{
		{"profile fields go back", map[string]string{"firstName": "Ama", "title": "CTO"}, map[string]string{"firstName": "Ama", "title": "CTO"}},
		{"never written back", map[string]string{"profileImageUrl": "https://x", "homeCountry": "FR", "workCountry": "DE"}, map[string]string{}},
		{"unknown platform fields stay", map[string]string{"favouriteColour": "red", "email": "a@b"}, map[string]string{"email": "a@b"}},
		{"nothing changed", map[string]string{}, map[string]string{}},
	} {
		if got := ContactPatch(c.changed); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
