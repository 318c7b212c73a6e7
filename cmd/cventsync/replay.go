package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/config"
)

// replayRequest is the body of POST /api/v1/integrations/{id}/deliveries/replay.
type replayRequest struct {
	Status    string `json:"status,omitempty"`
	Since     string `json:"since,omitempty"`
	EventType string `json:"eventType,omitempty"`
	InviteeID string `json:"inviteeId,omitempty"`
	Email     string `json:"email,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	DryRun    bool   `json:"dryRun,omitempty"`
}

type replayAnswer struct {
	Status      string  `json:"status"`
	ReplayID    string  `json:"replayId"`
	ProgressURL string  `json:"progressUrl"`
	Matched     int     `json:"matched"`
	Replayed    int     `json:"replayed"`
	Skipped     int     `json:"skipped"`
	DeliveryIDs []int64 `json:"deliveryIds"`
	WorkflowID  string  `json:"workflowId"`
}

func newReplayCmd(cfg *config.Config) *cobra.Command {
	var gatewayURL, integrationID string
	var req replayRequest
	cmd := &cobra.Command{
		Use:   "replay --integration ID [--status failed] [--since 2h] [--event-type T] [--invitee-id ID | --email E]",
		Short: "Replay an integration's deliveries that match a filter (by default the failed ones) and print what was replayed",
		Long: `replay asks the gateway's admin API (POST /api/v1/integrations/{id}/deliveries/replay)
to put every matching delivery back in the queue; each is applied again as when it
arrived, idempotently. --since takes a duration back from now (2h, 30m, 7d) or an
RFC 3339 time. --dry-run lists what would be replayed. The admin token comes from
CVENTSYNC_ADMIN_TOKEN or, next to ` + "`cventsync dev`" + `, from .data/admin-token.`,
		Example: "  cventsync replay --integration 0b5c... --status failed --since 2h",
		RunE: func(cmd *cobra.Command, _ []string) error {
			token, err := adminToken(cfg)
			if err != nil {
				return err
			}
			if gatewayURL == "" {
				gatewayURL = "http://" + cfg.HTTPAddr
			}
			body, _ := json.Marshal(req)
			url := strings.TrimRight(gatewayURL, "/") + "/api/v1/integrations/" + integrationID + "/deliveries/replay"
			hreq, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, url, bytes.NewReader(body))
			if err != nil {
				return err
			}
			hreq.Header.Set("Authorization", "Bearer "+token)
			hreq.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(hreq)
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			if resp.StatusCode >= 300 {
				var e struct{ Error string }
				_ = json.Unmarshal(raw, &e)
				return fmt.Errorf("replay: gateway answered %d: %s (request id %s)", resp.StatusCode, e.Error, resp.Header.Get("X-Request-Id"))
			}
			var a replayAnswer
			if err := json.Unmarshal(raw, &a); err != nil {
				return fmt.Errorf("replay: unreadable answer: %w", err)
			}
			if a.Status == "running" {
				// A BulkReplay workflow replays them: follow its progress.
				fmt.Fprintf(cmd.ErrOrStderr(), "replaying %d deliveries in workflow %s\n", a.Matched, a.WorkflowID)
				if err := followReplay(cmd, strings.TrimRight(gatewayURL, "/")+a.ProgressURL, token, &a); err != nil {
					return err
				}
			}
			printReplay(cmd.OutOrStdout(), &req, &a)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&gatewayURL, "gateway", "", "gateway URL (default http://CVENTSYNC_HTTP_ADDR)")
	f.StringVar(&integrationID, "integration", "", "integration id")
	f.StringVar(&req.Status, "status", "failed", "deliveries with this status: failed, processed or received")
	f.StringVar(&req.Since, "since", "", "received since: a duration back from now (2h, 7d) or an RFC 3339 time")
	f.StringVar(&req.EventType, "event-type", "", "only this Cvent event type, e.g. InviteeOrGuestAccepted")
	f.StringVar(&req.InviteeID, "invitee-id", "", "only deliveries naming this invitee")
	f.StringVar(&req.Email, "email", "", "only deliveries naming the attendees with this e-mail address")
	f.IntVar(&req.Limit, "limit", 1000, "replay at most this many, newest first (at most 10000)")
	f.BoolVar(&req.DryRun, "dry-run", false, "list what would be replayed, replay nothing")
	_ = cmd.MarkFlagRequired("integration")
	return cmd
}

// followReplay polls a bulk replay's progress until it ends, drawing a
// progress bar on a terminal, and fills in a with the result.
func followReplay(cmd *cobra.Command, url, token string, a *replayAnswer) error {
	tty := isTerminal(os.Stderr)
	for {
		var p struct {
			Status      string  `json:"status"`
			Matched     int     `json:"matched"`
			Replayed    int     `json:"replayed"`
			Skipped     int     `json:"skipped"`
			DeliveryIDs []int64 `json:"deliveryIds"`
			Error       string  `json:"error"`
		}
		req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return fmt.Errorf("replay progress: %w", err)
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("replay progress: %d %v", resp.StatusCode, err)
		}
		if tty {
			fmt.Fprintf(cmd.ErrOrStderr(), "\r%s", progressLine(p.Replayed+p.Skipped, p.Matched))
		}
		switch p.Status {
		case "completed":
			if tty {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			a.Status, a.Replayed, a.Skipped, a.DeliveryIDs = "replaying", p.Replayed, p.Skipped, p.DeliveryIDs
			return nil
		case "failed":
			return fmt.Errorf("replay %s failed after %d deliveries: %s", a.ReplayID, p.Replayed, p.Error)
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func printReplay(w io.Writer, req *replayRequest, a *replayAnswer) {
	verb := "replayed"
	n := a.Replayed
	if a.Status == "dry-run" {
		verb, n = "would replay", a.Matched
	}
	filter := req.Status
	if req.Since != "" {
		filter += ", since " + req.Since
	}
	if req.EventType != "" {
		filter += ", " + req.EventType
	}
	if req.InviteeID != "" {
		filter += ", invitee " + req.InviteeID
	}
	if req.Email != "" {
		filter += ", " + req.Email
	}
	fmt.Fprintf(w, "%s %d deliveries (%s)\n", verb, n, filter)
	for _, id := range a.DeliveryIDs {
		fmt.Fprintf(w, "  %d\n", id)
	}
	if a.Skipped > 0 {
		fmt.Fprintf(w, "%d no longer replayable, skipped\n", a.Skipped)
	}
	switch a.Status {
	case "queued":
		fmt.Fprintln(w, "Temporal did not answer: they wait in PostgreSQL and are applied when it does")
	case "replaying":
		if a.WorkflowID != "" {
			fmt.Fprintf(w, "applied by workflow %s; follow with GET /api/v1/integrations/{id}/deliveries\n", a.WorkflowID)
		}
	}
}

// adminToken is CVENTSYNC_ADMIN_TOKEN or the one `cventsync dev` keeps.
func adminToken(cfg *config.Config) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-token"))
	if err != nil {
		return "", errors.New("set CVENTSYNC_ADMIN_TOKEN (or run where `cventsync dev` keeps .data/admin-token)")
	}
	return strings.TrimSpace(string(b)), nil
}
