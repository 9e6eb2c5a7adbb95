package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Selection is what one rolling-origin validation decided for a series: the
// seasons found, the chosen model or combination with its weights and
// tuned parameters, and the validation errors its intervals are calibrated
// on.
//
// Validation refits every candidate at every origin and dominates the cost
// of Auto. A daemon or a backtest that refits every few minutes on a
// history that grows by a few samples gains little from validating again
// each time: the best model of an hour ago is still the best model. It
// keeps the Selection from Select and calls Refit, which fits only the
// chosen models on the newer history and reuses the calibration, and it
// selects afresh every few hours (see Age). Refit also scores its earlier
// forecasts as their actual values arrive and calibrates later intervals on
// those errors too, so a Selection is stateful and not safe for concurrent
// use.
type Selection struct {
	name    string
	detail  string
	seasons []Season
	step    time.Duration
	models  []Model
	weights []float64
	// errs are the calibration errors, row after row of hv steps (NaN:
	// not observed), in float32: a daemon keeps one Selection per
	// forecast signal, tens of thousands of them.
	errs  []float32
	hv    int
	notes []string
	// end is the time after the last sample of the history selected on.
	end time.Time
	// pending are refitted forecasts not yet fully observed; once they
	// are, their errors join errs and their misses correct adapt (see
	// score).
	pending []*Forecast
	// adapt corrects the quantiles online from their misses (see
	// online); it carries over to the selection that replaces this one.
	adapt *online
}

// maxErrorRows bounds the calibration errors a selection keeps: the
// validation's, then those of its own refits, newest last. At one refit
// every 15 minutes, 96 rows are the last day's forecasts.
const maxErrorRows = 96

// Select is Auto that also returns the Selection behind its forecast.
func Select(s Series, opts Options) (*Forecast, *Selection, error) {
	r, err := run(s, opts, false)
	if err != nil {
		return nil, nil, err
	}
	r.sel.end = s.Time(s.Len())
	r.sel.track(r.final)
	return r.final, r.sel, nil
}

// track keeps f to be scored once its actual values arrive.
func (sel *Selection) track(f *Forecast) {
	if sel.hv > 0 || len(f.Quantiles) > 0 {
		sel.pending = append(sel.pending, f)
	}
}

// inherit carries what prev learnt online into sel, after scoring prev's
// pending forecasts on s: the quantiles' online corrections, and the
// forecasts not yet observed in full.
func (sel *Selection) inherit(prev *Selection) {
	if prev == nil {
		return
	}
	if prev.adapt != nil {
		sel.adapt = prev.adapt
	}
	sel.pending = append(prev.pending[:0:0], prev.pending...)
}

// Model names the selection: a single model's name or "combination".
func (sel *Selection) Model() string { return sel.name }

// Age is how much newer than the selection's history a series ending at
// end is.
func (sel *Selection) Age(end time.Time) time.Duration { return end.Sub(sel.end) }

// Refit fits the selected models on s, which should be the same series as
// the one selected on, grown by newer samples (and possibly cut at its
// start), and returns their forecast with quantiles calibrated on the
// selection's validation errors. It fails, and the caller should Select
// again, when s's step differs or a model no longer fits.
func (sel *Selection) Refit(s Series, opts Options) (*Forecast, error) {
	if opts.Horizon <= 0 {
		return nil, fmt.Errorf("horizon %d: must be at least 1", opts.Horizon)
	}
	if s.Step != sel.step {
		return nil, fmt.Errorf("refit: step %v differs from the selection's %v", s.Step, sel.step)
	}
	if s.Observed() < 2 {
		return nil, errors.New("refit: fewer than 2 observed values")
	}
	sel.score(s)
	in := NewInput(s, opts.Horizon, opts.Location, sel.seasons, opts.Regressors)
	clean, removed := cleanOutliers(in)
	fitIn := *in
	fitIn.Values = clean
	fitIn.Series.Values = clean
	mean := make([]float64, opts.Horizon)
	var single Fit
	for k, m := range sel.models {
		f, err := m.Fit(&fitIn)
		single = f
		if err != nil {
			return nil, fmt.Errorf("refit %s: %w", m.Name(), err)
		}
		if len(f.Mean) != opts.Horizon || !finite(f.Mean) {
			return nil, fmt.Errorf("refit %s: forecast is not finite", m.Name())
		}
		for h := range mean {
			mean[h] += sel.weights[k] * f.Mean[h]
		}
	}
	if in.NonNegative {
		for h := range mean {
			mean[h] = math.Max(0, mean[h])
		}
	}
	f := &Forecast{
		Model:   sel.name,
		Detail:  fmt.Sprintf("%s; refitted, selected %s earlier", sel.detail, sel.Age(s.Time(s.Len())).Round(time.Second)),
		Start:   s.Time(s.Len()),
		Step:    s.Step,
		Mean:    mean,
		Seasons: sel.seasons,
	}
	f.Quantiles = calibrate(mean, sel.errorRows(), opts.Quantiles, in.NonNegative, sel.adapt)
	if len(sel.models) == 1 && single.Quantile != nil && len(opts.Quantiles) > 0 {
		f.Quantiles = ownQuantiles(single, opts.Quantiles, sel.adapt)
	}
	f.Notes = append(f.Notes, sel.notes...)
	if removed > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%d outlier(s) ignored in fitting", removed))
	}
	sel.track(f)
	return f, nil
}

// Coverage reports, per quantile level, the share of actual values that
// came in at or under the quantiles of this signal's forecasts (those of
// this selection and of the selections it replaced, see
// Options.Previous), as scored so far. With online calibration it
// converges to the level; a level that was never scored is absent.
func (sel *Selection) Coverage() map[float64]float64 { return sel.adapt.coverage() }

// score moves the forecasts that s now observes in full from pending to
// the calibration errors (over the validated horizon), dropping the oldest
// errors beyond maxErrorRows, and corrects the quantiles online from their
// misses (see online). The intervals of later refits are so calibrated on
// the errors of the very forecasts the caller acted on, out of sample,
// over a day rather than over the few hours a short-horizon validation
// spans; and one burst weighs little among a day of errors.
func (sel *Selection) score(s Series) {
	hv := sel.hv
	end := s.Time(s.Len())
	kept := sel.pending[:0]
	for _, f := range sel.pending {
		if f.Step != s.Step {
			continue
		}
		if f.Time(f.Len()).After(end) {
			kept = append(kept, f)
			continue
		}
		actual := make([]float64, f.Len())
		any := false
		for k := range actual {
			actual[k] = math.NaN()
			i := int(f.Time(k).Sub(s.Start) / s.Step)
			if i >= 0 && i < s.Len() && !math.IsNaN(s.Values[i]) {
				actual[k] = s.Values[i]
				any = true
			}
		}
		if !any {
			continue
		}
		if sel.adapt != nil {
			sel.adapt.observe(f, actual)
		}
		if hv == 0 {
			continue
		}
		row := make([]float32, hv)
		for k := range row {
			row[k] = float32(math.NaN())
			if k < len(actual) && !math.IsNaN(actual[k]) {
				row[k] = float32(actual[k] - f.Mean[k])
			}
		}
		sel.errs = append(sel.errs, row...)
	}
	clear(sel.pending[len(kept):])
	sel.pending = kept
	if hv == 0 {
		return
	}
	if n := len(sel.errs) / hv; n > maxErrorRows {
		sel.errs = append(sel.errs[:0:0], sel.errs[(n-maxErrorRows)*hv:]...)
	}
}

// errorRows returns the calibration errors as calibrate takes them.
func (sel *Selection) errorRows() [][]float64 {
	if sel.hv == 0 {
		return nil
	}
	out := make([][]float64, len(sel.errs)/sel.hv)
	for j := range out {
		row := make([]float64, sel.hv)
		for k := range row {
			row[k] = float64(sel.errs[j*sel.hv+k])
		}
		out[j] = row
	}
	return out
}

// setErrors keeps errs (rows of equal length) as the calibration errors.
func (sel *Selection) setErrors(errs [][]float64) {
	sel.errs, sel.hv = nil, 0
	if len(errs) == 0 || len(errs[0]) == 0 {
		return
	}
	sel.hv = len(errs[0])
	sel.errs = make([]float32, 0, len(errs)*sel.hv)
	for _, row := range errs {
		for k := range sel.hv {
			v := math.NaN()
			if k < len(row) {
				v = row[k]
			}
			sel.errs = append(sel.errs, float32(v))
		}
	}
}
