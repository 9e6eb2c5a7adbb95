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
	// Scores: "selection" (what Auto returns), each candidate model, and
	// "snaive-<season>" the baseline.
	Scores []Score `json:"scores"`
	// Notes explains dropped origins and fallbacks.
	Notes []string `json:"notes,omitempty"`
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

// Evaluate runs Auto at rolling origins on s, each time on the past only,
// and scores its forecasts, each candidate model's, and the seasonal naive
// baseline's against what followed.
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
	lo, hi := (1-opts.Coverage)/2, 1-(1-opts.Coverage)/2
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
	for _, o := range origins {
		hist := s.Slice(0, o)
		actual := s.Values[o : o+h]
		scale := naiveScale(hist.Values, base.Period)
		r, err := run(hist, Options{Horizon: h, Quantiles: []float64{lo, hi}, Location: opts.Location}, true)
		if err != nil {
			return nil, fmt.Errorf("origin %s: %w", hist.Time(o).Format(time.RFC3339), err)
		}
		ev.Origins = append(ev.Origins, s.Time(o))
		add("selection", r.final, actual, scale)
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
	return ev, nil
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
