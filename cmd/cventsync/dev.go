package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/devenv"
	"github.com/cventsync/cventsync/internal/searchattr"
	"github.com/cventsync/cventsync/internal/secret"
)

func newDevCmd(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on one machine: PostgreSQL, Temporal, migrations, gateway and worker",
		Long: `dev starts a real PostgreSQL cluster (unless DATABASE_URL is set) and a real
Temporal dev server (unless TEMPORAL_ADDRESS is set) with their data under the data
directory, then runs the gateway and the worker in this process. Ctrl-C stops all
of it; the next run keeps the data, the admin token and the secret key.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDev(cmd.Context(), cfg) },
	}
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "gateway listen address (CVENTSYNC_HTTP_ADDR)")
	cmd.Flags().StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where dev keeps its data (CVENTSYNC_DATA_DIR)")
	return cmd
}

func runDev(ctx context.Context, cfg *config.Config) error {
	log := cfg.Logger()
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if cfg.AdminToken == "" {
		if cfg.AdminToken, err = persistedSecret(filepath.Join(dataDir, "admin-token"), secret.NewToken); err != nil {
			return err
		}
	}
	if cfg.SecretKey == "" {
		if cfg.SecretKey, err = persistedSecret(filepath.Join(dataDir, "secret-key"), secret.NewKey); err != nil {
			return err
		}
	}
	if cfg.OutboundPolicy == "" {
		// A laptop's platform receiver is on this host, over http.
		cfg.OutboundPolicy = "http,loopback"
	}

	// Services this process starts are stopped on the way out, last first.
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	if cfg.DatabaseURL == "" {
		pg, err := devenv.StartPostgres(ctx, devenv.PostgresOptions{Dir: filepath.Join(dataDir, "pg"), Logger: log})
		if err != nil {
			return err
		}
		stops = append(stops, func() {
			if err := pg.Stop(context.Background()); err != nil {
				log.Error("stop postgres", "error", err)
			}
		})
		cfg.DatabaseURL = pg.URL
	}
	uiURL := cfg.TemporalUI
	if cfg.TemporalAddress == "" {
		bin := cfg.TemporalBin
		if bin == "" {
			if bin, err = devenv.FindTemporalBinary(); err != nil {
				return err
			}
		}
		tp, err := devenv.StartTemporal(ctx, devenv.TemporalOptions{
			Binary: bin, DBFile: filepath.Join(dataDir, "temporal.db"), IP: "127.0.0.1", Port: 7233, UIPort: 8233,
			Namespace: cfg.TemporalNamespace, SearchAttributes: searchattr.Definitions(),
			LogFile: filepath.Join(dataDir, "temporal.log"), Logger: log,
		})
		if err != nil {
			return err
		}
		stops = append(stops, func() {
			if err := tp.Stop(); err != nil {
				log.Error("stop temporal", "error", err)
			}
		})
		cfg.TemporalAddress, uiURL = tp.Address, tp.UIURL
	}

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	g, gctx := errgroup.WithContext(ctx)
	ready := make(chan string, 1)
	g.Go(func() error { return runWorker(gctx, cfg, st, log) })
	g.Go(func() error { return runGateway(gctx, cfg, st, log, ready) })
	select {
	case addr := <-ready:
		printBanner(cfg, addr, uiURL)
	case <-gctx.Done():
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// persistedSecret reads a secret kept from an earlier run, or makes and keeps one.
func persistedSecret(path string, make func() string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	v := make()
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep %s: %w", filepath.Base(path), err)
	}
	return v, nil
}

func printBanner(cfg *config.Config, addr, uiURL string) {
	base := "http://" + addr
	if uiURL == "" {
		uiURL = "(Temporal at " + cfg.TemporalAddress + ")"
	}
	fmt.Printf(`
cventsync is running. Ctrl-C stops everything.

  Gateway          %s
  Temporal Web UI  %s
  Admin token      %s
  PostgreSQL       %s

Create an integration:

  curl -s -X POST %s/api/v1/integrations \
    -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \
    -d '{"name":"Northwind Summit","cventEventId":"3E2D1C0B-9A8F-4E7D-8C6B-5A4F3E2D1C0B","environment":"sandbox","region":"na"}'

`, base, uiURL, cfg.AdminToken, redactURL(cfg.DatabaseURL), base, cfg.AdminToken)
}

func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if scheme := strings.Index(u, "://"); scheme > 0 && scheme < at {
			creds := u[scheme+3 : at]
			if i := strings.Index(creds, ":"); i >= 0 {
				return u[:scheme+3] + creds[:i] + ":***" + u[at:]
			}
		}
	}
	return u
}
