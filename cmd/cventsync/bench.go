package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/bench"
	"github.com/cventsync/cventsync/internal/config"
)

// benchScenarios are the --only names, in the order they run.
var benchScenarios = []string{"live", "burst", "sync", "participation", "sustained", "bigsync", "pns", "platform"}

func newBenchCmd(cfg *config.Config) *cobra.Command {
	var (
		runs              int
		liveSeconds       int
		sustainedDuration time.Duration
		sustainedRates    []int
		bigSyncSizes      []int
		platform          = bench.DefaultPlatformOptions()
		platformSeconds   int
		only              string
		out               string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure cventsync end to end on this machine and write BENCHMARKS.md",
		RunE: func(cmd *cobra.Command, _ []string) error {
			want, err := chosenScenarios(only)
			if err != nil {
				return err
			}
			if err := checkSustained(sustainedRates, sustainedDuration); err != nil {
				return err
			}
			if err := bench.CheckBigSyncSizes(bigSyncSizes); err != nil {
				return err
			}
			platform.LiveDuration = time.Duration(platformSeconds) * time.Second
			if err := bench.CheckPlatformOptions(platform); err != nil {
				return err
			}
			var extraEnv []string
			if want["platform"] { // its receiver is on http://127.0.0.1
				extraEnv = bench.PlatformEnv
			}
			ctx := cmd.Context()
			log := cfg.Logger()
			began := time.Now()
			env, err := bench.Start(ctx, bench.Options{TemporalBin: cfg.TemporalBin, Logger: log, ExtraEnv: extraEnv})
			if err != nil {
				return err
			}
			defer env.Stop()
			run := map[string]func() (*bench.Result, error){
				"live":          func() (*bench.Result, error) { return env.Live(ctx, 20, time.Duration(liveSeconds)*time.Second) },
				"burst":         func() (*bench.Result, error) { return env.Burst(ctx, 1000, 50) },
				"sync":          func() (*bench.Result, error) { return env.ManualSync(ctx, 10000) },
				"participation": func() (*bench.Result, error) { return env.Participation(ctx, 5000) },
				"sustained":     func() (*bench.Result, error) { return env.Sustained(ctx, sustainedRates, sustainedDuration) },
				"bigsync":       func() (*bench.Result, error) { return env.BigSync(ctx, bigSyncSizes) },
				"pns":           func() (*bench.Result, error) { return env.PNS(ctx) },
				"platform":      func() (*bench.Result, error) { return env.Platform(ctx, platform) },
			}
			var sums []bench.Summary
			for _, key := range benchScenarios {
				if !want[key] {
					continue
				}
				var results []*bench.Result
				for i := 0; i < runs; i++ {
					fmt.Fprintf(os.Stderr, "scenario %s, run %d/%d\n", key, i+1, runs)
					r, err := run[key]()
					if err != nil {
						return fmt.Errorf("scenario %s: %w", key, err)
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
	cmd.Flags().DurationVar(&sustainedDuration, "sustained-duration", 30*time.Second, "duration of each rate step of the sustained scenario")
	cmd.Flags().IntSliceVar(&sustainedRates, "sustained-rates", []int{50, 100, 200, 300}, "registrations per second of the sustained scenario's steps")
	cmd.Flags().IntSliceVar(&bigSyncSizes, "bigsync-sizes", bench.BigSyncSizes, "attendees in the one POST of each step of the bigsync scenario")
	cmd.Flags().IntVar(&platformSeconds, "platform-seconds", int(platform.LiveDuration/time.Second), "duration of each live step of the platform scenario (20/s and --platform-rate)")
	cmd.Flags().IntVar(&platform.HighRate, "platform-rate", platform.HighRate, "registrations per second of the platform scenario's second live step (the pipeline's highest sustained rate)")
	cmd.Flags().IntVar(&platform.SyncSize, "platform-sync-size", platform.SyncSize, "attendees of the platform scenario's manual sync (destination batchSize 500)")
	cmd.Flags().DurationVar(&platform.Outage, "platform-outage", platform.Outage, "how long the platform receiver is down during the platform scenario's live stream")
	cmd.Flags().StringVar(&only, "only", "", "comma-separated scenarios to run: "+strings.Join(benchScenarios, ","))
	cmd.Flags().StringVar(&out, "out", "BENCHMARKS.md", "markdown report to write (empty: none)")
	return cmd
}

// chosenScenarios parses --only; empty means every scenario.
func chosenScenarios(only string) (map[string]bool, error) {
	want := map[string]bool{}
	if strings.TrimSpace(only) == "" {
		for _, s := range benchScenarios {
			want[s] = true
		}
		return want, nil
	}
	for _, s := range strings.Split(only, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(benchScenarios, s) {
			return nil, fmt.Errorf("--only: unknown scenario %q (have %s)", s, strings.Join(benchScenarios, ", "))
		}
		want[s] = true
	}
	return want, nil
}

func checkSustained(rates []int, d time.Duration) error {
	if len(rates) == 0 {
		return errors.New("--sustained-rates: give at least one rate")
	}
	for _, r := range rates {
		if r <= 0 {
			return fmt.Errorf("--sustained-rates: %d is not a positive rate", r)
		}
	}
	if d < time.Second {
		return fmt.Errorf("--sustained-duration: %v is shorter than a second", d)
	}
	return nil
}
