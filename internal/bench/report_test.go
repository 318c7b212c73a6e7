package bench

import (
	"strings"
	"testing"
)

func ok(b bool) *bool { return &b }

func TestSummarize(t *testing.T) {
	run := func(metrics ...Metric) *Result { return &Result{Key: "k", Scenario: "s", Metrics: metrics} }
	tests := []struct {
		name string
		runs []*Result
		want []SummaryRow
	}{
		{
			name: "median, range and targets met",
			runs: []*Result{
				run(Metric{Name: "p99", Unit: "ms", Value: 10, Target: "≤ 20", Ok: ok(true)}),
				run(Metric{Name: "p99", Unit: "ms", Value: 30, Target: "≤ 20", Ok: ok(false)}),
				run(Metric{Name: "p99", Unit: "ms", Value: 15, Target: "≤ 20", Ok: ok(true)}),
			},
			want: []SummaryRow{{Name: "p99", Unit: "ms", Target: "≤ 20", Median: 15, Min: 10, Max: 30, Met: "2/3 runs"}},
		},
		{
			name: "matched by step and name, not position",
			runs: []*Result{
				run(Metric{Step: "50/s", Name: "p99", Value: 1}, Metric{Step: "100/s", Name: "p99", Value: 2}),
				run(Metric{Step: "100/s", Name: "p99", Value: 4}, Metric{Step: "50/s", Name: "p99", Value: 3}),
			},
			want: []SummaryRow{
				{Step: "50/s", Name: "p99", Median: 2, Min: 1, Max: 3},
				{Step: "100/s", Name: "p99", Median: 3, Min: 2, Max: 4},
			},
		},
		{
			name: "a metric missing from a run counts the runs that have it",
			runs: []*Result{
				run(Metric{Name: "lost", Value: 0, Target: "≤ 0", Ok: ok(true)}, Metric{Name: CompTemporal, Value: 0.5, CPU: true}),
				run(Metric{Name: "lost", Value: 2, Target: "≤ 0", Ok: ok(false)}),
			},
			want: []SummaryRow{
				{Name: "lost", Target: "≤ 0", Median: 1, Min: 0, Max: 2, Met: "1/2 runs"},
				{Name: CompTemporal, Median: 0.5, Min: 0.5, Max: 0.5, CPU: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.runs)
			if s.Key != "k" || s.Runs != len(tt.runs) {
				t.Errorf("summary %q with %d runs", s.Key, s.Runs)
			}
			if len(s.Rows) != len(tt.want) {
				t.Fatalf("rows %+v, want %+v", s.Rows, tt.want)
			}
			for i := range tt.want {
				if s.Rows[i] != tt.want[i] {
					t.Errorf("row %d: %+v, want %+v", i, s.Rows[i], tt.want[i])
				}
			}
		})
	}
}

func cpuRows(step string, temporal, pg, gw, wk, b, other, machine float64) []SummaryRow {
	vals := map[string]float64{CompTemporal: temporal, CompPostgres: pg, CompGateway: gw, CompWorker: wk, CompBench: b,
		CompOther: other, CompMachine: machine}
	var out []SummaryRow
	for _, c := range append(append([]string(nil), Components...), CompMachine) {
		out = append(out, SummaryRow{Step: step, Name: c, Unit: "cores", Median: vals[c], CPU: true})
	}
	return out
}

func TestCPUTable(t *testing.T) {
	s := Summary{Rows: append(cpuRows("50/s", 0.4, 0.3, 0.1, 0.1, 0.1, 0, 1.0), cpuRows("100/s", 0.8, 0.6, 0.2, 0.2, 0.2, 0, 2)...)}
	got := cpuTable(s)
	if len(got) != 3 {
		t.Fatalf("%d lines, want header and two steps: %v", len(got), got)
	}
	tests := []struct {
		line, col int
		want      string
	}{
		{1, 0, "50/s"},
		{1, 1, "0.40 (40%)"},
		{1, 2, "0.30 (30%)"},
		{2, 0, "100/s"},
		{2, 1, "0.80 (40%)"},
		{2, len(got[2]) - 1, "2.00"},
	}
	for _, tt := range tests {
		if got[tt.line][tt.col] != tt.want {
			t.Errorf("line %d col %d = %q, want %q", tt.line, tt.col, got[tt.line][tt.col], tt.want)
		}
	}
	if cpuTable(Summary{Rows: []SummaryRow{{Name: "x"}}}) != nil {
		t.Error("a summary without CPU rows has no CPU table")
	}
}

func liveSummary(answer, p50, other float64) Summary {
	rows := []SummaryRow{
		{Name: "send rate achieved", Unit: "/s", Median: 20},
		{Name: "answer p50", Unit: "ms", Median: answer},
		{Name: "registration to access p50", Unit: "ms", Median: p50},
		{Name: "registration to access p99", Unit: "ms", Median: 2 * p50},
		{Name: "lost (sent, never applied)", Median: 0},
		{Name: "wrong access", Median: 0},
		{Name: "baseline: single INSERT p50", Unit: "ms", Median: 0.5},
		{Name: "probe list requests", Unit: "/s", Median: 42},
		{Name: "probe rows read", Unit: "/s", Median: 420},
	}
	return Summary{Key: "live", Runs: 1, Rows: append(rows, cpuRows("", 0.5, 0.2, 0.1, 0.1, 0.1, other, 1+other)...)}
}

func TestWhereTimeGoesComesFromFigures(t *testing.T) {
	sustained := Summary{Key: "sustained", Runs: 1}
	for _, step := range []struct {
		name      string
		rate, p99 float64
		machine   float64
	}{{"50/s", 50, 300, 1.0}, {"300/s", 290, 2500, 1.95}} {
		sustained.Rows = append(sustained.Rows,
			SummaryRow{Step: step.name, Name: "send rate achieved", Unit: "/s", Median: step.rate},
			SummaryRow{Step: step.name, Name: "answer p99", Unit: "ms", Median: 9},
			SummaryRow{Step: step.name, Name: "registration to access p50", Unit: "ms", Median: step.p99 / 2},
			SummaryRow{Step: step.name, Name: "registration to access p99", Unit: "ms", Median: step.p99},
			SummaryRow{Step: step.name, Name: "lost (sent, never applied)", Median: 0},
			SummaryRow{Step: step.name, Name: "wrong access", Median: 0},
			SummaryRow{Step: step.name, Name: "probe list requests", Unit: "/s", Median: 33},
			SummaryRow{Step: step.name, Name: "probe rows read", Unit: "/s", Median: 3300},
		)
		sustained.Rows = append(sustained.Rows, cpuRows(step.name, step.machine/2, step.machine/4, 0.1, 0.1, 0.05, 0, step.machine)...)
	}
	sustained.Rows = append(sustained.Rows, SummaryRow{Name: "highest rate with registration to access p99 ≤ 1 s", Unit: "/s", Median: 50})
	withControl := sustained
	control := ControlStep(300)
	withControl.Rows = append(append([]SummaryRow{}, sustained.Rows...),
		SummaryRow{Step: "300/s", Name: "answer p50", Unit: "ms", Median: 6},
		SummaryRow{Step: control, Name: "answer p50", Unit: "ms", Median: 2},
		SummaryRow{Step: control, Name: "answer p99", Unit: "ms", Median: 4},
		SummaryRow{Step: control, Name: "registration to access p99", Unit: "ms", Median: 2000})
	withControl.Rows = append(withControl.Rows, cpuRows(control, 1, 0.5, 0.1, 0.1, 0.05, 0, 1.9)...)
	noFasterControl := withControl
	noFasterControl.Rows = append([]SummaryRow{}, withControl.Rows...)
	for i, r := range noFasterControl.Rows {
		if r.Step == control && r.Name == "answer p99" {
			noFasterControl.Rows[i].Median = 9.5
		}
	}

	tests := []struct {
		name     string
		sums     []Summary
		contains []string
		absent   []string
	}{
		{
			name: "live: ratios to the baseline of the same run",
			sums: []Summary{liveSummary(1.5, 120, 0)},
			contains: []string{"Live registrations at 20/s", "answered in 1.5 ms", "3× a single INSERT (0.5 ms)",
				"240× the INSERT", "118 ms pass between", "Temporal server 0.50 cores (50%)", "Nothing lost",
				"read the attendee list 42 times a second", "45 ms of CPU per registration"},
			absent: []string{"Other processes on this machine"},
		},
		{
			name:     "other figures, other text",
			sums:     []Summary{liveSummary(3, 60, 0)},
			contains: []string{"answered in 3 ms", "6× a single INSERT", "120× the INSERT", "57 ms pass between"},
			absent:   []string{"240×"},
		},
		{
			name:     "a busy machine is called out",
			sums:     []Summary{liveSummary(3, 60, 1)},
			contains: []string{"other processes 1.00 cores (50%)", "Other processes on this machine took 50% of the busy CPU"},
		},
		{
			name: "sustained: per rate, the highest holding rate, saturation",
			sums: []Summary{sustained},
			contains: []string{"At 50/s (50/s sent)", "p99 300 ms (within 1 s)", "At 300/s (290/s sent)", "(over 1 s)",
				"stays within 1 s up to 50/s", "From 300/s on the machine is saturated", "at 300/s the access probe read the attendee list 33 times a second"},
		},
		{
			name: "sustained: the control run says what the disk costs the answer",
			sums: []Summary{withControl},
			contains: []string{"Where the answer's time goes at 300/s", "answer p50 is 2 ms and p99 4 ms instead of 6 ms and 9 ms",
				"with 1.90 of", "About 5 ms of the p99 is the wait for the write-ahead log's flush"},
			absent: []string{"(control) (", "At 300/s, commits"},
		},
		{
			name:     "sustained: a control no faster says the disk is not the tail",
			sums:     []Summary{noFasterControl},
			contains: []string{"Not waiting for the disk does not shorten the p99"},
			absent:   []string{"of the p99 is the wait"},
		},
		{
			name: "burst: the first wave told from the rest, and the plain INSERT's p99",
			sums: []Summary{{Key: "burst", Runs: 1, Rows: append([]SummaryRow{
				{Name: "webhooks", Median: 1000}, {Name: "send time", Unit: "s", Median: 1.5},
				{Name: "answer p50", Unit: "ms", Median: 57}, {Name: "answer p99", Unit: "ms", Median: 190},
				{Name: "answer p99 of the first wave (sent at once)", Unit: "ms", Median: 250},
				{Name: "answer p99 after the first wave", Unit: "ms", Median: 80},
				{Name: "all applied", Unit: "s", Median: 1.7}, {Name: "baseline: INSERTs with same concurrency", Unit: "s", Median: 0.6},
				{Name: "baseline: INSERT p99 at that concurrency", Unit: "ms", Median: 60},
				{Name: "deliveries lost", Median: 0}, {Name: "wrong access", Median: 0},
			}, cpuRows("", 0.8, 0.3, 0.3, 0.2, 0.2, 0, 1.8)...)}},
			contains: []string{"answered in 57 ms (p50) and 190 ms (p99)", "is answered in 250 ms (p99), the rest in 80 ms",
				"a plain INSERT at the same concurrency takes 60 ms (p99)"},
		},
		{
			name:   "nothing measured, nothing claimed",
			sums:   nil,
			absent: []string{"Live", "Sustained", "measuring side"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := WhereTimeGoes(tt.sums)
			for _, c := range tt.contains {
				if !strings.Contains(text, c) {
					t.Errorf("missing %q in:\n%s", c, text)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(text, a) {
					t.Errorf("unexpected %q in:\n%s", a, text)
				}
			}
		})
	}
}
