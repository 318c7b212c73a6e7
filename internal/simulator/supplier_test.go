package simulator

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSupplierNetworkPullAPIs(t *testing.T) {
	n := NewSupplierNetwork(SupplierConfig{Seed: 1, Tier: "Free"})
	srv := httptest.NewServer(n.Handler())
	defer srv.Close()
	rfp, notes := n.SendRFP("Summit", "S1", "S2")
	if len(notes) != 2 || notes[0].EventType != "RFP_SEND" || notes[1].SupplierID != "S2" {
		t.Fatalf("notifications %+v", notes)
	}
	if _, err := n.Act("PLANNER_AWARD_SUPPLIER", rfp.ID, "S2", ""); err != nil {
		t.Fatal(err)
	}
	id, secret, key := n.Credentials()
	get := func(path, auth string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ea/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	if status, body := get("/ea/rfps/"+rfp.ID, "Bearer "+tok.AccessToken); status != 200 || body["status"] != "AWARDED" {
		t.Fatalf("GET rfp: %d %v", status, body)
	}
	// The Free tier allows one call a second.
	if status, _ := get("/ea/rfps/"+rfp.ID+"/suppliers", "Bearer "+tok.AccessToken); status != http.StatusTooManyRequests {
		t.Fatalf("second call within a second: %d", status)
	}
	time.Sleep(600 * time.Millisecond)
	if status, body := get("/rfp-response/v1/rfp/"+rfp.ID+"/supplier/S2", "api_key "+key); status != 200 || body["status"] != "AWARDED" {
		t.Fatalf("legacy: %d %v", status, body)
	}
	time.Sleep(600 * time.Millisecond)
	if status, _ := get("/rfp-response/v1/rfp/"+rfp.ID+"/supplier/S2", "api_key wrong"); status != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", status)
	}
	n.SetFaults(SupplierFaults{DownUntil: time.Now().Add(time.Minute)})
	if status, _ := get("/rfp-response/v1/rfp/"+rfp.ID+"/supplier/S2", "api_key "+key); status != http.StatusServiceUnavailable {
		t.Fatalf("down: %d", status)
	}
	if forRFP, total := n.Calls(rfp.ID); forRFP != 2 || total != 2 {
		t.Fatalf("calls %d of %d, want 2 (answered ones)", forRFP, total)
	}
}

// The sender retries at growing intervals until a 2xx, holds everything
// during a downtime window, and sends duplicates when told.
func TestPNSSenderRetriesDowntimeAndDuplicates(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	var auths []string
	fail := 3
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		auths = append(auths, r.Header.Get("Authorization"))
		if fail > 0 {
			fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := &PNSSender{URL: srv.URL, APIKey: "k", FirstRetry: 20 * time.Millisecond, MaxRetry: time.Second}
	s.SendInOrder(Notification{EventType: "RFP_SEND", RFPID: "R"})
	if len(times) != 4 || auths[0] != "api_key k" {
		t.Fatalf("%d attempts, auth %q", len(times), auths[0])
	}
	if g1, g3 := times[1].Sub(times[0]), times[3].Sub(times[2]); g3 < 3*g1 {
		t.Errorf("intervals do not grow: %v then %v", g1, g3)
	}
	times = nil
	start := time.Now()
	s.Downtime(start.Add(300 * time.Millisecond))
	s.Duplicates = 1
	s.Send(Notification{EventType: "RFP_SEND", RFPID: "R2"})
	if err := s.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(times) != 2 || times[0].Before(start.Add(300*time.Millisecond)) {
		t.Fatalf("downtime: %d posts, first after %v", len(times), times[0].Sub(start))
	}
	noKey := &PNSSender{URL: srv.URL}
	noKey.SendInOrder(Notification{EventType: "RFP_SEND", RFPID: "R3"})
	if auths[len(auths)-1] != "" {
		t.Fatal("an Authorization header without a key")
	}
}
