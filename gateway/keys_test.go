package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cventsync/cventsync/gateway"
)

type apiKey struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	Integrations []string   `json:"integrations"`
	Key          string     `json:"key"`
	Masked       string     `json:"masked"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
	RevokedAt    *time.Time `json:"revokedAt"`
}

func (s *stack) createKey(name, role string, integrations ...string) apiKey {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "role": role, "integrations": integrations})
	var k apiKey
	s.admin(http.MethodPost, "/api/v1/keys", string(body), http.StatusCreated, &k)
	if !strings.HasPrefix(k.Key, "csk_") || k.Masked != "…"+k.Key[len(k.Key)-4:] {
		s.t.Fatalf("created key %+v: want a csk_ key shown once and masked as …abcd", k)
	}
	return k
}

// call sends a request with a bearer token and returns the status and body.
func (s *stack) call(method, path, token, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.server.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const integrationA = `{"name":"Role A","cventEventId":"ev-role-a","environment":"sandbox","region":"na"}`
const integrationB = `{"name":"Role B","cventEventId":"ev-role-b","environment":"sandbox","region":"na"}`

// TestRolesPerRoute walks every admin API route with a key of each role: the
// roles the route allows get past authorization, the others 403; an unknown
// key gets 401 everywhere, and a key limited to another integration 403.
func TestRolesPerRoute(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	a, b := s.createIntegration(integrationA), s.createIntegration(integrationB)
	d := s.post(a, a.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	keys := map[gateway.Role]apiKey{
		gateway.RoleReader:   s.createKey("reader", "reader"),
		gateway.RoleOperator: s.createKey("operator", "operator"),
		gateway.RoleAdmin:    s.createKey("admin", "admin"),
	}
	onlyB := s.createKey("reader of B", "admin", b.ID)
	fill := strings.NewReplacer(":id", a.ID, ":deliveryId", itoa(d.DeliveryID), ":inviteeId", "no-such-invitee",
		":keyId", "0000000000000000", ":resyncId", "no-such-resync", ":rfpId", "no-such-rfp", ":destinationId", "no-such-destination")
	routes := s.gw.RouteRoles()
	if len(routes) < 30 {
		t.Fatalf("only %d admin routes listed", len(routes))
	}
	for _, r := range routes {
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			path := fill.Replace(r.Path)
			body := ""
			if r.Method == http.MethodPost || r.Method == http.MethodPatch {
				body = "{}"
			}
			for _, role := range []gateway.Role{gateway.RoleReader, gateway.RoleOperator, gateway.RoleAdmin} {
				status, ans := s.call(r.Method, path, keys[role].Key, body)
				switch {
				case role < r.Role && status != http.StatusForbidden:
					t.Errorf("%s key: status %d, want 403 (route needs %s); body %s", role, status, r.Role, ans)
				case role >= r.Role && (status == http.StatusForbidden || status == http.StatusUnauthorized):
					t.Errorf("%s key: status %d, want it let through; body %s", role, status, ans)
				}
			}
			if status, ans := s.call(r.Method, path, "csk_00000000deadbeef.not-a-key", body); status != http.StatusUnauthorized {
				t.Errorf("unknown key: status %d, want 401; body %s", status, ans)
			}
			if status, ans := s.call(r.Method, path, "", body); status != http.StatusUnauthorized {
				t.Errorf("no key: status %d, want 401; body %s", status, ans)
			}
			// A key limited to integration B may not touch A, nor anything that names no integration.
			if status, ans := s.call(r.Method, path, onlyB.Key, body); status != http.StatusForbidden {
				t.Errorf("key limited to another integration: status %d, want 403; body %s", status, ans)
			}
		})
	}
}

// TestKeyRevokedRefusedAtOnce: the request right after DELETE /keys/{id}
// is refused, and the list shows the key revoked, masked, never whole.
func TestKeyRevokedRefusedAtOnce(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	a := s.createIntegration(integrationA)
	k := s.createKey("ops", "operator")
	path := "/api/v1/integrations/" + a.ID + "/attendees"
	if status, ans := s.call(http.MethodGet, path, k.Key, ""); status != http.StatusOK {
		t.Fatalf("before revocation: %d %s", status, ans)
	}
	s.waitFor("last use recorded", 5*time.Second, func() (bool, string) {
		var n int
		err := s.store.DB().Get(&n, `SELECT count(*) FROM api_keys WHERE id = $1 AND last_used_at IS NOT NULL`, k.ID)
		return err == nil && n == 1, "no last_used_at"
	})
	s.admin(http.MethodDelete, "/api/v1/keys/"+k.ID, "", http.StatusOK, nil)
	if status, ans := s.call(http.MethodGet, path, k.Key, ""); status != http.StatusUnauthorized {
		t.Fatalf("right after revocation: %d %s, want 401", status, ans)
	}
	status, list := s.call(http.MethodGet, "/api/v1/keys", adminToken, "")
	if status != http.StatusOK || strings.Contains(list, k.Key) || !strings.Contains(list, k.Masked) {
		t.Fatalf("GET /keys: %d %s: want the key masked (%s), never whole", status, list, k.Masked)
	}
	var out struct{ Keys []apiKey }
	_ = json.Unmarshal([]byte(list), &out)
	if len(out.Keys) != 1 || out.Keys[0].RevokedAt == nil || out.Keys[0].LastUsedAt == nil {
		t.Fatalf("GET /keys: %s: want the key revoked with its last use recorded", list)
	}
	// The hash only: the key's secret part is nowhere in the table.
	var n int
	if err := s.store.DB().Get(&n, `SELECT count(*) FROM api_keys WHERE position($1 in key_hash::text || name || hint) > 0`, k.Key[len(k.Key)-20:]); err != nil || n != 0 {
		t.Fatalf("api_keys holds the key in clear (%d rows, %v)", n, err)
	}
}

// TestKeyLastUseThrottled: a key used many times is written once.
func TestKeyLastUseThrottled(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	a := s.createIntegration(integrationA)
	k := s.createKey("reader", "reader", a.ID)
	for i := 0; i < 20; i++ {
		if status, ans := s.call(http.MethodGet, "/api/v1/integrations/"+a.ID+"/changes", k.Key, ""); status != http.StatusOK {
			t.Fatalf("changes: %d %s", status, ans)
		}
	}
	var first time.Time
	s.waitFor("last use recorded", 5*time.Second, func() (bool, string) {
		err := s.store.DB().Get(&first, `SELECT last_used_at FROM api_keys WHERE id = $1 AND last_used_at IS NOT NULL`, k.ID)
		return err == nil, "no last_used_at"
	})
	s.call(http.MethodGet, "/api/v1/integrations/"+a.ID+"/changes", k.Key, "")
	time.Sleep(200 * time.Millisecond)
	var again time.Time
	if err := s.store.DB().Get(&again, `SELECT last_used_at FROM api_keys WHERE id = $1`, k.ID); err != nil || !again.Equal(first) {
		t.Fatalf("last_used_at %v then %v (%v): want one write a minute", first, again, err)
	}
}

// TestKeyRoleBodies: a reader sees a delivery without its body, an operator with it.
func TestKeyRoleBodies(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	a := s.createIntegration(integrationA)
	d := s.post(a, a.WebhookToken, s.sample("invitee_accepted.json"), http.StatusOK)
	path := "/api/v1/deliveries/" + itoa(d.DeliveryID)
	reader, operator := s.createKey("r", "reader"), s.createKey("o", "operator")
	if status, ans := s.call(http.MethodGet, path, reader.Key, ""); status != http.StatusOK || strings.Contains(ans, `"body"`) {
		t.Fatalf("reader: %d %s: want the delivery without its body", status, ans)
	}
	if status, ans := s.call(http.MethodGet, path, operator.Key, ""); status != http.StatusOK || !strings.Contains(ans, `"body"`) {
		t.Fatalf("operator: %d %s: want the delivery with its body", status, ans)
	}
	if status, _ := s.call(http.MethodGet, path+"/body", reader.Key, ""); status != http.StatusForbidden {
		t.Fatalf("reader on the body download: %d, want 403", status)
	}
}

// TestKeyCreateBadInput: what POST /keys refuses.
func TestKeyCreateBadInput(t *testing.T) {
	s := newStack(t, stackOptions{noWorker: true})
	for _, body := range []string{`{"name":"x","role":"root"}`, `{"role":"reader"}`, `{"name":"x","role":"reader","integrations":["no-such"]}`, `[]`} {
		if status, ans := s.call(http.MethodPost, "/api/v1/keys", adminToken, body); status != http.StatusBadRequest {
			t.Errorf("POST /keys %s: %d %s, want 400", body, status, ans)
		}
	}
	// An admin key limited to an integration cannot mint a wider key.
	a := s.createIntegration(integrationA)
	limited := s.createKey("limited admin", "admin", a.ID)
	if status, ans := s.call(http.MethodPost, "/api/v1/keys", limited.Key, `{"name":"wide","role":"admin"}`); status != http.StatusForbidden {
		t.Fatalf("limited admin key creating a key: %d %s, want 403", status, ans)
	}
}
