package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/cventsync/cventsync/gateway"
	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/connection"
	"github.com/cventsync/cventsync/internal/cvent"
	"github.com/cventsync/cventsync/internal/cventusage"
	"github.com/cventsync/cventsync/internal/metrics"
	"github.com/cventsync/cventsync/internal/schedules"
	"github.com/cventsync/cventsync/internal/store"
	"github.com/cventsync/cventsync/internal/temporalconn"
	"github.com/cventsync/cventsync/worker"
)

func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set (or use `cventsync dev`, which starts its own PostgreSQL)")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// temporalOptions builds the Temporal client options from the configuration:
// address, namespace, TLS and API key (see internal/temporalconn). Callers
// pass quietLogger(log): Temporal's own chatter goes at warn and above; our
// logs carry the story.
func temporalOptions(cfg *config.Config, log *slog.Logger) (client.Options, error) {
	opts, err := temporalconn.Options(temporalconn.FromConfig(cfg), log)
	if err != nil {
		return opts, err
	}
	// The SDK's metrics go to /metrics; request ids ride along into workflows.
	opts.MetricsHandler = metrics.TemporalHandler()
	opts.ContextPropagators = append(opts.ContextPropagators, temporalconn.RequestIDPropagator())
	return opts, nil
}

func newMigrateCmd(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			cfg.Logger().Info("migrations applied")
			return nil
		},
	}
}

func newWorkerCmd(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker (workflows and activities)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := cfg.Logger()
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			return runWorker(cmd.Context(), cfg, st, log)
		},
	}
}

func runWorker(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) error {
	opts, err := temporalOptions(cfg, quietLogger(log))
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (%s): %w", opts.HostPort, temporalconn.FromConfig(cfg).Security(), err)
	}
	defer c.Close()
	if err := worker.EnsureSearchAttributes(ctx, c, cfg.TemporalNamespace); err != nil {
		return err
	}
	box, err := cfg.SecretBox()
	if err != nil {
		return err
	}
	usage := startUsage(st, log)
	defer closeUsage(usage, log)
	clients := &connection.Clients{Box: box, Limiters: &cvent.Limiters{}, Usage: usage, Logger: log}
	notifier, err := st.NewNotifier(ctx, log)
	if err != nil {
		return err
	}
	defer notifier.Close()
	outbound, err := cfg.Outbound()
	if err != nil {
		return err
	}
	w := worker.New(c, cfg.TaskQueue, worker.Deps{Store: st, Notifier: notifier, Cvent: clients, Logger: log,
		Outbound: outbound, ChangeRetention: cfg.ChangeRetention, BodyRetention: cfg.BodyRetention})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	if err := schedules.EnsureMaintenance(ctx, c.ScheduleClient(), cfg.TaskQueue); err != nil {
		return err
	}
	stopHTTP, err := serveWorkerHTTP(cfg, st, c, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	stopPprof, err := servePprof(cfg.WorkerPprofAddr, "worker", log)
	if err != nil {
		return fmt.Errorf("pprof listener on %s (CVENTSYNC_WORKER_PPROF_ADDR): %w", cfg.WorkerPprofAddr, err)
	}
	defer stopPprof()
	log.Info("worker running", "taskQueue", cfg.TaskQueue, "temporal", opts.HostPort, "temporalSecurity", temporalconn.FromConfig(cfg).Security())
	<-ctx.Done()
	w.Stop()
	return nil
}

func newGatewayCmd(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the HTTP gateway (Cvent webhooks and the admin API)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := cfg.Logger()
			if cfg.AdminToken == "" {
				return errors.New("CVENTSYNC_ADMIN_TOKEN is not set: the admin API would be open to nobody")
			}
			st, err := openStore(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			return runGateway(cmd.Context(), cfg, st, log, nil)
		},
	}
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "listen address (CVENTSYNC_HTTP_ADDR)")
	cmd.Flags().StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "base URL Cvent reaches the gateway on (CVENTSYNC_PUBLIC_URL)")
	return cmd
}

// runGateway serves until ctx ends. ready, if not nil, receives the bound
// address once the listener is open.
func runGateway(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger, ready chan<- string) error {
	// Lazy: the gateway must accept and store webhooks even while Temporal is down.
	opts, err := temporalOptions(cfg, quietLogger(log))
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client: %w", err)
	}
	defer c.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	stopPprof, err := servePprof(cfg.PprofAddr, "gateway", log)
	if err != nil {
		return fmt.Errorf("pprof listener on %s (CVENTSYNC_PPROF_ADDR): %w", cfg.PprofAddr, err)
	}
	defer stopPprof()
	box, err := cfg.SecretBox()
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Let the collector return large bodies' memory before the heap doubles.
		debug.SetMemoryLimit(cfg.BodyMemoryBytes + 64<<20)
	}
	outbound, err := cfg.Outbound()
	if err != nil {
		return err
	}
	usage := startUsage(st, log)
	defer closeUsage(usage, log)
	// A burst of webhooks should find its connections open.
	if err := st.Warm(ctx, store.PoolSize); err != nil {
		log.Warn("could not open the connection pool ahead", "error", err)
	}
	trusted, err := cfg.TrustedProxyPrefixes()
	if err != nil {
		return err
	}
	gw := gateway.New(gateway.Options{
		AdminMaxBodyBytes: cfg.AdminMaxBodyBytes, TrustedProxies: trusted,
		Store: st, Temporal: c, TaskQueue: cfg.TaskQueue, AdminToken: cfg.AdminToken,
		PublicURL: cfg.Public(), MaxBodyBytes: cfg.MaxBodyBytes, BodyMemoryBytes: cfg.BodyMemoryBytes, SecretBox: box, Logger: log,
		Cvent:    &connection.Clients{Box: box, Limiters: &cvent.Limiters{}, Usage: usage, Logger: log},
		Outbound: outbound, TemporalUIURL: cfg.TemporalUI, TemporalNamespace: cfg.TemporalNamespace,
		// The gateway's address is public; its /metrics may want a token.
		MetricsToken: cfg.MetricsToken,
	})
	defer gw.Close()
	// Bodies have their own pace limits (see gateway/body.go); these bound
	// headers, answers and idle keep-alive connections.
	srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("gateway listening", "addr", ln.Addr().String(), "publicUrl", cfg.Public())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	return srv.Shutdown(shutdownCtx)
}

// startUsage counts this process's Cvent calls against each account's daily
// quota, adding them to the database every second (internal/cventusage).
func startUsage(st *store.Store, log *slog.Logger) *cventusage.Recorder {
	r := cventusage.NewRecorder(st, cventusage.Options{Logger: log})
	r.Start()
	return r
}

// closeUsage adds the last counts before the process ends.
func closeUsage(r *cventusage.Recorder, log *slog.Logger) {
	if err := r.Close(); err != nil {
		log.Warn("the last Cvent call counts were not saved", "error", err)
	}
}

// quietLogger raises the Temporal SDK's own logging, which logs every poll
// retry, to warn; our workflows' and activities' logs keep the process's
// level (see temporalconn.QuietSDKLogger).
func quietLogger(log *slog.Logger) *slog.Logger { return temporalconn.QuietSDKLogger(log) }

// serveWorkerHTTP serves the worker's /metrics, /livez and /readyz on
// CVENTSYNC_WORKER_HTTP_ADDR until the returned stop is called.
func serveWorkerHTTP(cfg *config.Config, st *store.Store, c client.Client, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", cfg.WorkerHTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("worker metrics listener on %s (CVENTSYNC_WORKER_HTTP_ADDR): %w", cfg.WorkerHTTPAddr, err)
	}
	srv := &http.Server{Handler: worker.HTTPHandler(st, c, cfg.MetricsToken), ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("worker metrics listener stopped", "error", err)
		}
	}()
	log.Info("worker metrics and health listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
