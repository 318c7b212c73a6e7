package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/config"
)

func newResyncCmd(cfg *config.Config) *cobra.Command {
	var gatewayURL, integrationID string
	cmd := &cobra.Command{
		Use:   "resync --integration ID",
		Short: "Re-read every attendee of an integration's event from Cvent, with progress",
		RunE: func(cmd *cobra.Command, _ []string) error {
			token := cfg.AdminToken
			if token == "" {
				b, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin-token"))
				if err != nil {
					return errors.New("set CVENTSYNC_ADMIN_TOKEN (or run where `cventsync dev` keeps .data/admin-token)")
				}
				token = strings.TrimSpace(string(b))
			}
			if gatewayURL == "" {
				gatewayURL = "http://" + cfg.HTTPAddr
			}
			call := func(method, path string, out any) error {
				req, _ := http.NewRequestWithContext(cmd.Context(), method, strings.TrimRight(gatewayURL, "/")+path, bytes.NewReader(nil))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if resp.StatusCode >= 300 {
					var e struct{ Error string }
					_ = json.NewDecoder(resp.Body).Decode(&e)
					return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, e.Error)
				}
				return json.NewDecoder(resp.Body).Decode(out)
			}
			var r struct {
				ID                 int64
				Status, WorkflowID string
				Total, Done        int
				Written            int
				Error              string
			}
			if err := call(http.MethodPost, "/api/v1/integrations/"+integrationID+"/resync", &r); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "re-sync %d started (workflow %s)\n", r.ID, r.WorkflowID)
			tty := isTerminal(os.Stdout)
			for {
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(500 * time.Millisecond):
				}
				if err := call(http.MethodGet, fmt.Sprintf("/api/v1/integrations/%s/resyncs/%d", integrationID, r.ID), &r); err != nil {
					return err
				}
				line := progressLine(r.Done, r.Total)
				if tty {
					fmt.Printf("\r%s", line)
				} else {
					fmt.Println(line)
				}
				if r.Status != "running" {
					fmt.Println()
					if r.Status == "failed" {
						return fmt.Errorf("re-sync failed: %s", r.Error)
					}
					fmt.Printf("done: %d attendees read, %d written\n", r.Done, r.Written)
					return nil
				}
			}
		},
	}
	cmd.Flags().StringVar(&gatewayURL, "gateway", "", "gateway URL (default http://CVENTSYNC_HTTP_ADDR)")
	cmd.Flags().StringVar(&integrationID, "integration", "", "integration id")
	_ = cmd.MarkFlagRequired("integration")
	return cmd
}

func progressLine(done, total int) string {
	const width = 40
	if total <= 0 {
		return fmt.Sprintf("[%s] %d", strings.Repeat(" ", width), done)
	}
	n := min(width, done*width/total)
	return fmt.Sprintf("[%s%s] %d/%d (%d%%)", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total, done*100/total)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
