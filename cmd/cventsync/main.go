// Command cventsync keeps an event platform in sync with Cvent, durably, on
// Temporal. One binary, one subcommand per role.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/config"
)

func main() {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot(cfg).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cventsync:", err)
		os.Exit(1)
	}
}

func newRoot(cfg *config.Config) *cobra.Command {
	root := &cobra.Command{
		Use:           "cventsync",
		Short:         "Keep an event platform in sync with Cvent, durably, on Temporal",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL URL (DATABASE_URL)")
	f.StringVar(&cfg.TemporalAddress, "temporal-address", cfg.TemporalAddress, "Temporal frontend host:port (TEMPORAL_ADDRESS)")
	f.StringVar(&cfg.TemporalNamespace, "temporal-namespace", cfg.TemporalNamespace, "Temporal namespace (TEMPORAL_NAMESPACE)")
	f.BoolVar(&cfg.TemporalTLS, "temporal-tls", cfg.TemporalTLS, "connect to Temporal over TLS, verified with the system roots unless a CA is given (TEMPORAL_TLS)")
	f.StringVar(&cfg.TemporalTLSCert, "temporal-tls-cert", cfg.TemporalTLSCert, "PEM client certificate file for mTLS; implies TLS (TEMPORAL_TLS_CERT)")
	f.StringVar(&cfg.TemporalTLSKey, "temporal-tls-key", cfg.TemporalTLSKey, "PEM private key file of the client certificate (TEMPORAL_TLS_KEY)")
	f.StringVar(&cfg.TemporalTLSCA, "temporal-tls-ca", cfg.TemporalTLSCA, "PEM CA certificates that verify the Temporal server; implies TLS (TEMPORAL_TLS_CA)")
	f.StringVar(&cfg.TemporalTLSServerName, "temporal-tls-server-name", cfg.TemporalTLSServerName, "name the Temporal server certificate must carry; implies TLS (TEMPORAL_TLS_SERVER_NAME)")
	f.StringVar(&cfg.TemporalAPIKey, "temporal-api-key", cfg.TemporalAPIKey, "Temporal Cloud API key; implies TLS; the variable keeps it out of ps (TEMPORAL_API_KEY)")
	f.Lookup("temporal-api-key").DefValue = "" // --help must not print the key from the environment
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (CVENTSYNC_LOG_LEVEL)")
	root.AddCommand(newDevCmd(cfg), newGatewayCmd(cfg), newWorkerCmd(cfg), newMigrateCmd(cfg), newBenchCmd(cfg), newSimulateCmd(), newResyncCmd(cfg))
	root.AddCommand(newReplayCmd(cfg), newProbeCmd())
	root.AddCommand(newKeysCmd(cfg))
	root.AddCommand(newCodecServerCmd(cfg))
	return root
}
