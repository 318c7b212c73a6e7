package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
		afterEffects                         []string
		errorRate                            float64
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run a simulated Cvent account: its REST API, and webhooks sent to cventsync",
		Long: `simulate serves an in-memory Cvent account (REST API under /ea, OAuth2, paging,
tier limits) so cventsync can be tried without a Cvent sandbox, and can post
webhooks the way Cvent does: --register N live registrations at --rate per second,
and/or --manual-sync of every attendee, to --webhook-url with --webhook-token.

Faults that act and then fail show how cventsync recovers from a Cvent that
applied a write but whose answer was lost: --after-effect ENDPOINT,WHICH,ACTION
(repeatable), ENDPOINT one of check-in, session-check-in, contact-patch (or
"POST /events/{id}/check-in"), WHICH every=N or calls=1+4, ACTION drop (close
the connection), 500, delay=70s (answer late) or slow=10s (act late), e.g.

  cventsync simulate --after-effect check-in,every=3,drop --after-effect check-in,every=5,delay=70s

While it runs, POST /_sim/faults replaces the faults with JSON, e.g.
{"afterEffects":[{"endpoint":"check-in","every":3,"action":"drop"}]} ({} clears
them), and GET /_sim/stats shows calls, what the faults did, and any write
Cvent received twice.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if spec == "" {
				if p, err := filepath.Abs(filepath.Join("..", "shared", "cvent", "openapi.yaml")); err == nil {
					if _, err := os.Stat(p); err == nil {
						spec = p
					}
				}
			}
			var faults simulator.Faults
			for _, f := range afterEffects {
				a, err := simulator.ParseAfterEffect(f)
				if err != nil {
					return err
				}
				faults.AfterEffects = append(faults.AfterEffects, a)
			}
			if errorRate < 0 || errorRate > 1 {
				return fmt.Errorf("--error-rate must be from 0 to 1")
			}
			faults.ErrorRate = errorRate
			sim := simulator.New(simulator.Config{Seed: seed, Attendees: attendees, Tier: tier, OpenAPISpecPath: spec})
			sim.SetFaults(faults)
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
  Faults          %s   (change: POST http://%s/_sim/faults; watch: GET http://%s/_sim/stats)

Connect an integration to it:

  {"cventEventId":%q,"cvent":{"mode":"both","clientId":%q,"clientSecret":%q,"baseUrl":"http://%s/ea"}}

`, ln.Addr(), id, secret, sim.EventID(), attendees, tier, orNone(spec), faultList(afterEffects, errorRate), ln.Addr(), ln.Addr(),
				sim.EventID(), id, secret, ln.Addr())
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
	f.StringArrayVar(&afterEffects, "after-effect", nil, "a fault that acts then fails: ENDPOINT,every=N|calls=1+4,drop|500|delay=70s|slow=10s (repeatable)")
	f.Float64Var(&errorRate, "error-rate", 0, "share (0-1) of API calls answered 500/502/503 before acting")
	return cmd
}

func faultList(afterEffects []string, errorRate float64) string {
	parts := append([]string(nil), afterEffects...)
	if errorRate > 0 {
		parts = append(parts, fmt.Sprintf("error-rate %.2f", errorRate))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
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
