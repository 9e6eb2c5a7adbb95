package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
)

// impactRefit is how often the impact report's replay refits the demand
// forecast: the daemon's refit period.
const impactRefit = 15 * time.Minute

// targetImpactJSON is one target's impact report in `plan --json`: its
// forecast floors replayed on the last 7 and 14 days of its demand
// history against the HPA alone, as the daemon judges them.
type targetImpactJSON struct {
	Policy string `json:"policy"`
	Target string `json:"target"`
	// Last7d and Last14d are absent when NotJudged says why.
	Last7d  *impactWindowJSON `json:"last_7d,omitempty"`
	Last14d *impactWindowJSON `json:"last_14d,omitempty"`
	// StoodDown: the floors do not beat a cooler HPA at equal cost by the
	// daemon's margin over 14 days; Why says why (or why they pay).
	StoodDown bool   `json:"stood_down"`
	Why       string `json:"why,omitempty"`
	// OperatingQuantile is the quantile the floors judged are sized at:
	// capacity.quantile, or the operating point that paid best.
	OperatingQuantile float64 `json:"operating_quantile,omitempty"`
	NotJudged         string  `json:"not_judged,omitempty"`
}

type impactWindowJSON struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Fractions of demand unserved: by the HPA alone, with the floors,
	// and by the HPA alone run cooler at the floors' replica-hours.
	UnservedReactive    float64  `json:"unserved_reactive"`
	UnservedPredictive  float64  `json:"unserved_predictive"`
	UnservedAtEqualCost float64  `json:"unserved_at_equal_cost"`
	UnservedSaved       float64  `json:"unserved_saved"`
	ReplicaHoursPaid    float64  `json:"replica_hours_paid"`
	ReplicaHoursShare   float64  `json:"replica_hours_paid_share"`
	EqualCostRatio      *float64 `json:"equal_cost_ratio,omitempty"`
	GainPerCost         *float64 `json:"gain_per_cost,omitempty"`
}

func newImpactWindow(im *sim.Impact) *impactWindowJSON {
	finite := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return &impactWindowJSON{From: im.From, To: im.To,
		UnservedReactive: im.Reactive.UnservedFraction, UnservedPredictive: im.Predictive.UnservedFraction,
		UnservedAtEqualCost: im.EqualCost.ReactiveUnserved, UnservedSaved: im.UnservedSaved(),
		ReplicaHoursPaid: im.ReplicaHoursPaid(), ReplicaHoursShare: im.PaidShare(),
		EqualCostRatio: finite(im.EqualCostRatio()), GainPerCost: finite(im.GainPerCost())}
}

// planImpact reports, for each target of p with a demand history, what its
// forecast floors would have done over the last 7 and 14 days of it
// (sim.PolicyImpact: the daemon's comparison, on floors replayed with the
// policy's engine), and whether the daemon would stand them down.
func planImpact(ctx context.Context, p *config.Policy, inputs inputFlag, series map[string]forecast.Series, at time.Time, margin float64) ([]targetImpactJSON, error) {
	var out []targetImpactJSON
	e := policy.NewEngine(p)
	for _, t := range p.Spec.Targets {
		file := ""
		for _, ti := range inputs {
			if ti.signal == "demand" && (ti.target == t.Name || (ti.target == "" && !hasSpecific(inputs, t.Name, "demand"))) {
				file = ti.file
			}
		}
		if file == "" {
			continue
		}
		r := targetImpactJSON{Policy: p.Metadata.Name, Target: t.Name}
		ti, why, err := sim.PolicyImpact(ctx, e, t.Name, before(series[file], at), impactRefit, margin)
		if err != nil {
			return nil, fmt.Errorf("impact of %s: %w", t.Name, err)
		}
		if ti == nil {
			r.NotJudged = why
		} else {
			r.Last7d, r.Last14d = newImpactWindow(ti.Last7d), newImpactWindow(ti.Last14d)
			r.StoodDown, r.Why, r.OperatingQuantile = ti.StoodDown, ti.Why, ti.Quantile
		}
		out = append(out, r)
	}
	return out, nil
}

func printImpact(w io.Writer, rs []targetImpactJSON) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nimpact: the forecast floors replayed on the target's own history against the HPA alone (and run cooler at equal replica-hours)\n")
	for _, r := range rs {
		if r.Last14d == nil {
			fmt.Fprintf(w, "\n%s: not judged: %s\n", r.Target, r.NotJudged)
			continue
		}
		verdict := "floors pay"
		if r.StoodDown {
			verdict = "stood down"
		}
		fmt.Fprintf(w, "\n%s: %s: %s\n", r.Target, verdict, r.Why)
		for _, x := range []struct {
			name string
			w    *impactWindowJSON
		}{{"last 7d", r.Last7d}, {"last 14d", r.Last14d}} {
			ratio, gain := "-", "-"
			if x.w.EqualCostRatio != nil {
				ratio = fmt.Sprintf("%.3g×", *x.w.EqualCostRatio)
			}
			if x.w.GainPerCost != nil {
				gain = fmt.Sprintf("%.3g", *x.w.GainPerCost)
			} else if x.w.ReplicaHoursPaid <= 0 && x.w.UnservedSaved > 0 {
				gain = "∞ (no cost)"
			}
			fmt.Fprintf(w, "    %-8s (%s): unserved %.3g%% → %.3g%% (saved %.3g%% of demand); paid %.4g replica-h (%+.3g%%); at equal cost %.3g%% for a cooler HPA, floors %s of it; gain per cost %s\n",
				x.name, config.FormatDuration(x.w.To.Sub(x.w.From).Round(time.Hour)), 100*x.w.UnservedReactive, 100*x.w.UnservedPredictive, 100*x.w.UnservedSaved,
				x.w.ReplicaHoursPaid, 100*x.w.ReplicaHoursShare, 100*x.w.UnservedAtEqualCost, ratio, gain)
		}
	}
}
