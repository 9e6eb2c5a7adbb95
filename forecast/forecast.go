package forecast

import (
	"time"
)

// Forecast is the result of fitting a series: point forecasts and quantiles
// for Horizon steps after the series' last grid point.
type Forecast struct {
	// Model names what produced Mean: a single model or "combination".
	Model string
	// Detail explains the choice (weights, fallbacks) in one line.
	Detail string
	// Notes carries warnings worth showing to a person, such as a fallback
	// to a simpler model on a short series.
	Notes []string
	// Start is the time of the first forecast step.
	Start time.Time
	Step  time.Duration
	Mean  []float64
	// Quantiles maps a probability level (0.1, 0.9, ...) to one value per step.
	Quantiles map[float64][]float64
	// Seasons found in the data and used by the models.
	Seasons []Season
}

// Len is the number of forecast steps.
func (f *Forecast) Len() int { return len(f.Mean) }

// Time returns the timestamp of forecast step i.
func (f *Forecast) Time(i int) time.Time { return f.Start.Add(time.Duration(i) * f.Step) }

// Options controls Auto. The zero value is usable: UTC, no quantiles.
type Options struct {
	// Horizon in steps; required.
	Horizon int
	// Quantiles to report, each in (0, 1).
	Quantiles []float64
	// Location for seasonal slots; nil means UTC.
	Location *time.Location
	// Regressors, if set, returns the caller's regressor values at time t
	// (holidays, events); every call must return the same number of values.
	Regressors func(t time.Time) []float64
	// Origins, when positive, bounds the rolling origins a selection
	// validates at (by default 12, and up to a day's worth for a short
	// horizon). Fewer origins select faster and estimate the tails from
	// fewer errors: the daemon's first selection after a start uses them so
	// that every target has a plan soon, then selects again in full.
	Origins int
	// Quick, when set, validates only the candidates that fit in one
	// pass with no parameter search (seasonal naive, profiles, Theta,
	// MSTL; not the harmonic regressions, exponential smoothing or the
	// Box-Cox decomposition, about four fifths of a short-horizon
	// selection's work): the daemon's first selection after a start,
	// which must give thousands of signals a plan at one tick, uses it
	// with fewer Origins and selects again in full soon after.
	Quick bool
	// Previous, when set, is the selection of the same signal that a
	// Select replaces: its online calibration of the quantiles (see
	// online) and its forecasts still awaiting their actual values carry
	// over, after scoring those that the series now observes. Without
	// it, a signal that is selected afresh every few hours would forget
	// its misses each time. The previous selection must not be used
	// afterwards. Auto ignores it.
	Previous *Selection
}
