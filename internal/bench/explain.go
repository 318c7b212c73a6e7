package bench

import (
	"fmt"
	"runtime"
	"strings"
)

// saturatedShare is the part of the machine's cores busy from which a step
// counts as saturating it.
const saturatedShare = 0.9

// WhereTimeGoes explains a run's figures in words. Every number in it comes
// from sums: nothing here is written ahead of the measurement.
func WhereTimeGoes(sums []Summary) string {
	var b strings.Builder
	b.WriteString("## Where the time goes\n\nGenerated from this run's figures (medians over runs).\n\n")
	explain := map[string]func(Summary) string{
		"live": explainLive, "burst": explainBurst, "sync": explainSync,
		"participation": explainParticipation, "sustained": explainSustained,
	}
	for _, s := range sums {
		if fn, ok := explain[s.Key]; ok {
			if text := fn(s); text != "" {
				fmt.Fprintf(&b, "- %s\n", text)
			}
		}
	}
	if text := explainProbe(sums); text != "" {
		fmt.Fprintf(&b, "- %s\n", text)
	}
	return b.String()
}

// figs reads medians of a summary and remembers whether any was missing.
type figs struct {
	s  Summary
	ok bool
}

func newFigs(s Summary) *figs { return &figs{s: s, ok: true} }

func (f *figs) v(step, name string) float64 {
	r, ok := f.s.Row(step, name)
	if !ok {
		f.ok = false
	}
	return r.Median
}

func (f *figs) has(step, name string) bool {
	_, ok := f.s.Row(step, name)
	return ok
}

func fms(v float64) string { return num(v, "ms") }
func fs(v float64) string  { return num(v, "s") }

// times writes a ratio, "12.1×".
func times(x float64) string { return fmt.Sprintf("%.3g×", x) }

// faults says how many registrations were lost or got the wrong access.
func faults(f *figs, step, lostName string) string {
	if !f.has(step, lostName) || !f.has(step, "wrong access") {
		return ""
	}
	lost, wrong := f.v(step, lostName), f.v(step, "wrong access")
	if lost == 0 && wrong == 0 {
		return "Nothing lost, every access as Cvent's status says."
	}
	return fmt.Sprintf("%.0f lost and %.0f with the wrong access.", lost, wrong)
}

// systemCores is what cventsync, Temporal and PostgreSQL used together.
func systemCores(cores map[string]float64) float64 {
	return cores[CompTemporal] + cores[CompPostgres] + cores[CompGateway] + cores[CompWorker]
}

// disturbedShare is the share of the busy CPU taken by other processes from
// which the report warns that they disturbed the figures.
const disturbedShare = 0.2

// cpuSentence lists the components of a step by CPU, highest first; with a
// rate of items (registrations, attendees), also the CPU each item cost.
func cpuSentence(s Summary, step string, perSecond float64, item string) string {
	cores := cpuCores(s, step)
	comps := presentComponents(cores)
	if len(comps) == 0 {
		return ""
	}
	share := shares(cores, comps)
	parts := make([]string, 0, len(comps))
	for _, c := range sortedByCores(cores, comps) {
		parts = append(parts, fmt.Sprintf("%s %.2f cores (%.0f%%)", c, cores[c], 100*share[c]))
	}
	text := "CPU: " + strings.Join(parts, ", ")
	if m, ok := cores[CompMachine]; ok {
		text += fmt.Sprintf("; %.2f of %d cores busy", m, runtime.NumCPU())
	}
	if perSecond > 0 {
		text += fmt.Sprintf("; cventsync with Temporal and PostgreSQL spent %.2g ms of CPU per %s", 1000*systemCores(cores)/perSecond, item)
	}
	text += "."
	if share[CompOther] >= disturbedShare {
		text += fmt.Sprintf(" Other processes on this machine took %.0f%% of the busy CPU: they competed with what was measured here.",
			100*share[CompOther])
	}
	return text
}

func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func explainLive(s Summary) string {
	f := newFigs(s)
	rate, ans := f.v("", "send rate achieved"), f.v("", "answer p50")
	p50, p99 := f.v("", "registration to access p50"), f.v("", "registration to access p99")
	ins := f.v("", "baseline: single INSERT p50")
	if !f.ok || ins <= 0 {
		return ""
	}
	return join(fmt.Sprintf("Live registrations at %.0f/s: the webhook is answered in %s (p50), %s a single INSERT (%s). "+
		"The attendee is visible with the right access after %s (p50; p99 %s), %s the INSERT: %s pass between the answer "+
		"and visibility, on the asynchronous path through Temporal, the worker and PostgreSQL.",
		rate, fms(ans), times(ans/ins), fms(ins), fms(p50), fms(p99), times(p50/ins), fms(p50-ans)),
		faults(f, "", "lost (sent, never applied)"), cpuSentence(s, "", rate, "registration"))
}

func explainBurst(s Summary) string {
	f := newFigs(s)
	n, send := f.v("", "webhooks"), f.v("", "send time")
	a50, a99 := f.v("", "answer p50"), f.v("", "answer p99")
	all, base := f.v("", "all applied"), f.v("", "baseline: INSERTs with same concurrency")
	if !f.ok || send <= 0 || all <= 0 || base <= 0 {
		return ""
	}
	text := fmt.Sprintf("Burst: %.0f registrations sent in %s (%.0f/s), answered in %s (p50) and %s (p99); all applied %s "+
		"after the first send (%.0f/s), %s the same INSERTs at the same concurrency (%s).",
		n, fs(send), n/send, fms(a50), fms(a99), fs(all), n/all, times(all/base), fs(base))
	// Figures a report of an older run may lack: a figs of their own.
	waves := newFigs(s)
	first, later := waves.v("", "answer p99 of the first wave (sent at once)"), waves.v("", "answer p99 after the first wave")
	insert := waves.v("", "baseline: INSERT p99 at that concurrency")
	if waves.ok {
		text += fmt.Sprintf(" The first wave, sent at the same instant to an integration whose drainer has yet to start, is answered "+
			"in %s (p99), the rest in %s; a plain INSERT at the same concurrency takes %s (p99).", fms(first), fms(later), fms(insert))
	}
	return join(text, faults(f, "", "deliveries lost"), cpuSentence(s, "", n/all, "registration"))
}

func explainSync(s Summary) string {
	f := newFigs(s)
	n, acc, ans := f.v("", "attendees"), f.v("", "of which Accepted (get access)"), f.v("", "answer")
	all, base := f.v("", "all applied"), f.v("", "baseline: one batched INSERT of the same records")
	gw, wk := f.v("", "peak RSS gateway"), f.v("", "peak RSS worker")
	if !f.ok || all <= 0 || base <= 0 {
		return ""
	}
	return join(fmt.Sprintf("Manual sync of %.0f attendees (%.0f Accepted): answered in %s; all applied after %s (%.0f/s), "+
		"%s one batched INSERT of the same records (%s); peak RSS gateway %.0f MB, worker %.0f MB.",
		n, acc, fs(ans), fs(all), n/all, times(all/base), fs(base), gw, wk),
		faults(f, "", "attendees missing"), cpuSentence(s, "", n/all, "attendee"))
}

func explainParticipation(s Summary) string {
	f := newFigs(s)
	logins, over := f.v("", "logins"), f.v("", "logins sent over")
	calls, twice, limited := f.v("", "Cvent check-in calls"), f.v("", "checked in twice"), f.v("", "429s from Cvent")
	after, base := f.v("", "all checked in, after the last login"), f.v("", "baseline: INSERT the logins in the same batches")
	if !f.ok {
		return ""
	}
	return fmt.Sprintf("Participation: %.0f logins over %s led to %.0f check-in calls (at 100 per call the minimum is %.0f), "+
		"%.0f attendees checked in twice and %.0f 429s; all were written %s after the last login. INSERTing the same logins "+
		"in the same batches took %s.", logins, fs(over), calls, ceilDiv(logins, 100), twice, limited, fs(after), fs(base))
}

// sustainedSteps lists the steps of the sustained scenario in order.
func sustainedSteps(s Summary) []string {
	var steps []string
	seen := map[string]bool{}
	for _, r := range s.Rows {
		if r.Step != "" && !seen[r.Step] {
			seen[r.Step] = true
			steps = append(steps, r.Step)
		}
	}
	return steps
}

func explainSustained(s Summary) string {
	f := newFigs(s)
	var parts []string
	saturated := ""
	control := ""
	for _, step := range sustainedSteps(s) {
		if isControlStep(step) {
			control = step
			continue
		}
		rate := f.v(step, "send rate achieved")
		a99 := f.v(step, "answer p99")
		p50, p99 := f.v(step, "registration to access p50"), f.v(step, "registration to access p99")
		if !f.ok {
			return ""
		}
		within := "within"
		if p99 > accessP99Target {
			within = "over"
		}
		text := fmt.Sprintf("at %s (%.0f/s sent) answer p99 %s, registration to access p50 %s and p99 %s (%s 1 s)",
			step, rate, fms(a99), fms(p50), fms(p99), within)
		if lw := faults(f, step, "lost (sent, never applied)"); lw != "" {
			text += ". " + strings.TrimSuffix(lw, ".")
		}
		text += ". " + strings.TrimSuffix(cpuSentence(s, step, rate, "registration"), ".")
		parts = append(parts, text)
		if m, ok := cpuCores(s, step)[CompMachine]; ok && saturated == "" && m >= saturatedShare*float64(runtime.NumCPU()) {
			saturated = step
		}
	}
	if len(parts) == 0 {
		return ""
	}
	var verdict []string
	if best, ok := s.Row("", "highest rate with registration to access p99 ≤ 1 s"); ok {
		if best.Median > 0 {
			verdict = append(verdict, fmt.Sprintf("Registration to access p99 stays within 1 s up to %.0f/s.", best.Median))
		} else {
			verdict = append(verdict, "Registration to access p99 is over 1 s already at the lowest rate.")
		}
	}
	if saturated != "" {
		verdict = append(verdict, fmt.Sprintf("From %s on the machine is saturated (at least %.0f%% of its %d cores busy).",
			saturated, 100*saturatedShare, runtime.NumCPU()))
	}
	text := "Sustained rate. " + join(verdict...)
	for _, p := range parts {
		text += "\n  - " + strings.ToUpper(p[:1]) + p[1:] + "."
	}
	if c := explainCommitControl(s, control); c != "" {
		text += "\n  - " + c
	}
	return text
}

// explainCommitControl compares the highest rate with its control run,
// where PostgreSQL's commits did not wait for the disk.
func explainCommitControl(s Summary, control string) string {
	if control == "" {
		return ""
	}
	step := strings.TrimSuffix(control, ", commits not waiting for the disk (control)")
	f := newFigs(s)
	a50, a99 := f.v(step, "answer p50"), f.v(step, "answer p99")
	c50, c99 := f.v(control, "answer p50"), f.v(control, "answer p99")
	if !f.ok {
		return ""
	}
	m := cpuCores(s, control)[CompMachine]
	text := fmt.Sprintf("Where the answer's time goes at %s: run again with PostgreSQL's commits not waiting for the disk "+
		"(synchronous_commit off, a control only: an acknowledged webhook must be on disk), the answer p50 is %s and p99 %s "+
		"instead of %s and %s, with %.2f of %d cores busy.", step, fms(c50), fms(c99), fms(a50), fms(a99), m, runtime.NumCPU())
	if c99 < 0.9*a99 {
		return text + fmt.Sprintf(" About %s of the p99 is the wait for the write-ahead log's flush to disk; "+
			"the rest is CPU and scheduling on a busy machine.", fms(a99-c99))
	}
	return text + " Not waiting for the disk does not shorten the p99: the tail is CPU and scheduling on a busy machine, " +
		"not the commit's flush."
}

// explainProbe says what measuring cost, at the heaviest steady step.
func explainProbe(sums []Summary) string {
	for i := len(sums) - 1; i >= 0; i-- {
		s := sums[i]
		if s.Key != "sustained" && s.Key != "live" {
			continue
		}
		step := ""
		if steps := sustainedSteps(s); len(steps) > 0 {
			step = steps[len(steps)-1]
		}
		f := newFigs(s)
		req, rows := f.v(step, "probe list requests"), f.v(step, "probe rows read")
		if !f.ok {
			continue
		}
		where := "in the live scenario"
		if step != "" {
			where = "at " + step
		}
		text := fmt.Sprintf("The measuring side: %s the access probe read the attendee list %.0f times a second (%.0f rows a second)",
			where, req, rows)
		cores := cpuCores(s, step)
		if c, ok := cores[CompBench]; ok {
			text += fmt.Sprintf(", and the benchmark process, sending as Cvent and probing, used %.2f cores (%.0f%% of the busy total)",
				c, 100*shares(cores, presentComponents(cores))[CompBench])
		}
		return text + "; the probe's requests are served by the gateway and PostgreSQL and counted there."
	}
	return ""
}
