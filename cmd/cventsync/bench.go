package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/bench"
	"github.com/cventsync/cventsync/internal/config"
)

func newBenchCmd(cfg *config.Config) *cobra.Command {
	var (
		runs        int
		liveSeconds int
		only        string
		out         string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure cventsync end to end on this machine and write BENCHMARKS.md",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := cfg.Logger()
			began := time.Now()
			env, err := bench.Start(ctx, bench.Options{TemporalBin: cfg.TemporalBin, Logger: log})
			if err != nil {
				return err
			}
			defer env.Stop()
			want := func(s string) bool { return only == "" || strings.Contains(","+only+",", ","+s+",") }
			type scenario struct {
				key string
				run func() (*bench.Result, error)
			}
			scenarios := []scenario{
				{"live", func() (*bench.Result, error) { return env.Live(ctx, 20, time.Duration(liveSeconds)*time.Second) }},
				{"burst", func() (*bench.Result, error) { return env.Burst(ctx, 1000, 50) }},
				{"sync", func() (*bench.Result, error) { return env.ManualSync(ctx, 10000) }},
				{"participation", func() (*bench.Result, error) { return env.Participation(ctx, 5000) }},
			}
			var sums []bench.Summary
			for _, sc := range scenarios {
				if !want(sc.key) {
					continue
				}
				var results []*bench.Result
				for i := 0; i < runs; i++ {
					fmt.Fprintf(os.Stderr, "scenario %s, run %d/%d\n", sc.key, i+1, runs)
					r, err := sc.run()
					if err != nil {
						return fmt.Errorf("scenario %s: %w", sc.key, err)
					}
					results = append(results, r)
				}
				sums = append(sums, bench.Summarize(results))
			}
			bench.PrintTable(os.Stdout, sums)
			if out != "" {
				if err := bench.WriteMarkdown(out, sums, "cventsync bench "+strings.Join(os.Args[2:], " "), began, time.Since(began)); err != nil {
					return err
				}
				fmt.Println("\nwrote", out)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&runs, "runs", 3, "runs per scenario")
	cmd.Flags().IntVar(&liveSeconds, "live-seconds", 60, "duration of the live scenario")
	cmd.Flags().StringVar(&only, "only", "", "comma-separated scenarios to run: live,burst,sync,participation")
	cmd.Flags().StringVar(&out, "out", "BENCHMARKS.md", "markdown report to write (empty: none)")
	return cmd
}
