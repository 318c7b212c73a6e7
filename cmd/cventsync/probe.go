package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newProbeCmd is the container health check: the image has no shell or
// curl, so the binary asks its own /readyz (or /livez).
func newProbeCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "probe URL",
		Short:   "Exit 0 when URL (e.g. http://127.0.0.1:8080/readyz) answers 2xx: a health check for containers",
		Example: "  cventsync probe http://127.0.0.1:8081/readyz",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := (&http.Client{Timeout: timeout}).Get(args[0])
			if err != nil {
				return fmt.Errorf("probe %s: %w", args[0], err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return fmt.Errorf("probe %s: %d %s", args[0], resp.StatusCode, body)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}
