package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Validation settings. A day-ahead forecast is judged on several whole
// days, so that each horizon step is seen at the same time of day.
const (
	// validationOrigins is how many origins a selection validates at,
	// history permitting. Twelve rather than eight: with eight, one of
	// five candidates beats the seasonal naive by chance alone, and the
	// intervals' tails are estimated from eight days. Pruning (see
	// validate) pays for the extra origins.
	validationOrigins = 12
	// maxShortOrigins bounds the origins of a short-horizon validation.
	maxShortOrigins = 24
	// minValidationPoints is the shortest history a validation fit sees.
	minValidationPoints = 16
	// pruneOrigins and pruneKeep: every candidate is validated at the
	// latest pruneOrigins origins; only the best pruneKeep of them by
	// error there, and the seasonal naive, at the earlier ones.
	pruneOrigins = 4
	pruneKeep    = 4
)

// validation holds each candidate's out-of-sample forecasts at the origins.
type validation struct {
	origins []int
	h       int
	actual  []float64   // actual values, origin after origin (len origins*h)
	fc      [][]float64 // per candidate, laid out as actual (NaN where not validated)
	failed  []bool
	// pruned candidates were validated at the latest origins only (see
	// validate): they are scored but not chosen.
	pruned []bool
	mae    []float64
}

// validate refits every candidate at origins at the end of the history,
// each on the past only, and scores it on the raw (uncleaned) values that
// followed: outliers do happen, and the intervals must know it.
//
// Origins are one horizon apart, or one day apart when the horizon spans
// two days or more (an hourly forecast of 48 steps): twice the origins from
// the same history, each step still seen at the same time of day.
//
// Candidates are pruned in two rounds, as in successive halving: all of
// them are validated at the latest pruneOrigins origins, and only the
// pruneKeep best there (and the seasonal naive, the baseline of the
// shrinkage) at the earlier ones. A candidate far behind after a few
// origins is rarely the best after all of them, and the combination
// averages the best three anyway: so twelve origins cost what eight did
// without pruning, and a short horizon's 24 origins half of it.
func validate(in *Input, raw []float64, cands []candidate, horizon, maxOrigins int) *validation {
	n := in.Len()
	minHist := minValidationPoints
	if len(in.Seasons) > 0 {
		minHist = max(minHist, in.Seasons[0].Period*2)
	}
	if minHist < n/2 {
		minHist = n / 2
	}
	h := horizon
	if n-minHist < h {
		h = n - minHist
	}
	v := &validation{h: h, failed: make([]bool, len(cands)), pruned: make([]bool, len(cands)), mae: make([]float64, len(cands))}
	if h < 1 {
		return v
	}
	// A short horizon (the daemon's half hour) validated at a few origins
	// sees only the last few hours: too few errors to estimate a tail, and
	// one burst among them inflates it for hours. Take more origins then,
	// up to a day's worth.
	origins := validationOrigins
	day := 0
	if len(in.Seasons) > 0 {
		day = in.Seasons[0].Period
	} else if in.Step > 0 {
		day = int(24 * time.Hour / in.Step)
	}
	if h*origins < day {
		origins = min(maxShortOrigins, (day+h-1)/h)
	}
	if maxOrigins > 0 {
		origins = min(origins, maxOrigins)
	}
	spacing := h
	if day > 0 && h >= 2*day {
		spacing = day
	}
	// Origins whose horizon saw no sample at all (a market's night or
	// weekend, an outage) judge nothing: skip them and look further back.
	for o := n - h; o >= minHist && len(v.origins) < origins; o -= spacing {
		if observedIn(raw[o : o+h]) {
			v.origins = append(v.origins, o)
		}
	}
	// Oldest first, so errors line up with time.
	sort.Ints(v.origins)
	for _, o := range v.origins {
		v.actual = append(v.actual, raw[o:o+h]...)
	}
	no := len(v.origins)
	v.fc = make([][]float64, len(cands))
	models := make([]Model, len(cands))
	for i, c := range cands {
		models[i] = c.model
		if t, ok := c.model.(tunable); ok && no > 1 {
			// Search the parameters once, on the history before the
			// earliest origin, and keep them at the later origins.
			models[i] = t.Tuned(in.Truncate(v.origins[0], h))
		}
		v.fc[i] = make([]float64, no*h)
		for t := range v.fc[i] {
			v.fc[i][t] = math.NaN()
		}
	}
	// fit validates candidate i at origins [from, to).
	fit := func(i, from, to int) {
		for j := from; j < to && !v.failed[i]; j++ {
			f, err := models[i].Fit(in.Truncate(v.origins[j], h))
			if err != nil || len(f.Mean) != h || !finite(f.Mean) {
				v.failed[i] = true
				break
			}
			copy(v.fc[i][j*h:], f.Mean)
		}
	}
	late := 0 // the first origin of the first round
	if no > pruneOrigins+1 && len(cands) > pruneKeep+1 {
		late = no - pruneOrigins
	}
	for i := range cands {
		fit(i, late, no)
	}
	if late > 0 {
		var alive []int
		for i := range cands {
			if !v.failed[i] {
				if v.mae[i] = mae(v.actual[late*h:], v.fc[i][late*h:]); !math.IsNaN(v.mae[i]) {
					alive = append(alive, i)
				}
			}
		}
		sort.SliceStable(alive, func(a, b int) bool { return v.mae[alive[a]] < v.mae[alive[b]] })
		keep := make([]bool, len(cands))
		keep[0] = true // the baseline
		for _, i := range alive[:min(len(alive), pruneKeep)] {
			keep[i] = true
		}
		for i := range cands {
			if keep[i] {
				fit(i, 0, late)
			} else {
				v.pruned[i] = true
			}
		}
	}
	for i := range cands {
		if !v.failed[i] && !v.pruned[i] {
			v.mae[i] = mae(v.actual, v.fc[i])
			if math.IsNaN(v.mae[i]) {
				v.failed[i] = true
			}
		}
	}
	return v
}

// heldOut returns honest errors of the whole selection, origin by origin:
// row j is the error at origin j of the forecast that choose would have
// made had origin j not been validated on (leave one origin out), so that
// it holds the chance of picking the wrong candidate too. The chosen
// candidate's own validation errors do not: it was picked for having
// erred least at exactly these origins, so its errors understate those it
// will make, and intervals calibrated on them cover less than they claim
// (on data not seen before, 77-80% for a 90% interval). Nil with fewer
// than three origins.
func (v *validation) heldOut(cands []candidate) [][]float64 {
	no := len(v.origins)
	if no < 3 {
		return nil
	}
	h := v.h
	out := make([][]float64, 0, no)
	for j := range no {
		sub := &validation{h: h, failed: v.failed, pruned: v.pruned, mae: make([]float64, len(cands)),
			origins: append(append([]int(nil), v.origins[:j]...), v.origins[j+1:]...)}
		cut := func(x []float64) []float64 {
			return append(append(make([]float64, 0, len(x)-h), x[:j*h]...), x[(j+1)*h:]...)
		}
		sub.actual = cut(v.actual)
		sub.fc = make([][]float64, len(cands))
		for i := range cands {
			if v.failed[i] || v.pruned[i] {
				continue
			}
			sub.fc[i] = cut(v.fc[i])
			sub.mae[i] = mae(sub.actual, sub.fc[i])
		}
		// A candidate with no error left to judge it by cannot be chosen.
		failed := append([]bool(nil), v.failed...)
		for i := range cands {
			if !failed[i] && !v.pruned[i] && math.IsNaN(sub.mae[i]) {
				failed[i] = true
			}
		}
		sub.failed = failed
		c, err := sub.choose(cands)
		if err != nil {
			return nil
		}
		row := make([]float64, h)
		for k := range row {
			var f float64
			for _, w := range c.weights {
				f += w.w * v.fc[w.i][j*h+k]
			}
			row[k] = v.actual[j*h+k] - f
		}
		out = append(out, row)
	}
	return out
}

// errors returns candidate i's validation errors, origin by origin.
func (v *validation) errors(i int) [][]float64 {
	if v.failed[i] || len(v.origins) == 0 {
		return nil
	}
	return v.errorsOf(v.fc[i])
}

func (v *validation) errorsOf(fc []float64) [][]float64 {
	out := make([][]float64, len(v.origins))
	for j := range v.origins {
		e := make([]float64, v.h)
		for k := range e {
			e[k] = v.actual[j*v.h+k] - fc[j*v.h+k]
		}
		out[j] = e
	}
	return out
}

type weight struct {
	i int
	w float64
}

type choice struct {
	name    string
	weights []weight
	mae     float64
	errs    [][]float64
	// shrunk says how the choice was shrunk toward the baseline, if it was.
	shrunk string
}

// maxCombined is how many of the best candidates the combination averages.
const maxCombined = 3

// choose picks the best single candidate or the inverse-squared-error
// weighted combination of the best few, whichever validated better.
func (v *validation) choose(cands []candidate) (choice, error) {
	var ok []int
	for i := range cands {
		if !v.failed[i] && !v.pruned[i] {
			ok = append(ok, i)
		}
	}
	if len(ok) == 0 {
		return choice{}, errors.New("no model could be fitted")
	}
	if len(v.origins) == 0 {
		// No validation: the simplest model that fits (candidates are
		// listed simplest first).
		return choice{name: cands[ok[0]].name, weights: []weight{{ok[0], 1}}, mae: math.NaN()}, nil
	}
	sort.SliceStable(ok, func(a, b int) bool { return v.mae[ok[a]] < v.mae[ok[b]] })
	best := choice{name: cands[ok[0]].name, weights: []weight{{ok[0], 1}}, mae: v.mae[ok[0]], errs: v.errors(ok[0])}
	top := ok[:min(len(ok), maxCombined)]
	if len(top) < 2 {
		return best, nil
	}
	var ws []weight
	var total float64
	for _, i := range top {
		w := 1 / math.Max(v.mae[i]*v.mae[i], 1e-300)
		ws = append(ws, weight{i, w})
		total += w
	}
	comb := make([]float64, len(v.actual))
	for k := range ws {
		ws[k].w /= total
		for t, x := range v.fc[ws[k].i] {
			comb[t] += ws[k].w * x
		}
	}
	if m := mae(v.actual, comb); m < best.mae {
		best = choice{name: "combination", weights: ws, mae: m, errs: v.errorsOf(comb)}
	}
	return v.shrink(cands, best, ok), nil
}

// Shrinkage toward the baseline. A candidate that validated better than
// the seasonal naive at a few origins often does worse afterwards: with
// eight origins, chance alone makes one of five candidates look better,
// and the best of five is picked for exactly that. So the gain of the
// choice over the seasonal naive (cands[0]) is tested origin by origin: d_j is the baseline's
// mean absolute error at origin j minus the choice's, and t the mean of d
// over its standard error. The forecast is the blend
//
//	(1 − λ)·choice + λ·baseline,  λ = shrinkMax · clamp(shrinkHigh − t, 0, 1)
//
// half baseline at t ≤ 1 (a gain within one standard error is noise), all
// choice at t ≥ 2, in between a blend that validated no worse than the
// worse of the two (absolute error is convex). The baseline never takes
// over entirely: the seasonal naive repeats one cycle's noise, and a test
// on eight origins has little power, so a choice that truly is better but
// erred on one odd day would be thrown away (on the shared traces, all
// baseline at t ≤ 1 cost NYC taxi 13% of MASE; half costs it 5%). With
// one origin there is no standard error: the choice stands. Without a season there is no
// shrinkage: the naive forecast (the last value, for a whole horizon) is
// no baseline worth shrinking toward.
const (
	shrinkLow  = 1.0
	shrinkHigh = 2.0
	shrinkMax  = 0.5
)

// shrink applies the shrinkage toward the baseline to the choice c; ok
// are the candidates that did not fail.
func (v *validation) shrink(cands []candidate, c choice, ok []int) choice {
	const b = 0
	if len(v.origins) < 2 || v.failed[b] || len(cands) < 2 || cands[b].name != "snaive" {
		return c
	}
	if len(c.weights) == 1 && c.weights[0].i == b {
		return c
	}
	fc := make([]float64, len(v.actual))
	for _, w := range c.weights {
		for t, x := range v.fc[w.i] {
			fc[t] += w.w * x
		}
	}
	var d []float64
	for j := range v.origins {
		lo, hi := j*v.h, (j+1)*v.h
		mb, mc := mae(v.actual[lo:hi], v.fc[b][lo:hi]), mae(v.actual[lo:hi], fc[lo:hi])
		if !math.IsNaN(mb) && !math.IsNaN(mc) {
			d = append(d, mb-mc)
		}
	}
	if len(d) < 2 {
		return c
	}
	mean, sd := stat.MeanStdDev(d, nil)
	se := sd / math.Sqrt(float64(len(d)))
	var t float64
	switch {
	case se > 0:
		t = mean / se
	case mean > 0:
		t = math.Inf(1)
	case mean < 0:
		t = math.Inf(-1)
	}
	lambda := shrinkMax * clamp((shrinkHigh-t)/(shrinkHigh-shrinkLow), 0, 1)
	if lambda == 0 {
		return c
	}
	if lambda == 1 {
		return choice{name: cands[b].name, weights: []weight{{b, 1}}, mae: v.mae[b], errs: v.errors(b),
			shrunk: fmt.Sprintf("%s's gain over %s within noise (t = %.2f): %s", c.name, cands[b].name, t, cands[b].name)}
	}
	ws := []weight{{b, lambda}}
	for _, w := range c.weights {
		if w.i == b {
			ws[0].w += (1 - lambda) * w.w
			continue
		}
		ws = append(ws, weight{w.i, (1 - lambda) * w.w})
	}
	blend := make([]float64, len(v.actual))
	for t := range blend {
		blend[t] = lambda*v.fc[b][t] + (1-lambda)*fc[t]
	}
	return choice{name: "combination", weights: ws, mae: mae(v.actual, blend), errs: v.errorsOf(blend),
		shrunk: fmt.Sprintf("%s shrunk toward %s ×%.2f (gain t = %.2f)", c.name, cands[b].name, lambda, t)}
}

func mae(actual, fc []float64) float64 {
	var s float64
	var n int
	for i, a := range actual {
		if math.IsNaN(a) {
			continue
		}
		s += math.Abs(a - fc[i])
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
