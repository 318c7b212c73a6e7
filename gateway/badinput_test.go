package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputAnswers400NamingTheField: NUL bytes, invalid UTF-8 and
// over-long values in paths, queries, headers and JSON bodies of the admin
// API answer 400 with a JSON body naming the field, never 500; bodies over
// the cap answer 413.
func TestBadInputAnswers400NamingTheField(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	a := s.createIntegration(integrationA)
	attendees := "/api/v1/integrations/" + a.ID + "/attendees"
	long := strings.Repeat("x", 300)
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		field                    string
	}{
		{"NUL in query", "GET", attendees + "?email=a%00b", "", nil, 400, "query.email"},
		{"invalid UTF-8 in query", "GET", attendees + "?email=%ff%fe", "", nil, 400, "query.email"},
		{"over-long query", "GET", attendees + "?email=" + strings.Repeat("a", 2000), "", nil, 400, "query.email"},
		{"bad escape in query", "GET", attendees + "?email=%zz", "", nil, 400, "query"},
		{"NUL in path", "GET", "/api/v1/integrations/ab%00cd/attendees", "", nil, 400, "path.id"},
		{"invalid UTF-8 in path", "GET", "/api/v1/integrations/%ff%fe/attendees", "", nil, 400, "path.id"},
		{"over-long path", "GET", "/api/v1/integrations/" + long + "/attendees", "", nil, 400, "path.id"},
		{"NUL in path, delivery", "GET", "/api/v1/deliveries/1%00", "", nil, 400, "path.deliveryId"},
		{"invalid UTF-8 in header", "GET", attendees, "", map[string]string{"X-Note": "a\xffb"}, 400, "header.X-Note"},
		{"over-long header", "GET", attendees, "", map[string]string{"X-Note": strings.Repeat("h", 9000)}, 400, "header.X-Note"},
		{"NUL in JSON", "POST", "/api/v1/integrations", `{"name":"a\u0000b","cventEventId":"e"}`, nil, 400, "body.name"},
		{"invalid UTF-8 in JSON", "POST", "/api/v1/integrations", "{\"cventEventId\":\"e\",\"name\":\"a\xffb\"}", nil, 400, "body.name"},
		{"over-long name", "POST", "/api/v1/integrations", `{"name":"` + long + `","cventEventId":"e"}`, nil, 400, "body.name"},
		{"NUL in a key", "PATCH", "/api/v1/integrations/" + a.ID, `{"mapping":{"a\u0000":1}}`, nil, 400, "body.mapping"},
		{"over-long nested string", "PATCH", "/api/v1/integrations/" + a.ID, `{"mapping":{"rules":[{"x":"` + strings.Repeat("y", 70<<10) + `"}]}}`, nil, 400, "body.mapping.rules[0].x"},
		{"not JSON", "POST", "/api/v1/keys", `{"name":`, nil, 400, "body.name"},
		{"key name NUL", "POST", "/api/v1/keys", `{"name":"\u0000","role":"reader"}`, nil, 400, "body.name"},
		{"body over 1 MiB", "POST", "/api/v1/integrations", `{"name":"` + strings.Repeat("n", 2<<20) + `"}`, nil, 413, "body"},
		{"20 MiB name", "PATCH", "/api/v1/integrations/" + a.ID, `{"name":"` + strings.Repeat("n", 20<<20) + `"}`, nil, 413, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.server.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+adminToken)
			for k, v := range tc.header {
				req.Header[k] = []string{v}
			}
			var ans struct{ Error, Field string }
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_ = json.NewDecoder(resp.Body).Decode(&ans)
			if resp.StatusCode != tc.status || ans.Field != tc.field || !strings.HasPrefix(ans.Error, tc.field) {
				t.Fatalf("status %d, field %q, error %q; want %d naming %q", resp.StatusCode, ans.Field, ans.Error, tc.status, tc.field)
			}
		})
	}
	// The platform routes get the same checks (before the key lookup).
	status, ans := s.call(http.MethodGet, "/api/v1/integrations/"+a.ID+"/changes?after=%00", a.PlatformKey, "")
	if status != http.StatusBadRequest || !strings.Contains(ans, `"field":"query.after"`) {
		t.Fatalf("platform route with NUL: %d %s", status, ans)
	}
}

// TestBadInputBodyCapConfigurable: Options.AdminMaxBodyBytes moves the cap.
func TestBadInputBodyCapConfigurable(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true, adminMaxBodyBytes: 512})
	status, ans := s.call(http.MethodPost, "/api/v1/integrations", adminToken, `{"name":"`+strings.Repeat("n", 600)+`"}`)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("600-byte body over a 512-byte cap: %d %s", status, ans)
	}
	s.createIntegration(integrationA) // under the cap
}
