package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc (USER_HZ): 100 on every Linux
// architecture Go supports, whatever the kernel's internal tick rate.
const userHZ = 100

// The components whose CPU the benchmark accounts for, in report order.
const (
	CompTemporal = "Temporal server"
	CompPostgres = "PostgreSQL"
	CompGateway  = "gateway"
	CompWorker   = "worker"
	CompBench    = "bench (Cvent side, probe)"
	CompOther    = "other processes"
	// CompMachine is every busy core of the machine; not a component, the sum.
	CompMachine = "machine busy"
)

// Components lists the accounted components; their cores add up to CompMachine.
var Components = []string{CompTemporal, CompPostgres, CompGateway, CompWorker, CompBench, CompOther}

// procStat holds the fields of /proc/<pid>/stat the benchmark reads.
type procStat struct {
	PID, PPID, PGRP              int
	UTime, STime, CUTime, CSTime uint64 // clock ticks (userHZ)
}

// own is the CPU time of the process itself.
func (p procStat) own() uint64 { return p.UTime + p.STime }

// reaped is the CPU time of its children that ended and were waited for:
// a PostgreSQL backend that exits between two samples is counted here.
func (p procStat) reaped() uint64 { return p.CUTime + p.CSTime }

// parseProcStat reads the text of /proc/<pid>/stat. The command name (field
// 2) may hold spaces and parentheses, so fields are counted after its last ')'.
func parseProcStat(text string) (procStat, error) {
	open, end := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
	if open < 1 || end < open {
		return procStat{}, fmt.Errorf("proc stat: no command name in %q", firstN(text, 60))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(text[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat pid: %w", err)
	}
	f := strings.Fields(text[end+1:])
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("proc stat of %d: %d fields after the name, want at least 15", pid, len(f))
	}
	st := procStat{PID: pid}
	ints := []*int{&st.PPID, &st.PGRP}
	for i, dst := range ints {
		if *dst, err = strconv.Atoi(f[1+i]); err != nil {
			return procStat{}, fmt.Errorf("proc stat of %d: %w", pid, err)
		}
	}
	ticks := []*uint64{&st.UTime, &st.STime, &st.CUTime, &st.CSTime}
	for i, dst := range ticks {
		v, err := strconv.ParseInt(f[11+i], 10, 64) // cutime/cstime are signed in the kernel
		if err != nil {
			return procStat{}, fmt.Errorf("proc stat of %d: %w", pid, err)
		}
		*dst = uint64(max(v, 0))
	}
	return st, nil
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseMachineStat reads the aggregate "cpu" line of /proc/stat and returns
// the busy ticks (everything but idle and iowait; guest time is already in
// user) and the number of per-CPU lines.
func parseMachineStat(text string) (busy uint64, cpus int, err error) {
	found := false
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		if f[0] != "cpu" {
			cpus++
			continue
		}
		if len(f) < 9 {
			return 0, 0, fmt.Errorf("proc stat cpu line: %d fields, want at least 9", len(f))
		}
		for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
			if i == 3 || i == 4 {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("proc stat cpu line: %w", err)
			}
			busy += n
		}
		found = true
	}
	if !found {
		return 0, 0, errors.New("proc stat: no aggregate cpu line")
	}
	return busy, cpus, nil
}

// cpuPIDs names the processes of each component.
type cpuPIDs struct {
	Temporal, Postmaster, Gateway, Worker, Self int
}

// componentTicks adds up the CPU ticks of each component: the Temporal
// server, gateway and worker are process-group leaders (everything in their
// group counts, and what their ended children used); PostgreSQL is the
// postmaster, its children, and the children it reaped; the bench is this
// process alone.
func componentTicks(procs []procStat, ids cpuPIDs) map[string]uint64 {
	out := make(map[string]uint64, len(Components))
	group := map[int]string{ids.Temporal: CompTemporal, ids.Gateway: CompGateway, ids.Worker: CompWorker}
	for _, p := range procs {
		switch {
		case p.PID == ids.Self:
			out[CompBench] += p.own()
		case p.PID == ids.Postmaster:
			out[CompPostgres] += p.own() + p.reaped()
		case p.PPID == ids.Postmaster && ids.Postmaster != 0:
			out[CompPostgres] += p.own()
		default:
			comp, ok := group[p.PGRP]
			if !ok || p.PGRP == 0 {
				continue
			}
			out[comp] += p.own()
			if p.PID == p.PGRP {
				out[comp] += p.reaped()
			}
		}
	}
	return out
}

// cpuSample is the CPU counters at one moment.
type cpuSample struct {
	At          time.Time
	Ticks       map[string]uint64
	MachineBusy uint64
	// MachineOK is false when /proc/stat does not describe the CPUs this
	// process may use (e.g. a container on a larger host): then the machine
	// total and "other processes" are not reported.
	MachineOK bool
}

// CPUUsage is the CPU each component used between two samples, in cores:
// CPU seconds per second of wall time.
type CPUUsage struct {
	Wall  time.Duration
	Cores map[string]float64
}

// cpuBetween is the usage from sample a to sample b. "Other processes" is the
// machine's busy time that none of the components account for.
func cpuBetween(a, b cpuSample) CPUUsage {
	u := CPUUsage{Wall: b.At.Sub(a.At), Cores: map[string]float64{}}
	secs := u.Wall.Seconds()
	if secs <= 0 {
		return u
	}
	cores := func(from, to uint64) float64 {
		if to < from {
			return 0
		}
		return float64(to-from) / userHZ / secs
	}
	ours := 0.0
	for _, c := range Components {
		if c == CompOther {
			continue
		}
		u.Cores[c] = cores(a.Ticks[c], b.Ticks[c])
		ours += u.Cores[c]
	}
	if a.MachineOK && b.MachineOK {
		busy := cores(a.MachineBusy, b.MachineBusy)
		u.Cores[CompOther] = max(busy-ours, 0)
		u.Cores[CompMachine] = max(busy, ours)
	}
	return u
}

// shares gives each component's part of the total of the given components.
func shares(cores map[string]float64, comps []string) map[string]float64 {
	total := 0.0
	for _, c := range comps {
		total += cores[c]
	}
	out := make(map[string]float64, len(comps))
	if total <= 0 {
		return out
	}
	for _, c := range comps {
		out[c] = cores[c] / total
	}
	return out
}

// pids finds the processes of each component; the Temporal server once.
func (e *Env) pids() (cpuPIDs, error) {
	ids := cpuPIDs{Self: os.Getpid(), Gateway: e.Gateway.Process.Pid, Worker: e.Worker.Process.Pid}
	pm, err := postmasterPID(filepath.Join(e.Postgres.Dir, "data", "postmaster.pid"))
	if err != nil {
		return ids, err
	}
	ids.Postmaster = pm
	if e.temporalPID == 0 {
		db := filepath.Join(e.Dir, "temporal.db")
		if e.temporalPID, err = findProcess(func(args []string) bool { return hasArgPair(args, "--db-filename", db) }); err != nil {
			return ids, fmt.Errorf("temporal server: %w", err)
		}
	}
	ids.Temporal = e.temporalPID
	return ids, nil
}

// postmasterPID reads the first line of postmaster.pid.
func postmasterPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("postmaster pid: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("postmaster pid in %s: %w", path, err)
	}
	return pid, nil
}

func hasArgPair(args []string, name, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name && args[i+1] == value {
			return true
		}
	}
	return false
}

// findProcess returns the first process whose command line matches.
func findProcess(match func(args []string) bool) (int, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("find process: %w", err)
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue // ended meanwhile
		}
		if match(strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")) {
			return pid, nil
		}
	}
	return 0, errors.New("no such process in /proc")
}

// readProcs reads /proc/<pid>/stat of every process.
func readProcs() ([]procStat, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	out := make([]procStat, 0, len(dirs))
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue // ended meanwhile
		}
		st, err := parseProcStat(string(b))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// sampleCPU reads the counters of every component and of the machine.
func (e *Env) sampleCPU() (cpuSample, error) {
	ids, err := e.pids()
	if err != nil {
		return cpuSample{}, fmt.Errorf("sample cpu: %w", err)
	}
	s := cpuSample{At: time.Now()}
	procs, err := readProcs()
	if err != nil {
		return cpuSample{}, fmt.Errorf("sample cpu: %w", err)
	}
	s.Ticks = componentTicks(procs, ids)
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}, fmt.Errorf("sample cpu: %w", err)
	}
	busy, cpus, err := parseMachineStat(string(b))
	if err != nil {
		return cpuSample{}, fmt.Errorf("sample cpu: %w", err)
	}
	s.MachineBusy, s.MachineOK = busy, cpus == runtime.NumCPU()
	return s, nil
}

// cpuWindow measures the CPU used from its start to stop.
type cpuWindow struct {
	e     *Env
	start cpuSample
}

func (e *Env) startCPU() (*cpuWindow, error) {
	s, err := e.sampleCPU()
	if err != nil {
		return nil, err
	}
	return &cpuWindow{e: e, start: s}, nil
}

func (w *cpuWindow) stop() (CPUUsage, error) {
	s, err := w.e.sampleCPU()
	if err != nil {
		return CPUUsage{}, err
	}
	return cpuBetween(w.start, s), nil
}

// addCPU adds the usage as metrics of the result, one per component.
func (r *Result) addCPU(step string, u CPUUsage) {
	for _, c := range append(append([]string(nil), Components...), CompMachine) {
		v, ok := u.Cores[c]
		if !ok {
			continue
		}
		r.Metrics = append(r.Metrics, Metric{Step: step, Name: c, Unit: "cores", Value: v, CPU: true})
	}
}
