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
// selects afresh every few hours (see Stale).
type Selection struct {
	name    string
	detail  string
	seasons []Season
	step    time.Duration
	models  []Model
	weights []float64
	errs    [][]float64
	notes   []string
	// end is the time after the last sample of the history selected on.
	end time.Time
}

// Select is Auto that also returns the Selection behind its forecast.
func Select(s Series, opts Options) (*Forecast, *Selection, error) {
	r, err := run(s, opts, false)
	if err != nil {
		return nil, nil, err
	}
	r.sel.end = s.Time(s.Len())
	return r.final, r.sel, nil
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
	in := NewInput(s, opts.Horizon, opts.Location, sel.seasons, opts.Regressors)
	clean, removed := cleanOutliers(in)
	fitIn := *in
	fitIn.Values = clean
	fitIn.Series.Values = clean
	mean := make([]float64, opts.Horizon)
	for k, m := range sel.models {
		f, err := m.Fit(&fitIn)
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
	f.Quantiles = calibrate(mean, sel.errs, opts.Quantiles, in.NonNegative)
	f.Notes = append(f.Notes, sel.notes...)
	if removed > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("%d outlier(s) ignored in fitting", removed))
	}
	return f, nil
}
