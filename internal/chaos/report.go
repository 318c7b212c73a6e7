package chaos

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Report is one scenario's account of what went in and what came out, the
// same five figures for every fault:
//
//   - Sent: what the source offered (webhooks Cvent posted, attendees Cvent
//     holds for a pull, check-ins that fell due for a write-back).
//   - Acked: what cventsync acknowledged (a 2xx to a webhook, after what
//     got none was sent again; attendees a pull read; activity accepted).
//   - Applied: what took effect, counted at the far end (deliveries
//     processed, attendees in the directory, check-ins Cvent counted).
//   - Lost: acknowledged but never applied.
//   - Twice: applied more than once (a delivery's apply count, an attendee's
//     change log entries or rewrites, Cvent's per-attendee effect count).
//
// Proof lists what shows that the fault hit work in flight; a scenario
// whose fault hit nothing proves nothing and fails.
type Report struct {
	Scenario string
	Sent     int
	Acked    int
	Applied  int
	Lost     int
	Twice    int
	Proof    []string
	Notes    []string
	Took     time.Duration
}

// Failures lists what is wrong with the figures: any loss, any double
// effect, anything sent that was never acknowledged, or no proof.
func (r *Report) Failures() []string {
	var out []string
	if r.Lost > 0 {
		out = append(out, fmt.Sprintf("%d lost", r.Lost))
	}
	if r.Twice > 0 {
		out = append(out, fmt.Sprintf("%d applied twice", r.Twice))
	}
	if r.Acked < r.Sent {
		out = append(out, fmt.Sprintf("%d of %d sent were never acknowledged", r.Sent-r.Acked, r.Sent))
	}
	if r.Applied+r.Lost < r.Acked {
		out = append(out, fmt.Sprintf("%d acknowledged, %d applied and %d lost do not add up", r.Acked, r.Applied, r.Lost))
	}
	if len(r.Proof) == 0 {
		out = append(out, "no proof that the fault hit anything in flight")
	}
	return out
}

// Line is the report's row in the summary table.
func (r *Report) Line() string {
	return fmt.Sprintf("%-44s %7d %7d %7d %5d %5d %6s", r.Scenario, r.Sent, r.Acked, r.Applied, r.Lost, r.Twice, r.Took.Round(time.Second))
}

// String is the row with its proof and notes.
func (r *Report) String() string {
	var b strings.Builder
	b.WriteString(tableHeader + "\n" + r.Line() + "\n")
	for _, p := range r.Proof {
		b.WriteString("    hit: " + p + "\n")
	}
	for _, n := range r.Notes {
		b.WriteString("    note: " + n + "\n")
	}
	return b.String()
}

const tableHeader = "scenario                                        sent   acked applied  lost twice   took"

// reports collects every scenario's report of a test binary for the
// summary TestMain prints.
var reports struct {
	sync.Mutex
	list []*Report
}

func keepReport(r *Report) {
	reports.Lock()
	defer reports.Unlock()
	reports.list = append(reports.list, r)
}

// printSummary writes the table of every report kept, with their proofs.
func printSummary(w io.Writer) {
	reports.Lock()
	defer reports.Unlock()
	if len(reports.list) == 0 {
		return
	}
	fmt.Fprintln(w, "\nchaos suite: what went in and what came out")
	fmt.Fprintln(w, tableHeader)
	for _, r := range reports.list {
		mark := ""
		if f := r.Failures(); len(f) > 0 {
			mark = "  FAILED: " + strings.Join(f, "; ")
		}
		fmt.Fprintln(w, r.Line()+mark)
	}
	for _, r := range reports.list {
		fmt.Fprintf(w, "%s\n", r.Scenario)
		for _, p := range r.Proof {
			fmt.Fprintln(w, "    hit: "+p)
		}
		for _, n := range r.Notes {
			fmt.Fprintln(w, "    note: "+n)
		}
	}
}
