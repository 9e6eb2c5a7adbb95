package forecast

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// candidate is a model under a name unique within one selection.
type candidate struct {
	name  string
	model Model
}

// candidates returns the models competing for a series with these seasons;
// with quick, only those that fit in one pass with no parameter search
// (see Options.Quick). Every candidate must cope with a history cut at a
// validation origin.
func candidates(in *Input, quick bool) []candidate {
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
	if sessional(in) {
		// Load that runs in sessions (a market's hours) is forecast by
		// the models that know the session's shape bar by bar: the
		// session model and the seasonal naive (the baseline, and a
		// fallback). The others see a series with gaps, and their
		// smoothed or continuous shapes miss the close's spike: on QQQ's
		// 5-minute volume, validation at the daemon's short horizons
		// chose blends with them in half the refits, and those put the
		// median of the session's last two bars 32% under the realised
		// volume (geometric mean), the session model alone 3% over; 46%
		// of those bars were above the blends' p90, 12% above the
		// session model's.
		return []candidate{{"snaive", SeasonalNaive{Season: last}}, {"session", Session{}}}
	}
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
	if !quick && in.NonNegative && guerrero(in.Values, in.Seasons[0].Period) < 1 {
		out = append(out, candidate{"mstl-boxcox", BoxCox{Model: MSTL{}}})
	}
	if !quick {
		out = append(out, candidate{"ets", ETS{Trend: TrendNone, Seasonal: SeasonalAdditive, Season: -1, MaxEvaluations: 20}})
	}
	if quick {
		return out
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

	cands := candidates(in, opts.Quick)
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
	if opts.Quick {
		detail += fmt.Sprintf("; quick selection among %d candidates", len(cands))
	}
	if len(v.origins) == 0 {
		detail = "no validation possible on this history; " + strings.Join(parts, " + ")
		notes = append(notes, "history too short for rolling-origin validation: intervals from in-sample errors, wider than they need be")
	}
	// The intervals are calibrated on the errors of the selection itself,
	// each origin held out of the choice that forecast it (see heldOut).
	errs := choice.errs
	if ho := v.heldOut(cands); ho != nil {
		errs = ho
	}
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
