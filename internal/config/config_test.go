package config

import (
	"testing"

	"github.com/cventsync/cventsync/internal/safehttp"
)

func TestParseOutboundPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want safehttp.Policy
		bad  bool
	}{
		{in: "", want: safehttp.Policy{}},
		{in: "http,loopback", want: safehttp.Policy{AllowHTTP: true, AllowLoopback: true}},
		{in: " Private , http ", want: safehttp.Policy{AllowHTTP: true, AllowPrivate: true}},
		{in: "http,everything", bad: true},
	} {
		got, err := ParseOutboundPolicy(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("ParseOutboundPolicy(%q) = %+v, %v; want %+v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
