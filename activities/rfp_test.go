package activities

import (
	"slices"
	"testing"
)

// The suppliers a pull asks about: those named first, each once whatever
// its case.
func TestUnion(t *testing.T) {
	for _, tc := range []struct {
		first, more, want []string
	}{
		{[]string{"S2"}, []string{"S1", "s2", "S3"}, []string{"S2", "S1", "S3"}},
		{nil, []string{"S1"}, []string{"S1"}},
		{[]string{"S1"}, nil, []string{"S1"}},
		{nil, nil, []string{}},
	} {
		if got := union(tc.first, tc.more); !slices.Equal(got, tc.want) {
			t.Errorf("union(%v, %v) = %v, want %v", tc.first, tc.more, got, tc.want)
		}
	}
}
