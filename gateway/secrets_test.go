package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/cventsync/cventsync/internal/simulator"
	"github.com/cventsync/cventsync/internal/testenv"
)

// TestSecretsNeverInLogsOrAnswers runs a full round (a manual sync through
// webhooks, a wrong token, a poll and a re-sync against the simulated Cvent
// account, API keys used, listed and revoked, the platform key on the
// feed) with the gateway's and worker's logs captured at debug level, and
// finds none of the secrets it configured in the logs, in the workflow
// histories (as the server stores them) or in any answer after the one
// that showed it once; the Cvent client secret is shown masked as …abcd.
func TestSecretsNeverInLogsOrAnswers(t *testing.T) {
	logs := &syncBuffer{}
	s := newCventStackWith(t, simulator.Config{Attendees: 5}, "", stackOptions{logTo: logs}, true)
	_, clientSecret := s.sim.Credentials()
	var answers strings.Builder
	call := func(method, path, token, body string) (int, string) {
		status, ans := s.call(method, path, token, body)
		answers.WriteString(ans + "\n")
		return status, ans
	}
	reader := s.createKey("reader", "reader")
	operator := s.createKey("operator", "operator", s.in.ID)
	base := "/api/v1/integrations/" + s.in.ID

	// Wrong and right tokens on the webhook; keys of each kind on the API.
	req, _ := http.NewRequest(http.MethodPost, s.hookURL(s.in), strings.NewReader("{}"))
	req.Header.Set("Authorization", s.in.WebhookToken+"x")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answers.Write(b)
	}
	for _, c := range []struct{ method, path, token string }{
		{"GET", base + "/attendees", reader.Key},
		{"GET", base + "/changes?after=0", s.in.PlatformKey},
		{"GET", base + "/deliveries", operator.Key},
		{"POST", base + "/poll", operator.Key},
		{"GET", base, reader.Key}, // 403
		{"GET", base, adminToken},
		{"GET", "/api/v1/integrations", adminToken},
		{"GET", "/api/v1/keys", adminToken},
		{"GET", base + "/attendees", reader.Key + "x"}, // 401
		{"GET", base + "/attendees", s.in.WebhookToken},
	} {
		call(c.method, c.path, c.token, "")
	}
	if status, ans := call("POST", base+"/resync", operator.Key, "{}"); status >= 300 {
		t.Fatalf("resync: %d %s", status, ans)
	}
	s.waitFor("a poll or re-sync to reach Cvent", 30*time.Second, func() (bool, string) {
		return strings.Contains(strings.Join(logs.lines(), "\n"), "cvent"), "no Cvent call logged"
	})
	call("DELETE", "/api/v1/keys/"+reader.ID, adminToken, "")
	call("GET", base+"/attendees", reader.Key, "")
	time.Sleep(time.Second) // what the worker logs after the last call

	_, integration := call("GET", base, adminToken, "")
	if !strings.Contains(integration, `"clientSecret":"`+"…"+clientSecret[len(clientSecret)-4:]+`"`) || strings.Contains(integration, "clientSecretSealed") {
		t.Errorf("GET integration shows the Cvent secret as %s; want it masked as …abcd", integration)
	}
	// Sending the masked section back (GET, edit, PATCH) keeps the secret.
	var before, after string
	sealed := `SELECT settings->'cvent'->>'clientSecretSealed' FROM integrations WHERE id = $1`
	_ = s.store.DB().Get(&before, sealed, s.in.ID)
	var got struct {
		Settings struct {
			Cvent json.RawMessage `json:"cvent"`
		} `json:"settings"`
	}
	_ = json.Unmarshal([]byte(integration), &got)
	s.admin(http.MethodPatch, base, `{"cvent":`+string(got.Settings.Cvent)+`}`, http.StatusOK, nil)
	if err := s.store.DB().Get(&after, sealed, s.in.ID); err != nil || before == "" || after != before {
		t.Errorf("PATCH with the masked secret changed the stored one (%v)", err)
	}
	histories := runHistories(t, s.in.ID)
	if !bytes.Contains(histories, []byte(s.in.ID)) {
		t.Fatalf("the %d bytes of history scanned do not hold the integration id: the scan would see nothing", len(histories))
	}
	secrets := map[string]string{
		"Cvent client secret": clientSecret,
		"webhook token":       s.in.WebhookToken,
		"platform key":        s.in.PlatformKey,
		"reader API key":      reader.Key,
		"operator API key":    operator.Key,
		"admin token":         adminToken,
	}
	logText := strings.Join(logs.lines(), "\n")
	if os.Getenv("CVENTSYNC_SHOW_LOGS") != "" {
		t.Log(logText)
	}
	if len(logText) < 1000 {
		t.Fatalf("only %d bytes of logs captured", len(logText))
	}
	for name, secret := range secrets {
		// The key itself, and its secret half alone (after the id).
		needles := []string{secret}
		if len(secret) > 40 {
			needles = append(needles, secret[len(secret)-24:])
		}
		for _, needle := range needles {
			if strings.Contains(logText, needle) {
				t.Errorf("the logs contain the %s", name)
			}
			if strings.Contains(answers.String(), needle) {
				t.Errorf("an API answer contains the %s", name)
			}
			if bytes.Contains(histories, []byte(needle)) {
				t.Errorf("a workflow history contains the %s", name)
			}
		}
	}
}

// runHistories is every workflow history the integration's work left, as
// the server stores it (proto bytes: payloads as they were sent).
func runHistories(t *testing.T, integrationID string) []byte {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t), Logger: quietSDKLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var all []byte
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("CventIntegrationId = '%s'", integrationID), PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		// The re-sync and the deliveries' ingest, at least.
		if len(resp.GetExecutions()) >= 2 || time.Now().After(deadline) {
			if len(resp.GetExecutions()) == 0 {
				t.Fatal("no workflow listed for the integration")
			}
			for _, e := range resp.GetExecutions() {
				b, err := proto.Marshal(rawHistory(t, c, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()))
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			return all
		}
		time.Sleep(200 * time.Millisecond)
	}
}
