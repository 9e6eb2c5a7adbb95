package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// EvalOptions controls Evaluate.
type EvalOptions struct {
	// Horizon in steps of each forecast.
	Horizon int
	// Origins is how many forecast origins to evaluate, one horizon apart,
	// ending at the last point that leaves a full horizon of actuals.
	Origins int
	// Coverage is the nominal central interval checked, e.g. 0.9 for the
	// 5% to 95% quantiles.
	Coverage float64
	// Location for seasonal slots; nil means UTC.
	Location *time.Location
	// Levels are the quantile levels whose calibration is reported for
	// the selection (the share of actuals at or under each quantile); nil
	// means DefaultLevels. The central interval's two ends are added.
	Levels []float64
	// Independent forecasts every origin as Auto does, on its own. By
	// default the selection at each origin inherits the online
	// calibration of the one before (Options.Previous), scored on the
	// actual values that followed it, as a daemon that selects afresh
	// now and then does.
	Independent bool
	// Blocks is how many blocks of consecutive horizon steps the
	// calibration is also reported for; 0 means 4 (or the horizon, if
	// shorter).
	Blocks int
}

// DefaultLevels are the quantile levels Evaluate scores by default: both
// ends of the 80% and 90% intervals, the median, and the 80% quantile.
var DefaultLevels = []float64{0.05, 0.1, 0.5, 0.8, 0.9, 0.95}

// LevelCoverage is how a quantile level of the selection held: the share
// of actual values at or under its quantile, over all steps and per block
// of horizon steps. A calibrated 0.9 quantile has 0.9 of the actuals at or
// under it.
type LevelCoverage struct {
	Level float64 `json:"level"`
	// Below is the share of actual values at or under the quantile.
	Below float64 `json:"below"`
	// Under is the share of actual values strictly under the quantile.
	// It differs from Below where actual values tie with the quantile
	// (counts of zero under a quantile clipped at zero): a calibrated
	// quantile of a series with ties has Under ≤ Level ≤ Below.
	Under float64 `json:"under"`
	// Blocks holds Below per block of horizon steps (Evaluation.Blocks).
	Blocks []float64 `json:"blocks"`
}

// StepBlock is a block of horizon steps, 1-based and inclusive.
type StepBlock struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Score is one method's accuracy over all evaluated origins.
type Score struct {
	Model string `json:"model"`
	// SMAPE is the symmetric mean absolute percentage error, in percent.
	SMAPE float64 `json:"smape"`
	// MASE is the mean absolute error scaled by the in-sample mean absolute
	// error of the seasonal naive forecast at the baseline season, averaged
	// over origins.
	MASE float64 `json:"mase"`
	// Coverage is the fraction of actuals inside the central interval.
	Coverage float64 `json:"coverage"`
	// Origins is how many origins the model could forecast from.
	Origins int `json:"origins"`
}

// Evaluation is the result of a rolling-origin evaluation.
type Evaluation struct {
	Horizon int `json:"horizon"`
	// Baseline is the season of the seasonal naive used for scaling MASE:
	// the longest season the history at the first origin supports.
	Baseline Season      `json:"baseline"`
	Origins  []time.Time `json:"origins"`
	Coverage float64     `json:"nominal_coverage"`
	// Scores: "selection" (what Auto returns), each candidate model,
	// "snaive-<season>" the baseline and, when the baseline's season is
	// not the shortest, the seasonal naive at the shortest season.
	Scores []Score `json:"scores"`
	// Notes explains dropped origins and fallbacks.
	Notes []string `json:"notes,omitempty"`
	// Blocks are the blocks of horizon steps the calibration is reported
	// for.
	Blocks []StepBlock `json:"blocks"`
	// Calibration reports, per quantile level, how the selection's
	// quantiles held (see LevelCoverage), lowest level first.
	Calibration []LevelCoverage `json:"calibration"`
	// IntervalBlocks is the selection's central interval coverage per
	// block.
	IntervalBlocks []float64 `json:"interval_blocks"`
	// M4 compares the selection with the M4 competition's Naive2, nil
	// when Naive2 could forecast no origin.
	M4 *M4Score `json:"m4,omitempty"`
}

// M4Score is the selection against Naive2 as the M4 competition scored
// methods: sMAPE, MASE scaled by the in-sample seasonal naive at Naive2's
// period m (M4's; Score.MASE uses the evaluation's baseline season), and
// OWA = ½ sMAPE/sMAPE(Naive2) + ½ MASE/MASE(Naive2), here over the origins
// of one series (M4 took the means over its series first). Below 1 is
// better than Naive2 (M4's winner scored 0.821 over all its series).
type M4Score struct {
	// Period is m: a day of steps for sub-daily data (M4's hourly
	// frequency is 24), 1 otherwise.
	Period int `json:"period"`
	// SeasonalOrigins counts the origins at which Naive2's seasonality
	// test found the season (it adjusts for it there only).
	SeasonalOrigins int     `json:"naive2_seasonal_origins"`
	Origins         int     `json:"origins"`
	SMAPE           float64 `json:"smape"`
	MASE            float64 `json:"mase"`
	Naive2SMAPE     float64 `json:"naive2_smape"`
	Naive2MASE      float64 `json:"naive2_mase"`
	OWA             float64 `json:"owa"`
}

// naive2Period is the period M4's Naive2 uses for a series of this step:
// a day's steps for a step that divides a day (hourly: 24, M4's), else 1
// (M4's daily and weekly series have frequency 1).
func naive2Period(step time.Duration) int {
	if step <= 0 || step >= 24*time.Hour || (24*time.Hour)%step != 0 {
		return 1
	}
	return int(24 * time.Hour / step)
}

// Score returns the named score, or false.
func (e *Evaluation) Score(model string) (Score, bool) {
	for _, s := range e.Scores {
		if s.Model == model {
			return s, true
		}
	}
	return Score{}, false
}

// BaselineName is the model name of the seasonal naive baseline.
func (e *Evaluation) BaselineName() string { return "snaive-" + e.Baseline.Name }

// Evaluate runs the selection at rolling origins on s, each time on the
// past only, and scores its forecasts, each candidate model's, and the
// seasonal naive baseline's against what followed. Unless
// opts.Independent, the selection at each origin carries the online
// calibration of its quantiles over from the origin before, as a daemon's
// does (see Options.Previous); candidates and baseline never do.
func Evaluate(s Series, opts EvalOptions) (*Evaluation, error) {
	h := opts.Horizon
	if h <= 0 {
		return nil, fmt.Errorf("horizon %d: must be at least 1", h)
	}
	if opts.Origins <= 0 {
		return nil, fmt.Errorf("origins %d: must be at least 1", opts.Origins)
	}
	if opts.Coverage <= 0 || opts.Coverage >= 1 {
		opts.Coverage = 0.9
	}
	// Rounded, so that the 90% interval's ends are the levels 0.05 and
	// 0.95 themselves (1-0.9 is not 0.1 in floating point).
	lo := math.Round((1-opts.Coverage)/2*1e9) / 1e9
	hi := math.Round((1-lo)*1e9) / 1e9
	n := s.Len()
	ev := &Evaluation{Horizon: h, Coverage: opts.Coverage}
	var origins []int
	for j := 0; j < opts.Origins; j++ {
		o := n - h - j*h
		if o < 2 {
			break
		}
		origins = append(origins, o)
	}
	sort.Ints(origins)
	if len(origins) == 0 {
		return nil, fmt.Errorf("%d points leave no room for an origin with a %d-step horizon", n, h)
	}
	// The baseline season: the longest the earliest history supports.
	// Origins with too little history for it are dropped, so every origin
	// is judged against the same baseline.
	base, ok := LongestSupportedSeason(s.Slice(0, origins[0]))
	if !ok {
		// Too short at the first origin: move it later.
		for len(origins) > 0 {
			if base, ok = LongestSupportedSeason(s.Slice(0, origins[0])); ok {
				break
			}
			origins = origins[1:]
		}
	}
	if !ok {
		base = Season{Name: "step", Period: 1}
		ev.Notes = append(ev.Notes, "no season fits twice in the history: MASE is scaled by the naive (previous value) forecast")
	}
	if len(origins) < opts.Origins {
		ev.Notes = append(ev.Notes, fmt.Sprintf("%d of %d origins fit in the history", len(origins), opts.Origins))
	}
	ev.Baseline = base
	// The seasonal naive at the shortest season too, when the baseline's
	// is longer: benchmarks such as M4's hourly one compare with the daily
	// seasonal naive.
	var short Season
	if ss := candidateSeasons(s.Step); ok && len(ss) > 0 && ss[0].Period < base.Period {
		short = ss[0]
	}
	type acc struct {
		smape, mase, cover float64
		nS, nC             int
		origins            int
		mases              []float64
	}
	accs := map[string]*acc{}
	order := []string{}
	add := func(name string, f *Forecast, actual []float64, scale float64) {
		a := accs[name]
		if a == nil {
			a = &acc{}
			accs[name] = a
			order = append(order, name)
		}
		a.origins++
		var ae float64
		var m int
		for k, y := range actual {
			if math.IsNaN(y) {
				continue
			}
			p := f.Mean[k]
			ae += math.Abs(y - p)
			m++
			if d := math.Abs(y) + math.Abs(p); d > 0 {
				a.smape += 200 * math.Abs(y-p) / d
			}
			a.nS++
			if f.Quantiles != nil {
				if y >= f.Quantiles[lo][k] && y <= f.Quantiles[hi][k] {
					a.cover++
				}
				a.nC++
			}
		}
		if m > 0 && scale > 0 {
			a.mases = append(a.mases, ae/float64(m)/scale)
		}
	}
	levels := evalLevels(opts.Levels, lo, hi)
	nb := opts.Blocks
	if nb <= 0 {
		nb = 4
	}
	nb = min(nb, h)
	for b := range nb {
		ev.Blocks = append(ev.Blocks, StepBlock{From: b*h/nb + 1, To: (b + 1) * h / nb})
	}
	// below[l][b] counts the actuals at or under level l's quantile in
	// block b, of n[b]; in[b] those inside the central interval.
	below := make([][]float64, len(levels))
	under := make([]float64, len(levels))
	for l := range below {
		below[l] = make([]float64, nb)
	}
	inside, nBlock := make([]float64, nb), make([]float64, nb)
	calib := func(f *Forecast, actual []float64) {
		for k, y := range actual {
			if math.IsNaN(y) || f.Quantiles == nil {
				continue
			}
			b := k * nb / h
			nBlock[b]++
			for l, q := range levels {
				if y <= f.Quantiles[q][k] {
					below[l][b]++
					if y < f.Quantiles[q][k] {
						under[l]++
					}
				}
			}
			if y >= f.Quantiles[lo][k] && y <= f.Quantiles[hi][k] {
				inside[b]++
			}
		}
	}
	// M4's scores of the selection and Naive2: MASE at Naive2's period.
	m4 := &M4Score{Period: naive2Period(s.Step)}
	var selM4, n2M4 []float64
	maseAt := func(mean, actual []float64, scale float64) float64 {
		var ae float64
		var m int
		for k, y := range actual {
			if !math.IsNaN(y) {
				ae += math.Abs(y - mean[k])
				m++
			}
		}
		if m == 0 || !(scale > 0) {
			return math.NaN()
		}
		return ae / float64(m) / scale
	}
	var prev *Selection
	for _, o := range origins {
		hist := s.Slice(0, o)
		actual := s.Values[o : o+h]
		scale := naiveScale(hist.Values, base.Period)
		r, err := run(hist, Options{Horizon: h, Quantiles: levels, Location: opts.Location, Previous: prev}, true)
		if err != nil {
			return nil, fmt.Errorf("origin %s: %w", hist.Time(o).Format(time.RFC3339), err)
		}
		if !opts.Independent {
			r.sel.track(r.final)
			prev = r.sel
		}
		ev.Origins = append(ev.Origins, s.Time(o))
		add("selection", r.final, actual, scale)
		calib(r.final, actual)
		names := make([]string, 0, len(r.models))
		for name := range r.models {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			add(name, r.models[name], actual, scale)
		}
		bl, err := baselineForecast(hist, base, h, opts.Location)
		if err == nil {
			add(ev.BaselineName(), bl, actual, scale)
		}
		if short.Period > 0 {
			if bl, err := baselineForecast(hist, short, h, opts.Location); err == nil {
				add("snaive-"+short.Name, bl, actual, scale)
			}
		}
		if mean, seasonal, err := Naive2(hist.Values, m4.Period, h); err == nil {
			add("naive2", &Forecast{Model: "naive2", Mean: mean}, actual, scale)
			m4scale := naiveScale(hist.Values, m4.Period)
			if a, b := maseAt(r.final.Mean, actual, m4scale), maseAt(mean, actual, m4scale); !math.IsNaN(a) && !math.IsNaN(b) {
				selM4, n2M4 = append(selM4, a), append(n2M4, b)
			}
			m4.Origins++
			if seasonal {
				m4.SeasonalOrigins++
			}
		}
	}
	for _, name := range order {
		a := accs[name]
		sc := Score{Model: name, Origins: a.origins, SMAPE: math.NaN(), MASE: math.NaN(), Coverage: math.NaN()}
		if a.nS > 0 {
			sc.SMAPE = a.smape / float64(a.nS)
		}
		if len(a.mases) > 0 {
			var t float64
			for _, x := range a.mases {
				t += x
			}
			sc.MASE = t / float64(len(a.mases))
		}
		if a.nC > 0 {
			sc.Coverage = a.cover / float64(a.nC)
		}
		ev.Scores = append(ev.Scores, sc)
	}
	var all float64
	for _, x := range nBlock {
		all += x
	}
	share := func(k, n float64) float64 {
		if n == 0 {
			return math.NaN()
		}
		return k / n
	}
	for l, q := range levels {
		lc := LevelCoverage{Level: q}
		var t float64
		for b := range nb {
			t += below[l][b]
			lc.Blocks = append(lc.Blocks, share(below[l][b], nBlock[b]))
		}
		lc.Below = share(t, all)
		lc.Under = share(under[l], all)
		ev.Calibration = append(ev.Calibration, lc)
	}
	for b := range nb {
		ev.IntervalBlocks = append(ev.IntervalBlocks, share(inside[b], nBlock[b]))
	}
	if m4.Origins > 0 {
		sel, _ := ev.Score("selection")
		n2, _ := ev.Score("naive2")
		m4.SMAPE, m4.Naive2SMAPE = sel.SMAPE, n2.SMAPE
		m4.MASE, m4.Naive2MASE = meanOf(selM4), meanOf(n2M4)
		m4.OWA = (m4.SMAPE/m4.Naive2SMAPE + m4.MASE/m4.Naive2MASE) / 2
		ev.M4 = m4
	}
	return ev, nil
}

// evalLevels is levels (or DefaultLevels) with lo and hi added, sorted,
// without duplicates.
func evalLevels(levels []float64, lo, hi float64) []float64 {
	if levels == nil {
		levels = DefaultLevels
	}
	seen := map[float64]bool{}
	var out []float64
	for _, q := range append(append([]float64(nil), levels...), lo, hi) {
		if q > 0 && q < 1 && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	sort.Float64s(out)
	return out
}

// baselineForecast is the seasonal naive at the given season, with no
// interval (the baseline is judged on its point forecast).
func baselineForecast(hist Series, base Season, h int, loc *time.Location) (*Forecast, error) {
	in := NewInput(hist, h, loc, []Season{base}, nil)
	f, err := SeasonalNaive{Season: 0}.Fit(in)
	if err != nil {
		return nil, err
	}
	return &Forecast{Model: "snaive", Mean: f.Mean}, nil
}

// naiveScale is the in-sample mean absolute error of the seasonal naive
// forecast with the given period: MASE's denominator.
func naiveScale(v []float64, period int) float64 {
	var s float64
	var n int
	for i := period; i < len(v); i++ {
		a, b := v[i], v[i-period]
		if math.IsNaN(a) || math.IsNaN(b) {
			continue
		}
		s += math.Abs(a - b)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// meanOf is the mean of xs, NaN when empty.
func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var t float64
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}
