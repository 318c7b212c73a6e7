package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/simulator"
)

func newSimulateCmd() *cobra.Command {
	var (
		addr, tier, spec, hookURL, hookToken string
		seed                                 uint64
		attendees, register                  int
		rate                                 float64
		manualSync                           bool
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run a simulated Cvent account: its REST API, and webhooks sent to cventsync",
		Long: `simulate serves an in-memory Cvent account (REST API under /ea, OAuth2, paging,
tier limits) so cventsync can be tried without a Cvent sandbox, and can post
webhooks the way Cvent does: --register N live registrations at --rate per second,
and/or --manual-sync of every attendee, to --webhook-url with --webhook-token.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if spec == "" {
				if p, err := filepath.Abs(filepath.Join("..", "shared", "cvent", "openapi.yaml")); err == nil {
					if _, err := os.Stat(p); err == nil {
						spec = p
					}
				}
			}
			sim := simulator.New(simulator.Config{Seed: seed, Attendees: attendees, Tier: tier, OpenAPISpecPath: spec})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go func() { _ = srv.Serve(ln) }()
			defer srv.Close()
			id, secret := sim.Credentials()
			fmt.Printf(`
Simulated Cvent is running. Ctrl-C stops it.

  REST API base   http://%s/ea
  Client id       %s
  Client secret   %s
  Event id        %s
  Attendees       %d (tier %s)
  OpenAPI checks  %s

Connect an integration to it:

  {"cventEventId":%q,"cvent":{"mode":"both","clientId":%q,"clientSecret":%q,"baseUrl":"http://%s/ea"}}

`, ln.Addr(), id, secret, sim.EventID(), attendees, tier, orNone(spec), sim.EventID(), id, secret, ln.Addr())
			if hookURL != "" {
				target := simulator.Target{URL: hookURL, Token: hookToken}
				if register > 0 {
					sent := sim.SendRegistrations(ctx, target, register, rate, 8)
					fmt.Printf("sent %d live registrations: %s\n", len(sent), summarize(sent))
				}
				if manualSync {
					r := sim.SendManualSync(ctx, target)
					fmt.Printf("sent a manual sync of %d attendees: HTTP %d in %v %v\n", len(r.InviteeIDs), r.Status, r.Latency.Round(time.Millisecond), errText(r.Err))
				}
			}
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8090", "listen address")
	f.Uint64Var(&seed, "seed", 1, "seed of the generated account")
	f.IntVar(&attendees, "attendees", 1000, "attendees to generate")
	f.StringVar(&tier, "tier", "Standard", "usage tier: Free, Standard or Premium")
	f.StringVar(&spec, "openapi", "", "check traffic against this OpenAPI file (default ../shared/cvent/openapi.yaml when present)")
	f.StringVar(&hookURL, "webhook-url", "", "cventsync webhook URL to post to")
	f.StringVar(&hookToken, "webhook-token", "", "the integration's webhook token")
	f.IntVar(&register, "register", 0, "live registrations to send")
	f.Float64Var(&rate, "rate", 5, "live registrations per second (0 = as fast as possible)")
	f.BoolVar(&manualSync, "manual-sync", false, "send a manual sync of every attendee")
	return cmd
}

func summarize(sent []simulator.Sent) string {
	codes := map[int]int{}
	failed := 0
	for _, s := range sent {
		if s.Err != nil {
			failed++
		}
		codes[s.Status]++
	}
	return fmt.Sprintf("answers %v, %d failed to send", codes, failed)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "off (no OpenAPI file found)"
	}
	return s
}
