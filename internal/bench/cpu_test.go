package bench

import (
	"math"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    procStat
		wantErr bool
	}{
		{
			name: "plain",
			text: "4242 (postgres) S 4200 4200 4200 0 -1 4194560 1203 0 0 0 150 37 12 3 20 0 1 0 1234 1000 100\n",
			want: procStat{PID: 4242, PPID: 4200, PGRP: 4200, UTime: 150, STime: 37, CUTime: 12, CSTime: 3},
		},
		{
			name: "name with spaces and parentheses",
			text: "77 (temporal (x) y) R 1 77 77 0 -1 0 0 0 0 0 9001 99 0 0 20 0 30 0 5 6 7",
			want: procStat{PID: 77, PPID: 1, PGRP: 77, UTime: 9001, STime: 99},
		},
		{
			name: "negative child times read as zero",
			text: "5 (w) S 1 5 5 0 -1 0 0 0 0 0 1 2 -3 -4 20",
			want: procStat{PID: 5, PPID: 1, PGRP: 5, UTime: 1, STime: 2},
		},
		{name: "too short", text: "5 (w) S 1 5 5 0", wantErr: true},
		{name: "no name", text: "5 w S 1 5 5 0 -1 0 0 0 0 0 1 2 3 4", wantErr: true},
		{name: "bad number", text: "5 (w) S 1 5 5 0 -1 0 0 0 0 0 x 2 3 4", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMachineStat(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		busy    uint64
		cpus    int
		wantErr bool
	}{
		{
			name: "two cpus",
			text: "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\ncpu1 50 3 25 500 10 2 1 1 0 0\nintr 1 2\n",
			busy: 100 + 5 + 50 + 3 + 2 + 1, cpus: 2,
		},
		{name: "no aggregate line", text: "cpu0 1 2 3 4 5 6 7 8\n", wantErr: true},
		{name: "short line", text: "cpu 1 2 3\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			busy, cpus, err := parseMachineStat(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if busy != tt.busy || cpus != tt.cpus {
				t.Errorf("got busy %d cpus %d, want %d %d", busy, cpus, tt.busy, tt.cpus)
			}
		})
	}
}

func TestComponentTicks(t *testing.T) {
	ids := cpuPIDs{Temporal: 10, Postmaster: 20, Gateway: 30, Worker: 40, Self: 50}
	procs := []procStat{
		{PID: 10, PPID: 50, PGRP: 10, UTime: 100, STime: 10, CUTime: 5},         // temporal leader, with reaped child
		{PID: 11, PPID: 10, PGRP: 10, UTime: 7},                                 // temporal child
		{PID: 20, PPID: 1, PGRP: 20, UTime: 3, STime: 1, CUTime: 40, CSTime: 2}, // postmaster, reaped backends
		{PID: 21, PPID: 20, PGRP: 20, UTime: 30, STime: 5},                      // backend
		{PID: 22, PPID: 20, PGRP: 20, UTime: 1},                                 // checkpointer
		{PID: 30, PPID: 50, PGRP: 30, UTime: 60, STime: 6},                      // gateway
		{PID: 40, PPID: 50, PGRP: 40, UTime: 80, STime: 8},                      // worker
		{PID: 50, PPID: 1, PGRP: 50, UTime: 25, STime: 5, CUTime: 999},          // bench: reaped children not counted
		{PID: 99, PPID: 1, PGRP: 99, UTime: 1000},                               // someone else
	}
	want := map[string]uint64{
		CompTemporal: 100 + 10 + 5 + 7,
		CompPostgres: 3 + 1 + 40 + 2 + 30 + 5 + 1,
		CompGateway:  66,
		CompWorker:   88,
		CompBench:    30,
	}
	got := componentTicks(procs, ids)
	for c, w := range want {
		if got[c] != w {
			t.Errorf("%s = %d, want %d", c, got[c], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("components %v, want %v", got, want)
	}
}

func TestCPUBetween(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ticks := func(temporal, pg, gw, wk, b uint64) map[string]uint64 {
		return map[string]uint64{CompTemporal: temporal, CompPostgres: pg, CompGateway: gw, CompWorker: wk, CompBench: b}
	}
	tests := []struct {
		name string
		a, b cpuSample
		want map[string]float64
	}{
		{
			name: "ten seconds, machine known",
			a:    cpuSample{At: t0, Ticks: ticks(0, 0, 0, 0, 0), MachineBusy: 0, MachineOK: true},
			b:    cpuSample{At: t0.Add(10 * time.Second), Ticks: ticks(500, 300, 100, 200, 50), MachineBusy: 1300, MachineOK: true},
			want: map[string]float64{CompTemporal: 0.5, CompPostgres: 0.3, CompGateway: 0.1, CompWorker: 0.2, CompBench: 0.05,
				CompOther: 0.15, CompMachine: 1.3},
		},
		{
			name: "machine unknown: no other, no total",
			a:    cpuSample{At: t0, Ticks: ticks(100, 0, 0, 0, 0)},
			b:    cpuSample{At: t0.Add(2 * time.Second), Ticks: ticks(300, 100, 0, 0, 0)},
			want: map[string]float64{CompTemporal: 1, CompPostgres: 0.5, CompGateway: 0, CompWorker: 0, CompBench: 0},
		},
		{
			name: "machine below ours (sampling skew): other is zero",
			a:    cpuSample{At: t0, Ticks: ticks(0, 0, 0, 0, 0), MachineOK: true},
			b:    cpuSample{At: t0.Add(time.Second), Ticks: ticks(100, 0, 0, 0, 0), MachineBusy: 90, MachineOK: true},
			want: map[string]float64{CompTemporal: 1, CompPostgres: 0, CompGateway: 0, CompWorker: 0, CompBench: 0, CompOther: 0, CompMachine: 1},
		},
		{
			name: "no wall time",
			a:    cpuSample{At: t0},
			b:    cpuSample{At: t0},
			want: map[string]float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cpuBetween(tt.a, tt.b).Cores
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for c, w := range tt.want {
				if math.Abs(got[c]-w) > 1e-9 {
					t.Errorf("%s = %v, want %v", c, got[c], w)
				}
			}
		})
	}
}

func TestShares(t *testing.T) {
	tests := []struct {
		name  string
		cores map[string]float64
		comps []string
		want  map[string]float64
	}{
		{"split", map[string]float64{"a": 1, "b": 3, CompMachine: 4}, []string{"a", "b"}, map[string]float64{"a": 0.25, "b": 0.75}},
		{"nothing used", map[string]float64{"a": 0}, []string{"a"}, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shares(tt.cores, tt.comps)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for c, w := range tt.want {
				if math.Abs(got[c]-w) > 1e-9 {
					t.Errorf("%s = %v, want %v", c, got[c], w)
				}
			}
		})
	}
}

func TestHasArgPair(t *testing.T) {
	args := []string{"/x/temporal", "server", "start-dev", "--db-filename", "/tmp/b/temporal.db", "--headless"}
	tests := []struct {
		name, flag, value string
		want              bool
	}{
		{"present", "--db-filename", "/tmp/b/temporal.db", true},
		{"other file", "--db-filename", "/tmp/c/temporal.db", false},
		{"value not after flag", "--headless", "/tmp/b/temporal.db", false},
	}
	for _, tt := range tests {
		if got := hasArgPair(args, tt.flag, tt.value); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
