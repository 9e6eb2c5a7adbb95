package forecast_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// shiftingSeries is hourly demand with a daily cycle whose level and noise
// change without warning every six days: ×2.5 with three times the noise,
// then back, and heavy-tailed (Student-t, 3 degrees of freedom) noise
// throughout. No model here foresees the shifts, and the
// tails are heavier than a few days of errors show.
func shiftingSeries(days int, seed uint64) forecast.Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	v := make([]float64, days*24)
	for i := range v {
		level, noise := 100.0, 6.0
		if (i/24/6)%2 == 1 {
			level, noise = 250, 18
		}
		// Student-t with 3 degrees of freedom.
		z := rng.NormFloat64()
		c := 0.0
		for range 3 {
			x := rng.NormFloat64()
			c += x * x
		}
		t3 := z / math.Sqrt(c/3)
		v[i] = math.Max(0, level*(1+0.5*math.Sin(2*math.Pi*float64(i%24)/24))+noise*t3)
	}
	return forecast.Series{Start: start, Step: time.Hour, Values: v}
}

// runOnline replays s as a daemon does: from day 8, a refit every hour of a
// 6-hour forecast, a fresh selection every day that inherits the online
// calibration (Options.Previous); or, with online false, Auto every hour,
// calibrated on its validation errors alone. It returns the share of actual values at
// or under each quantile, per horizon step, over the forecasts made from
// day from on, and the selection's own record.
func runOnline(t *testing.T, s forecast.Series, qs []float64, from int, online bool) (below [][]float64, sel *forecast.Selection) {
	t.Helper()
	const h = 6
	below = make([][]float64, len(qs))
	for i := range below {
		below[i] = make([]float64, h)
	}
	var n float64
	for o := 8 * 24; o+h <= s.Len(); o++ {
		hist := s.Slice(0, o)
		opts := forecast.Options{Horizon: h, Quantiles: qs}
		var f *forecast.Forecast
		var err error
		switch {
		case !online:
			f, err = forecast.Auto(hist, opts)
		case sel != nil && o%24 != 0:
			f, err = sel.Refit(hist, opts)
		default:
			opts.Previous = sel
			f, sel, err = forecast.Select(hist, opts)
		}
		if err != nil {
			t.Fatal(err)
		}
		if o < from*24 {
			continue
		}
		n++
		for i, q := range qs {
			for k := range h {
				if s.Values[o+k] <= f.Quantiles[q][k] {
					below[i][k]++
				}
			}
		}
	}
	for i := range below {
		for k := range below[i] {
			below[i][k] /= n
		}
	}
	return below, sel
}

// TestOnlineCalibrationConverges: through two level shifts and heavy tails,
// every quantile's long-run share of actual values at or under it lands
// within 1.5 points of its level at every horizon step, where calibrating on
// validation errors alone (Auto) misses by more (the test checks that too, so that it
// would fail if the online correction did nothing).
func TestOnlineCalibrationConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 70 days of hourly refits")
	}
	s := shiftingSeries(70, 1)
	qs := []float64{0.05, 0.5, 0.9, 0.95}
	const tol = 0.015
	got, sel := runOnline(t, s, qs, 10, true)
	without, _ := runOnline(t, s, qs, 10, false)
	worst := func(b [][]float64) float64 {
		var w float64
		for i, q := range qs {
			for _, x := range b[i] {
				w = math.Max(w, math.Abs(x-q))
			}
		}
		return w
	}
	for i, q := range qs {
		for k, x := range got[i] {
			if math.Abs(x-q) > tol {
				t.Errorf("quantile %.2f step %d: %.1f%% of actual values at or under it, want %.0f%% ± %.1f", q, k+1, 100*x, 100*q, 100*tol)
			}
		}
	}
	if w := worst(without); w <= tol {
		t.Errorf("calibrated on validation errors alone, the worst step is already off by only %.1f points: the test shows nothing", 100*w)
	}
	t.Logf("worst step off by %.1f points with online calibration, %.1f on validation errors alone", 100*worst(got), 100*worst(without))
	// The selection's own record agrees.
	for q, c := range sel.Coverage() {
		if math.Abs(c-q) > tol {
			t.Errorf("Selection.Coverage()[%v] = %.3f", q, c)
		}
	}
}
