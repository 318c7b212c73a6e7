package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Summary aggregates the runs of one scenario: per metric the median and the
// range over runs.
type Summary struct {
	Key      string
	Scenario string
	Runs     int
	Rows     []SummaryRow
	Notes    []string
}

// SummaryRow is one metric over all runs.
type SummaryRow struct {
	Step, Name, Unit, Target string
	Median, Min, Max         float64
	Met                      string // "n/m runs", or "" without a target
	CPU                      bool
}

// Label is the row's name with its step.
func (r SummaryRow) Label() string { return stepPrefix(r.Step) + r.Name }

// Row finds a metric by step and name.
func (s Summary) Row(step, name string) (SummaryRow, bool) {
	for _, r := range s.Rows {
		if r.Step == step && r.Name == name {
			return r, true
		}
	}
	return SummaryRow{}, false
}

// metric finds a metric of a run by step and name.
func (r *Result) metric(step, name string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Step == step && m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Summarize aggregates runs of the same scenario, matching metrics by step
// and name, in the order of the first run.
func Summarize(runs []*Result) Summary {
	s := Summary{Key: runs[0].Key, Scenario: runs[0].Scenario, Runs: len(runs)}
	for _, m := range runs[0].Metrics {
		vals := make([]float64, 0, len(runs))
		met := 0
		for _, r := range runs {
			x, ok := r.metric(m.Step, m.Name)
			if !ok {
				continue
			}
			vals = append(vals, x.Value)
			if x.Ok != nil && *x.Ok {
				met++
			}
		}
		lo, hi := Spread(vals)
		row := SummaryRow{Step: m.Step, Name: m.Name, Unit: m.Unit, Target: m.Target, Median: Median(vals), Min: lo, Max: hi, CPU: m.CPU}
		if m.Target != "" {
			row.Met = fmt.Sprintf("%d/%d runs", met, len(vals))
		}
		s.Rows = append(s.Rows, row)
	}
	for _, r := range runs {
		s.Notes = append(s.Notes, r.Notes...)
	}
	return s
}

// PrintTable writes plain tables for the terminal.
func PrintTable(w io.Writer, sums []Summary) {
	for _, s := range sums {
		fmt.Fprintf(w, "\n%s (%d runs)\n", s.Scenario, s.Runs)
		fmt.Fprintf(w, "  %-56s %12s %24s %10s %12s\n", "metric", "median", "range", "target", "met")
		for _, r := range s.Rows {
			if r.CPU {
				continue
			}
			fmt.Fprintf(w, "  %-56s %12s %24s %10s %12s\n", r.Label(), num(r.Median, r.Unit),
				num(r.Min, r.Unit)+" – "+num(r.Max, r.Unit), r.Target, r.Met)
		}
		if t := cpuTable(s); len(t) > 1 {
			fmt.Fprintf(w, "  CPU, cores (share of the busy total), median over runs:\n")
			printColumns(w, t)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
	}
}

// printColumns writes rows with each column as wide as its widest cell.
func printColumns(w io.Writer, rows [][]string) {
	var widths []int
	for _, row := range rows {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, row := range rows {
		fmt.Fprint(w, " ")
		for i, c := range row {
			fmt.Fprintf(w, " %-*s", widths[i], c)
		}
		fmt.Fprintln(w)
	}
}

func num(v float64, unit string) string {
	switch {
	case unit == "":
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	default:
		return fmt.Sprintf("%.3g %s", v, unit)
	}
}

// cpuSteps lists the steps that have CPU rows, in order.
func cpuSteps(s Summary) []string {
	var steps []string
	seen := map[string]bool{}
	for _, r := range s.Rows {
		if r.CPU && !seen[r.Step] {
			seen[r.Step] = true
			steps = append(steps, r.Step)
		}
	}
	return steps
}

// cpuCores returns the median cores of each component in a step.
func cpuCores(s Summary, step string) map[string]float64 {
	out := map[string]float64{}
	for _, r := range s.Rows {
		if r.CPU && r.Step == step {
			out[r.Name] = r.Median
		}
	}
	return out
}

// cpuTable is a header and one line per step: each component's cores and
// share of the busy total, and the machine's busy cores.
func cpuTable(s Summary) [][]string {
	steps := cpuSteps(s)
	if len(steps) == 0 {
		return nil
	}
	head := append([]string{"step"}, Components...)
	head = append(head, fmt.Sprintf("%s (of %d cores)", CompMachine, runtime.NumCPU()))
	out := [][]string{head}
	for _, step := range steps {
		cores := cpuCores(s, step)
		share := shares(cores, presentComponents(cores))
		label := step
		if label == "" {
			label = "whole run"
		}
		line := []string{label}
		for _, c := range Components {
			v, ok := cores[c]
			if !ok {
				line = append(line, "–")
				continue
			}
			line = append(line, fmt.Sprintf("%.2f (%.0f%%)", v, 100*share[c]))
		}
		if v, ok := cores[CompMachine]; ok {
			line = append(line, fmt.Sprintf("%.2f", v))
		} else {
			line = append(line, "–")
		}
		out = append(out, line)
	}
	return out
}

// presentComponents are the components measured in cores.
func presentComponents(cores map[string]float64) []string {
	var out []string
	for _, c := range Components {
		if _, ok := cores[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

func markdownTable(b *strings.Builder, rows [][]string) {
	for i, row := range rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
		if i == 0 {
			fmt.Fprintf(b, "|%s\n", strings.Repeat("---|", len(row)))
		}
	}
}

// WriteMarkdown writes BENCHMARKS.md.
func WriteMarkdown(path string, sums []Summary, command string, started time.Time, took time.Duration) error {
	if err := os.WriteFile(path, []byte(Markdown(sums, command, started, took)), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Markdown renders the report.
func Markdown(sums []Summary, command string, started time.Time, took time.Duration) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Measured %s by `%s` (took %s).\n\n", started.UTC().Format("2006-01-02 15:04 UTC"), command, took.Round(time.Second))
	fmt.Fprintf(&b, "## Method\n\n%s\n", method())
	fmt.Fprintf(&b, "## Machine\n\n%s, %d cores (GOMAXPROCS %d), %s/%s, %s. Shared and noisy: compare ratios within one run.\n\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&b, "## Results\n")
	for _, s := range sums {
		fmt.Fprintf(&b, "\n### %s (%d runs)\n\n| metric | median | range | target | met |\n|---|---|---|---|---|\n", s.Scenario, s.Runs)
		for _, r := range s.Rows {
			if r.CPU {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s – %s | %s | %s |\n", r.Label(), num(r.Median, r.Unit), num(r.Min, r.Unit), num(r.Max, r.Unit), r.Target, r.Met)
		}
		if t := cpuTable(s); len(t) > 1 {
			b.WriteString("\nCPU by component: cores (CPU seconds per second of wall time, median over runs) and share of the busy total.\n\n")
			markdownTable(&b, t)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "\nNote: %s\n", n)
		}
	}
	b.WriteString("\n" + WhereTimeGoes(sums))
	fmt.Fprintf(&b, "\n## Reproduce\n\n```sh\nmake bench            # all scenarios, 3 runs each, rewrites BENCHMARKS.md\n"+
		".bin/cventsync bench --help\n```\n")
	return b.String()
}

// method describes how the figures are taken; the parameters come from the code.
func method() string {
	var mix []string
	for _, m := range statusMix {
		mix = append(mix, fmt.Sprintf("%d%% %s", m.Per100, m.Status))
	}
	return fmt.Sprintf(`Everything runs on one machine: PostgreSQL 15 (fsync on, defaults), the Temporal dev
server (SQLite file, WAL), the cventsync gateway and worker as two separate processes,
and the benchmark process playing Cvent (it posts webhooks exactly as Cvent does and
serves the Cvent REST API for write-back). Each scenario uses a fresh integration (the
sustained scenario one per rate) and runs several times; the tables give the median and
the range over runs. Scenarios 1 to 4 also run a baseline in the same run: a plain insert
of the same records into PostgreSQL with no Temporal and no cventsync, the floor our
design sits on; our time is reported as a ratio to it. Latencies are wall-clock from the
sender's side.

Registrations carry the statuses Cvent sends, in every hundred: %s.
Accepted ones arrive as InviteeOrGuestAccepted, cancelled ones as InviteeOrGuestCancelled,
the others as one-item AttendeeManualSynced deliveries (the only place Cvent puts
inviteeStatus). Only Accepted may get access: after each scenario the whole attendee
list is read once and every attendee compared; "wrong access" counts the mismatches and
"lost" the registrations missing from the directory.

"Registration to access" is the time from the moment the webhook is sent until the
attendee is visible through GET /api/v1/integrations/{id}/attendees with the access it
should have. One probe per scenario reads that list in pages covering every pending
attendee: invitee ids are time-ordered UUIDs (version 7; Cvent's are random version 4,
which only changes where index entries land), so the pending ones sit together at the
end of the list ordered by invitee id. The probe reads every %s, or waits %d times as
long as its last round took, so that it is never busy more than a quarter of the time;
a page covers pending attendees with at most %d settled ones between them. A
registration still not visible with the right access when nothing has settled for %s
is lost and counts in the percentiles with the time it waited. "All applied" polls
GET /api/v1/integrations/{id}/stats until every attendee is there and the Accepted ones
have access.

CPU: /proc/<pid>/stat utime+stime of the Temporal server, the gateway and the worker
(their process groups, with the children they reaped), of PostgreSQL (the postmaster,
its children, and the backends it reaped), and of the benchmark process itself, read at
the first webhook and after the last answer (steady scenarios) or at the end of the
scenario; "other processes" is the rest of the machine's busy time from /proc/stat. Cores
are CPU seconds per second of wall time. Peak RSS samples /proc/<pid>/status VmRSS of
gateway and worker every 20 ms during scenario 3.

The sustained scenario (5) sends single registrations at each rate for the same time,
each from its own goroutine as Cvent does, and names the highest rate up to which
registration to access p99 stays within 1 s.

The big manual sync (6) posts one AttendeeManualSynced per size, its ~1.85 KB items
(every attendee field, custom fields, event and order) generated while they are sent
with a known Content-Length; it times the answer after the last byte, all with access
from the first byte (the delivery processed, then every attendee compared in SQL), the
peak RSS as in scenario 3, and a decode + COPY of the same rows as its baseline.
`, strings.Join(mix, ", "), probeMinInterval, probeIdleFactor, probeMaxGap, settleNoProgress) + platformMethod()
}

// ceilDiv is ⌈a/b⌉ for positive numbers.
func ceilDiv(a, b float64) float64 { return math.Ceil(a / b) }

// sortedByCores orders components by their cores, highest first.
func sortedByCores(cores map[string]float64, comps []string) []string {
	out := append([]string(nil), comps...)
	sort.SliceStable(out, func(i, j int) bool { return cores[out[i]] > cores[out[j]] })
	return out
}
