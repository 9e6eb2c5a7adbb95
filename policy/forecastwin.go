package policy

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
)

// absurd bounds a forecast value: beyond it the forecast is discarded
// rather than acted on.
const absurd = 1e12

// windowValue returns the largest forecast value at quantile q over the
// steps overlapping [from, to). It uses the nearest quantile at or above q
// (or the mean when the forecast has no quantiles) and says which in
// level. ok is false when the forecast does not cover the window or holds
// only NaN, Inf or absurd values there.
func windowValue(f *forecast.Forecast, q float64, from, to time.Time) (v float64, level string, ok bool) {
	if f == nil || f.Step <= 0 || len(f.Mean) == 0 {
		return 0, "", false
	}
	values, level := pickQuantile(f, q)
	if f.Start.After(from) || f.Time(len(values)).Before(to) {
		return 0, level, false
	}
	best, found := math.Inf(-1), false
	// Steps overlapping [from, to): from the one containing from to the
	// last starting before to.
	lo := max(int(from.Sub(f.Start)/f.Step), 0)
	hi := min(int((to.Sub(f.Start)+f.Step-1)/f.Step), len(values))
	for i := lo; i < hi; i++ {
		x := values[i]
		if math.IsNaN(x) || math.IsInf(x, 0) || x > absurd {
			return 0, level, false
		}
		if x > best {
			best, found = x, true
		}
	}
	if !found {
		return 0, level, false
	}
	return math.Max(best, 0), level, true
}

func pickQuantile(f *forecast.Forecast, q float64) ([]float64, string) {
	if v, ok := f.Quantiles[q]; ok && len(v) == len(f.Mean) {
		return v, fmt.Sprintf("p%g", q*100)
	}
	levels := make([]float64, 0, len(f.Quantiles))
	for l, v := range f.Quantiles {
		if len(v) == len(f.Mean) {
			levels = append(levels, l)
		}
	}
	sort.Float64s(levels)
	for _, l := range levels {
		if l >= q {
			return f.Quantiles[l], fmt.Sprintf("p%g (nearest at or above p%g)", l*100, q*100)
		}
	}
	if len(levels) > 0 {
		l := levels[len(levels)-1]
		return f.Quantiles[l], fmt.Sprintf("p%g (highest available; p%g wanted)", l*100, q*100)
	}
	return f.Mean, fmt.Sprintf("mean (no quantiles; p%g wanted)", q*100)
}

// LookAhead is how far past now the engine reads forecasts for p: the
// longest TargetLookAhead of its targets.
func LookAhead(p *config.Policy) time.Duration {
	var ahead time.Duration
	for i := range p.Spec.Targets {
		ahead = max(ahead, TargetLookAhead(p, &p.Spec.Targets[i]))
	}
	return ahead
}

// TargetLookAhead is how far past now the engine reads target t's
// forecasts: its own lead time plus planning window, or a database's or
// cache's lead time plus t's window where that is longer (the tiers size
// for every target's demand). A forecast of t must reach this far to be
// used, and need reach no further: its horizon, and with it the model
// the rolling-origin validation chooses, must not depend on the lead
// times of the policy's other targets.
func TargetLookAhead(p *config.Policy, t *config.Target) time.Duration {
	ahead := t.Capacity.LeadTime.D() + t.Capacity.Window.D()
	for _, d := range p.Spec.Databases {
		ahead = max(ahead, d.LeadTime.D()+t.Capacity.Window.D())
	}
	for _, d := range p.Spec.Caches {
		ahead = max(ahead, d.LeadTime.D()+t.Capacity.Window.D())
	}
	return ahead
}

// operatingQuantile is the quantile target t's forecast floor is sized at:
// the operating point the daemon put in force (one of its
// capacity.operatingPoints), or capacity.quantile; why says so when it is
// not the owner's.
func operatingQuantile(t *config.Target, ops map[string]float64, whys map[string]string) (q float64, why string) {
	q = t.Capacity.Quantile
	op, ok := ops[t.Name]
	if !ok || op == q {
		return q, ""
	}
	for _, l := range t.Capacity.OperatingPoints {
		if l == op {
			because := "its floors paid best at equal cost on the target's last 14 days"
			if w := whys[t.Name]; w != "" {
				because = w
			}
			return op, fmt.Sprintf("operating point p%g, not the owner's p%g: %s", 100*op, 100*q, because)
		}
	}
	return q, "" // no longer one of the target's operating points: the owner's
}

// levelFloors sizes the forecast's window value at each quantile level,
// 0 where it is unusable.
func levelFloors(f *forecast.Forecast, levels []float64, from, to time.Time, sized func(float64) int) []int {
	out := make([]int, len(levels))
	for i, q := range levels {
		if v, _, ok := windowValue(f, q, from, to); ok {
			out[i] = sized(v)
		}
	}
	return out
}
