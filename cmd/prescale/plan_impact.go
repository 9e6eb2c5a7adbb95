package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
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
	// How the plan printed sizes the target's forecast floors: stood down
	// (rules and the owner's values only), or at PlanQuantile; PlanWhy
	// says why (the verdict, --no-stand-down, capacity.standDown: false).
	PlanStoodDown bool    `json:"plan_stood_down"`
	PlanQuantile  float64 `json:"plan_quantile,omitempty"`
	PlanWhy       string  `json:"plan_why,omitempty"`
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

// followVerdicts returns the engine's inputs that make the plan follow
// the impact reports ims of p's targets as the daemon follows its
// judgements (controller standDowns): a target whose floors do not pay
// stands down, one judged at an operating point is sized at it, one with
// too little history to judge starts at its lowest operating point. With
// follow false (--no-stand-down), and for a target with
// capacity.standDown: false, the floors stay at capacity.quantile. It
// records in ims how the plan sizes each target's floors.
func followVerdicts(p *config.Policy, ims []targetImpactJSON, follow bool) (down map[string]string, points map[string]float64, whys map[string]string) {
	down, points, whys = map[string]string{}, map[string]float64{}, map[string]string{}
	for i := range ims {
		r := &ims[i]
		if r.Policy != p.Metadata.Name {
			continue
		}
		var t *config.Target
		for k := range p.Spec.Targets {
			if p.Spec.Targets[k].Name == r.Target {
				t = &p.Spec.Targets[k]
			}
		}
		if t == nil {
			continue
		}
		own, levels := t.Capacity.Quantile, t.Capacity.Levels()
		r.PlanQuantile = own
		switch {
		case !follow:
			r.PlanWhy = "--no-stand-down: the forecast floors at capacity.quantile, whatever the verdict"
		case !t.Capacity.StandsDown():
			r.PlanWhy = "capacity.standDown is false: the floors stay at capacity.quantile whatever the verdict"
		case r.NotJudged != "" && len(levels) > 1:
			q := slices.Min(levels)
			points[t.Name], r.PlanQuantile = q, q
			whys[t.Name] = fmt.Sprintf("the floors are not judged yet (%s), so the daemon starts them at the lowest operating point", r.NotJudged)
			r.PlanWhy = whys[t.Name]
		case r.NotJudged != "":
			r.PlanWhy = "not judged yet, and no operating point below capacity.quantile"
		case r.StoodDown:
			down[t.Name] = "judged on its last 14 days of history: " + r.Why
			r.PlanStoodDown, r.PlanQuantile = true, 0
			r.PlanWhy = "stood down: the forecast floors do not pay, rules and the owner's values only"
		case r.OperatingQuantile != own && slices.Contains(levels, r.OperatingQuantile):
			points[t.Name], r.PlanQuantile = r.OperatingQuantile, r.OperatingQuantile
			r.PlanWhy = fmt.Sprintf("operating point p%g: its floors paid best at equal cost on the last 14 days", 100*r.OperatingQuantile)
		default:
			r.PlanWhy = "the floors pay at capacity.quantile"
		}
	}
	return down, points, whys
}

func printImpact(w io.Writer, rs []targetImpactJSON) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nimpact: the forecast floors replayed on the target's own history against the HPA alone (and run cooler at equal replica-hours)\n")
	for _, r := range rs {
		planned := fmt.Sprintf("    plan: %s", r.PlanWhy)
		if !r.PlanStoodDown && r.PlanQuantile > 0 {
			planned = fmt.Sprintf("    plan: floors at p%g: %s", 100*r.PlanQuantile, r.PlanWhy)
		}
		if r.Last14d == nil {
			fmt.Fprintf(w, "\n%s: not judged: %s\n%s\n", r.Target, r.NotJudged, planned)
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
		fmt.Fprintln(w, planned)
	}
}
