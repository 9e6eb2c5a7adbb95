package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
)

// candidate is a model under a name unique within one selection.
type candidate struct {
	name  string
	model Model
}

// candidates returns the models competing for a series with these seasons.
// Every candidate must cope with a history cut at a validation origin.
func candidates(in *Input) []candidate {
	var out []candidate
	if len(in.Seasons) == 0 {
		out = append(out,
			candidate{"naive", SeasonalNaive{Season: -1}},
			candidate{"level", RecentLevel{}},
			candidate{"ets", ETS{Trend: TrendDamped, Seasonal: SeasonalNone, MaxEvaluations: 20}},
		)
		return out
	}
	last := len(in.Seasons) - 1
	out = append(out,
		candidate{"snaive", SeasonalNaive{Season: last}},
		candidate{"profile-" + in.Seasons[last].Name, SeasonalProfile{Season: last, Cycles: 6, Decay: 0.85, Smooth: smoothWidth(in), Level: 0.5}},
	)
	if last > 0 {
		out = append(out, candidate{"profile-" + in.Seasons[0].Name, SeasonalProfile{Season: 0, Cycles: 7, Decay: 0.85, Smooth: smoothWidth(in), Level: 0.5}})
	}
	out = append(out, candidate{"theta", Theta{Season: -1}}, candidate{"mstl", MSTL{}})
	// Swings that grow with the level: the same decomposition on the
	// Box-Cox scale, when Guerrero's method finds a transform at all.
	if in.NonNegative && guerrero(in.Values, in.Seasons[0].Period) < 1 {
		out = append(out, candidate{"mstl-boxcox", BoxCox{Model: MSTL{}}})
	}
	out = append(out, candidate{"ets", ETS{Trend: TrendNone, Seasonal: SeasonalAdditive, Season: -1, MaxEvaluations: 20}})
	if sessional(in) {
		out = append(out, candidate{"session", Session{}})
	}
	out = append(out, candidate{"harmonic", Harmonic{WeeklyTerms: 24, Level: 0.5}})
	if in.NonNegative {
		out = append(out, candidate{"harmonic-log", Harmonic{WeeklyTerms: 24, Log: true, Level: 0.5}})
	}
	return out
}

// tunable is a model with an expensive parameter search that can be done
// once and kept for refits on other cuts of the same series (ETS).
type tunable interface {
	Tuned(in *Input) Model
}

// smoothWidth is the half-width of the slot smoothing: about ten minutes of
// either side for sub-hourly data, none for hourly and coarser.
func smoothWidth(in *Input) int {
	if in.Step >= 30*time.Minute || in.Step <= 0 {
		return 0
	}
	w := int((10 * time.Minute) / in.Step)
	if w < 1 {
		w = 1
	}
	return w
}

// NewInput prepares s for the models: it finds the seasons (or takes the
// given ones), computes the local-time slots of the history and of h steps
// after it, and the caller's regressors. loc nil means UTC.
func NewInput(s Series, h int, loc *time.Location, seasons []Season, regressors func(time.Time) []float64) *Input {
	if loc == nil {
		loc = time.UTC
	}
	if seasons == nil {
		seasons = DetectSeasons(s)
	}
	in := &Input{Series: s, Horizon: h, Seasons: seasons, NonNegative: true, cache: &fitCache{}}
	for _, v := range s.Values {
		if v < 0 {
			in.NonNegative = false
			break
		}
	}
	in.Slots = slotTimes(s.Start, s.Step, s.Len()+h, loc, seasons)
	if regressors != nil {
		in.Regressors = make([][]float64, s.Len()+h)
		for i := range in.Regressors {
			in.Regressors[i] = regressors(s.Time(i))
		}
	}
	return in
}

// Auto fits every candidate model to s, weights or selects them by
// rolling-origin validation on the series' own recent history, and returns
// the forecast of the opts.Horizon steps after the last sample, with the
// requested quantiles calibrated on the out-of-sample errors of that
// validation.
func Auto(s Series, opts Options) (*Forecast, error) {
	opts.Previous = nil
	r, err := run(s, opts, false)
	if err != nil {
		return nil, err
	}
	return r.final, nil
}

// result is everything one run of the selection produced: the forecast,
// what was chosen (for refits) and, for evaluation, each candidate's own
// forecast with calibrated quantiles.
type result struct {
	final  *Forecast
	sel    *Selection
	models map[string]*Forecast
}

// Validation settings. A day-ahead forecast is judged on several whole
// days, so that each horizon step is seen at the same time of day.
const (
	validationOrigins = 8
	// maxShortOrigins bounds the origins of a short-horizon validation.
	maxShortOrigins = 24
	// minValidationPoints is the shortest history a validation fit sees.
	minValidationPoints = 16
)

func run(s Series, opts Options, allModels bool) (*result, error) {
	if opts.Horizon <= 0 {
		return nil, fmt.Errorf("horizon %d: must be at least 1", opts.Horizon)
	}
	for _, q := range opts.Quantiles {
		if !(q > 0 && q < 1) {
			return nil, fmt.Errorf("quantile %v: must be in (0, 1)", q)
		}
	}
	if s.Step <= 0 {
		return nil, errors.New("series has no step")
	}
	obs := s.Observed()
	if obs < 2 {
		return nil, fmt.Errorf("series has %d observed value(s): need at least 2", obs)
	}
	var notes []string
	in := NewInput(s, opts.Horizon, opts.Location, nil, opts.Regressors)
	if len(in.Seasons) == 0 {
		if c := candidateSeasons(s.Step); len(c) > 0 && s.Len() < 2*c[0].Period {
			notes = append(notes, fmt.Sprintf("history of %d steps is shorter than two %s cycles (%d): no seasonality, falling back to non-seasonal models",
				s.Len(), c[0].Name, 2*c[0].Period))
		} else {
			notes = append(notes, "no seasonality found in the data: non-seasonal models only")
		}
	} else if c := candidateSeasons(s.Step); len(c) > len(in.Seasons) && s.Len() < 2*c[len(c)-1].Period {
		notes = append(notes, fmt.Sprintf("history shorter than two %s cycles: %s seasonality only", c[len(c)-1].Name, in.Seasons[len(in.Seasons)-1].Name))
	}
	// The notes about the seasons hold for refits of the selection too.
	seasonNotes := append([]string(nil), notes...)
	clean, removed := cleanOutliers(in)
	if removed > 0 {
		notes = append(notes, fmt.Sprintf("%d outlier(s) ignored in fitting", removed))
	}
	fitIn := *in
	fitIn.Values = clean
	fitIn.Series.Values = clean

	cands := candidates(in)
	v := validate(&fitIn, s.Values, cands, opts.Horizon, opts.Origins)

	// The signal's online calibration, when a previous selection of it
	// is given, after scoring its forecasts that s now observes.
	var adapt *online
	if prev := opts.Previous; prev != nil {
		prev.score(s)
		adapt = prev.adapt
	}

	res := &result{models: map[string]*Forecast{}}
	start := s.Time(s.Len())
	mk := func(name, detail string, mean []float64, errs [][]float64, adapt *online) *Forecast {
		f := &Forecast{Model: name, Detail: detail, Start: start, Step: s.Step, Mean: mean, Seasons: in.Seasons}
		f.Quantiles = calibrate(mean, errs, opts.Quantiles, in.NonNegative, adapt)
		return f
	}
	// A single model with its own predictive distribution gives its own
	// quantiles (see Fit.Quantile).
	own := func(f *Forecast, fit Fit, adapt *online) *Forecast {
		if fit.Quantile != nil && len(opts.Quantiles) > 0 {
			f.Quantiles = ownQuantiles(fit, opts.Quantiles, adapt)
		}
		return f
	}

	// Fit on the whole history only what is used: the chosen model or the
	// combination's members (all of them when evaluating). A model that
	// validated but fails on the whole history is dropped and the choice
	// made again.
	finals := map[string]Fit{}
	finalModels := map[string]Model{}
	fitFinal := func(i int) bool {
		if _, ok := finals[cands[i].name]; ok {
			return true
		}
		// A tunable model searches its parameters on the whole history
		// and keeps them, so that Selection.Refit need not search again.
		m := cands[i].model
		if t, ok := m.(tunable); ok {
			m = t.Tuned(&fitIn)
		}
		finalModels[cands[i].name] = m
		f, err := m.Fit(&fitIn)
		if err != nil || len(f.Mean) != opts.Horizon || !finite(f.Mean) {
			v.failed[i] = true
			return false
		}
		finals[cands[i].name] = f
		return true
	}
	if allModels {
		for i, c := range cands {
			if fitFinal(i) {
				res.models[c.name] = own(mk(c.name, finals[c.name].Detail, finals[c.name].Mean, v.errors(i), nil), finals[c.name], nil)
			}
		}
	}
	var ch choice
	for {
		var err error
		if ch, err = v.choose(cands); err != nil {
			return nil, err
		}
		ok := true
		for _, w := range ch.weights {
			ok = fitFinal(w.i) && ok
		}
		if ok {
			break
		}
	}
	choice := ch
	mean := make([]float64, opts.Horizon)
	var parts []string
	for _, w := range choice.weights {
		f := finals[cands[w.i].name]
		for h := range mean {
			mean[h] += w.w * f.Mean[h]
		}
		parts = append(parts, fmt.Sprintf("%s×%.2f", cands[w.i].name, w.w))
	}
	if in.NonNegative {
		for h := range mean {
			mean[h] = math.Max(0, mean[h])
		}
	}
	name := choice.name
	detail := fmt.Sprintf("%s; validation MAE %.4g over %d origin(s) of %d steps", strings.Join(parts, " + "), choice.mae, len(v.origins), v.h)
	if choice.shrunk != "" {
		detail += "; " + choice.shrunk
	}
	if len(v.origins) == 0 {
		detail = "no validation possible on this history; " + strings.Join(parts, " + ")
		notes = append(notes, "history too short for rolling-origin validation: intervals from in-sample errors, wider than they need be")
	}
	errs := choice.errs
	if errs == nil {
		errs = naiveErrors(s.Values, opts.Horizon)
	}
	res.final = mk(name, detail, mean, errs, adapt)
	if len(choice.weights) == 1 {
		own(res.final, finals[cands[choice.weights[0].i].name], adapt)
	}
	res.final.Notes = notes
	res.sel = &Selection{name: name, seasons: in.Seasons, step: s.Step, notes: seasonNotes, detail: strings.Join(parts, " + ")}
	res.sel.setErrors(errs)
	res.sel.inherit(opts.Previous)
	if res.sel.adapt == nil {
		res.sel.adapt = newOnline()
	}
	for _, w := range choice.weights {
		res.sel.models = append(res.sel.models, finalModels[cands[w.i].name])
		res.sel.weights = append(res.sel.weights, w.w)
	}
	return res, nil
}

// ownQuantiles reads a model's own quantiles. With adapt, the quantile of
// level q at step k is read at adapt's working level for it (clamped to
// [0.001, 0.999]), as calibrate does with pooled errors.
func ownQuantiles(fit Fit, qs []float64, adapt *online) map[float64][]float64 {
	out := make(map[float64][]float64, len(qs))
	for _, q := range qs {
		base := fit.Quantile(q)
		vals := append([]float64(nil), base...)
		if adapt != nil {
			byLevel := map[float64][]float64{q: base}
			for k := range vals {
				l := min(0.999, max(0.001, adapt.level(q, k)))
				if _, ok := byLevel[l]; !ok {
					byLevel[l] = fit.Quantile(l)
				}
				vals[k] = byLevel[l][k]
			}
		}
		out[q] = vals
	}
	return out
}

func observedIn(x []float64) bool {
	for _, v := range x {
		if !math.IsNaN(v) {
			return true
		}
	}
	return false
}

func finite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// validation holds each candidate's out-of-sample forecasts at the origins.
type validation struct {
	origins []int
	h       int
	actual  []float64   // actual values, origin after origin (len origins*h)
	fc      [][]float64 // per candidate, laid out as actual
	failed  []bool
	mae     []float64
}

// validate refits every candidate at origins spaced one validation horizon
// apart at the end of the history, each on the past only, and scores it on
// the raw (uncleaned) values that followed: outliers do happen, and the
// intervals must know it.
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
	v := &validation{h: h, failed: make([]bool, len(cands)), mae: make([]float64, len(cands))}
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
	// Origins whose horizon saw no sample at all (a market's night or
	// weekend, an outage) judge nothing: skip them and look further back.
	for o := n - h; o >= minHist && len(v.origins) < origins; o -= h {
		if observedIn(raw[o : o+h]) {
			v.origins = append(v.origins, o)
		}
	}
	// Oldest first, so errors line up with time.
	sort.Ints(v.origins)
	for _, o := range v.origins {
		v.actual = append(v.actual, raw[o:o+h]...)
	}
	v.fc = make([][]float64, len(cands))
	for i, c := range cands {
		m := c.model
		if t, ok := m.(tunable); ok && len(v.origins) > 1 {
			// Search the parameters once, on the history before the
			// earliest origin, and keep them at the later origins.
			m = t.Tuned(in.Truncate(v.origins[0], h))
		}
		for _, o := range v.origins {
			f, err := m.Fit(in.Truncate(o, h))
			if err != nil || len(f.Mean) != h || !finite(f.Mean) {
				v.failed[i] = true
				break
			}
			v.fc[i] = append(v.fc[i], f.Mean...)
		}
		if !v.failed[i] {
			v.mae[i] = mae(v.actual, v.fc[i])
			if math.IsNaN(v.mae[i]) {
				v.failed[i] = true
			}
		}
	}
	return v
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
		if !v.failed[i] {
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

// naiveErrors stands in for validation errors on a history too short to
// validate on: row j holds, for each horizon step k, the error a naive
// forecast made k+1 steps ahead of the j-th last sample. It is pessimistic,
// which is the right side to err on with little data.
func naiveErrors(v []float64, h int) [][]float64 {
	const rows = 32
	var out [][]float64
	for j := 0; j < rows && j < len(v); j++ {
		t := len(v) - 1 - j
		row := make([]float64, h)
		any := false
		for k := range row {
			row[k] = math.NaN()
			if b := t - k - 1; b >= 0 && !math.IsNaN(v[t]) && !math.IsNaN(v[b]) {
				row[k] = v[t] - v[b]
				any = true
			}
		}
		if any {
			out = append(out, row)
		}
	}
	return out
}
