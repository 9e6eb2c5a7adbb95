package main

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prescale/prescale/sim"
)

// What the demo prints: one short line per floor change (from → to and the
// reason that set it, the full reasons being in `prescale plan` and the
// logs), a line when the day changes, and a closing table that compares
// reactive scaling and prescale on the same demand, and at equal cost.

// The planner's reasons the demo line is made from (policy/engine.go).
var (
	forecastReason = regexp.MustCompile(`^forecast (\S+) demand (\S+) over \[now\+(\S+), now\+(\S+)\]`)
	capacityReason = regexp.MustCompile(`^capacity model: .* = (\d+)$`)
)

// shortWhy condenses a floor's reasons: what the forecast asked for, and
// the limit or rule that bound the value when one did ("" when none is
// recognised: the caller prints the last reason as it is).
func shortWhy(reasons []string) string {
	var need, bound []string
	for _, r := range reasons {
		switch {
		case forecastReason.MatchString(r):
			m := forecastReason.FindStringSubmatch(r)
			need = append(need, fmt.Sprintf("forecast %s demand %s (%s–%s ahead)", m[1], humanNumber(m[2]), m[3], m[4]))
		case capacityReason.MatchString(r):
			need = append(need, "needs "+capacityReason.FindStringSubmatch(r)[1]+" pods")
		case strings.HasPrefix(r, "no usable demand forecast"), strings.HasPrefix(r, "demand forecast discarded"):
			// "no usable demand forecast: holding 12 from the forecast of
			// 2015-01-30T10:00:00Z (grace 30m)": fail-static.
			what, _, _ := strings.Cut(r, " from the forecast of")
			need = append(need, "fail-static: "+what)
		case strings.HasPrefix(r, "limit: "), strings.HasPrefix(r, "rule "), strings.HasPrefix(r, "event "):
			// The limit without its explanation in parentheses, which
			// `prescale plan` and the logs keep: one short line.
			b := strings.TrimPrefix(r, "limit: ")
			if i := strings.Index(b, " ("); i > 0 && strings.HasSuffix(b, ")") {
				b = b[:i]
			}
			bound = append(bound, b)
		}
	}
	if len(need) == 0 && len(bound) == 0 {
		return ""
	}
	s := strings.Join(need, ", ")
	if len(bound) > 0 {
		if s != "" {
			s += "; "
		}
		s += "held by " + bound[len(bound)-1]
	}
	return s
}

// humanNumber prints a planner number (%.4g) with thousands separators:
// 1.965e+04 reads 19,650.
func humanNumber(s string) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Abs(v) < 1000 || math.Abs(v) >= 1e15 {
		return s
	}
	digits := strconv.FormatInt(int64(math.Round(v)), 10)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// decisionLine is one floor change: the time in the policy's zone, the
// target, minReplicas from → to, and why.
func decisionLine(at time.Time, target string, from, to int, reasons []string) string {
	why := shortWhy(reasons)
	if why == "" && len(reasons) > 0 {
		why = reasons[len(reasons)-1]
	}
	return fmt.Sprintf("  %s  %s minReplicas %2d → %2d  %s", at.Format("15:04"), target, from, to, why)
}

// dayLine heads each day's decisions.
func dayLine(at time.Time) string { return at.Format("Monday 2006-01-02 (MST)") }

// demoSummary is what the closing table reports.
type demoSummary struct {
	reactive, prescale sim.Result
	// equal is prescale placed on reactive's cost–unserved curve: what
	// the HPA alone, run cooler, leaves unserved for prescale's
	// replica-hours; curveErr says why it is missing.
	equal    *sim.EqualCost
	curveErr error
	// changes is the number of floor changes, ticks the loop's ticks and
	// failStatic those at which the target had no usable demand forecast
	// (prescale_fail_static was 1).
	changes, ticks, failStatic int
	days                       int
	hpaTarget                  float64
}

func printDemoSummary(w io.Writer, s demoSummary) {
	days := "days"
	if s.days == 1 {
		days = "day"
	}
	fmt.Fprintf(w, "\n%d floor changes in %d %s; the HPA kept reacting above the floor.\n", s.changes, s.days, days)
	fmt.Fprintf(w, "fail-static: %d of %d ticks planned without a usable demand forecast (rules and the owner's values only).\n\n", s.failStatic, s.ticks)

	// Names left, numbers right.
	rows := [][]string{{"", "unserved demand", "replica-hours", "underprovisioned min", "node-hours"}}
	row := func(name string, r sim.Result) {
		rows = append(rows, []string{name, percent(r.UnservedFraction), fmt.Sprintf("%.1f", r.ReplicaHours),
			fmt.Sprintf("%.0f", r.UnderprovisionedMinutes), fmt.Sprintf("%.1f", r.NodeHours)})
	}
	row(fmt.Sprintf("reactive: the HPA alone at %.0f%%", 100*s.hpaTarget), s.reactive)
	row("prescale: the HPA + forecast floors", s.prescale)
	if s.equal != nil {
		bound := ""
		if s.equal.UnservedPosition == sim.Beyond {
			bound = "≤ " // past the sweep: reactive's value there is a bound
		}
		rows = append(rows, []string{"reactive run cooler, same cost", bound + percent(s.equal.ReactiveUnserved), fmt.Sprintf("%.1f", s.prescale.ReplicaHours), "", ""})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		line := fmt.Sprintf("  %-*s", widths[0], r[0])
		for i := 1; i < len(r); i++ {
			line += fmt.Sprintf("  %*s", widths[i], r[i])
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}

	fmt.Fprintln(w)
	switch {
	case s.reactive.UnservedFraction > 0:
		fmt.Fprintf(w, "prescale left %.0f%% of reactive scaling's unserved demand, for %.2f× its replica-hours.\n",
			100*s.prescale.UnservedFraction/s.reactive.UnservedFraction, s.prescale.ReplicaHours/s.reactive.ReplicaHours)
	default:
		fmt.Fprintf(w, "reactive scaling served all demand; prescale used %.2f× its replica-hours.\n", s.prescale.ReplicaHours/s.reactive.ReplicaHours)
	}
	switch {
	case s.equal == nil:
		fmt.Fprintf(w, "(no equal-cost comparison: %v)\n", s.curveErr)
	case s.equal.ReactiveUnserved > s.prescale.UnservedFraction:
		fmt.Fprintf(w, "At equal cost it still wins: the HPA run cooler for the same replica-hours leaves %s unserved, prescale %s.\n",
			percent(s.equal.ReactiveUnserved), percent(s.prescale.UnservedFraction))
	default:
		fmt.Fprintf(w, "At equal cost it does not win here: the HPA run cooler for the same replica-hours leaves %s unserved, prescale %s.\n",
			percent(s.equal.ReactiveUnserved), percent(s.prescale.UnservedFraction))
	}
}

// percent prints a fraction as a percentage with enough digits to tell
// small shares apart.
func percent(f float64) string {
	if f == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*f, 'f', 3, 64) + "%"
}
