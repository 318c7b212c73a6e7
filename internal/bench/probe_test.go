package bench

import (
	"reflect"
	"testing"
)

func TestPlanWindows(t *testing.T) {
	tests := []struct {
		name            string
		pending         []int
		maxGap, maxPage int
		want            []window
	}{
		{"nothing pending", nil, 50, 1000, nil},
		{"one", []int{7}, 50, 1000, []window{{from: 7, limit: 1}}},
		{"the newest together", []int{100, 101, 102, 104}, 50, 1000, []window{{from: 100, limit: 5}}},
		{"a straggler far behind gets its own page", []int{3, 500, 501}, 50, 1000,
			[]window{{from: 3, limit: 1}, {from: 500, limit: 2}}},
		{"gap exactly maxGap joins", []int{0, 51}, 50, 1000, []window{{from: 0, limit: 52}}},
		{"gap above maxGap splits", []int{0, 52}, 50, 1000, []window{{from: 0, limit: 1}, {from: 52, limit: 1}}},
		{"page limit splits", []int{0, 1, 2, 3, 4}, 50, 3, []window{{from: 0, limit: 3}, {from: 3, limit: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planWindows(tt.pending, tt.maxGap, tt.maxPage); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCompareAccess(t *testing.T) {
	tests := []struct {
		name      string
		want, got map[string]bool
		check     accessCheck
	}{
		{"all right", map[string]bool{"a": true, "b": false}, map[string]bool{"a": true, "b": false}, accessCheck{}},
		{"missing", map[string]bool{"a": true, "b": false}, map[string]bool{"a": true}, accessCheck{Missing: 1}},
		{"waitlisted with access", map[string]bool{"a": true, "b": false}, map[string]bool{"a": true, "b": true}, accessCheck{Wrong: 1}},
		{"accepted without access", map[string]bool{"a": true}, map[string]bool{"a": false}, accessCheck{Wrong: 1}},
		{"ids compared in lower case", map[string]bool{"ABC": true}, map[string]bool{"abc": true}, accessCheck{}},
		{"extra attendees are not ours to judge", map[string]bool{"a": true}, map[string]bool{"a": true, "z": true}, accessCheck{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compareAccess(tt.want, tt.got); got != tt.check {
				t.Errorf("got %+v, want %+v", got, tt.check)
			}
		})
	}
}
