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
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (CVENTSYNC_LOG_LEVEL)")
	root.AddCommand(newDevCmd(cfg), newGatewayCmd(cfg), newWorkerCmd(cfg), newMigrateCmd(cfg), newBenchCmd(cfg), newSimulateCmd(), newResyncCmd(cfg))
	return root
}
