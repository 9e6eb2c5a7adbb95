package forecast

import (
	"fmt"
	"math"
)

// MSTL forecasts in the manner of MSTL (Bandara, Hyndman and Bergmeir,
// "MSTL: a seasonal-trend decomposition algorithm for time series with
// multiple seasonal patterns", 2021): it takes every season of the series
// (a day and a week) out in turn, forecasts what is left, the seasonally
// adjusted series, with exponential smoothing, and adds the seasonal
// components back at the forecast's slots.
//
// The decomposition follows MSTL's iteration with simpler smoothers than
// STL's loess, which need no tuning: for each season, shortest first, the
// series less the other seasons' components is detrended by a centred
// moving average over one cycle, and the component of a local-time slot is
// the recency-weighted mean of that detrended series at the slot over the
// last Cycles cycles, centred to sum to zero over the cycle. Two passes
// over the seasons let the daily and weekly components settle each other.
//
// The adjusted series is forecast by additive exponential smoothing with
// an optional damped trend, ETS(A,N,N) or ETS(A,Ad,N), its parameters
// chosen on a small grid by the one-step squared error; the seasonal
// components are carried forward, as MSTL's seasonal naive of each
// component does.
type MSTL struct {
	// Cycles is how many of the last cycles each component averages
	// (default 5).
	Cycles int
	// Decay is the weight of each older cycle relative to the next newer
	// one (default 0.85).
	Decay float64
}

// Name implements Model.
func (m MSTL) Name() string { return "mstl" }

// Fit implements Model.
func (m MSTL) Fit(in *Input) (Fit, error) {
	n := in.Len()
	if len(in.Seasons) == 0 {
		return Fit{}, fmt.Errorf("mstl: series has no season")
	}
	if in.Seasons[0].Period < 2 || n < 2*in.Seasons[0].Period {
		return Fit{}, fmt.Errorf("mstl: %d points, less than two %s cycles", n, in.Seasons[0].Name)
	}
	cycles := m.Cycles
	if cycles <= 0 {
		cycles = 5
	}
	decay := m.Decay
	if decay <= 0 || decay > 1 {
		decay = 0.85
	}
	y := in.Values
	comps := make([][]float64, len(in.Seasons)) // per season, per slot
	// Scratch: the series less the other components, and
	// seasonalComponent's prefix sums (validation fits a dozen origins).
	sp, scratch := getScratch(3*n + 2)
	defer putScratch(sp)
	rest, buf := scratch[:n], scratch[n:]
	for pass := 0; pass < 2; pass++ {
		for k, s := range in.Seasons {
			if n < 2*s.Period {
				continue
			}
			// The series less the other components, where
			// seasonalComponent reads it (the last cycles only).
			for i := componentStart(n, s.Period, cycles); i < n; i++ {
				v := y[i]
				rest[i] = v
				if math.IsNaN(v) {
					continue
				}
				for j, c := range comps {
					if j != k && c != nil {
						rest[i] -= c[in.Slots[j][i]]
					}
				}
			}
			comps[k] = seasonalComponent(rest, in.Slots[k], s.Period, cycles, decay, buf)
		}
	}
	// The adjusted series, where the smoothing below sees it.
	adj := rest
	win := max(0, n-max(etsWindowCycles*in.Seasons[0].Period, etsWindowMin))
	for i := win; i < n; i++ {
		v := y[i]
		adj[i] = v
		if math.IsNaN(v) {
			continue
		}
		for j, c := range comps {
			if c != nil {
				adj[i] -= c[in.Slots[j][i]]
			}
		}
	}
	// The level and trend of the last weeks are what the forecast
	// needs; fitting on the whole history costs time and gains nothing.
	p, ok := fitAdditiveETS(adj[win:])
	if !ok {
		return Fit{}, fmt.Errorf("mstl: no observed values")
	}
	mean := make([]float64, in.Horizon)
	// The damped trend's forecast: l + (φ + φ² + … + φ^h)·b.
	var damp, pow float64 = 0, 1
	for h := range mean {
		pow *= p.phi
		damp += pow
		f := p.l + damp*p.b
		for j, c := range comps {
			if c != nil {
				f += c[in.Slots[j][n+h]]
			}
		}
		if in.NonNegative && f < 0 {
			f = 0
		}
		mean[h] = f
	}
	form := "A,N,N"
	if p.beta > 0 {
		form = fmt.Sprintf("A,Ad,N phi=%.2f", p.phi)
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("mstl(%d seasons) + ets(%s) alpha=%.2f", len(in.Seasons), form, p.alpha)}, nil
}

// The exponential smoothing of the adjusted series sees its last
// etsWindowCycles cycles of the shortest season, or etsWindowMin points.
const (
	etsWindowCycles = 7
	etsWindowMin    = 336
)

// seasonalComponent is one season's component per slot: the
// recency-weighted mean, over the last cycles, of the series less its
// centred moving average over one period, centred to mean zero. buf holds
// 2(len(y)+1) values of scratch.
func seasonalComponent(y []float64, slots []int32, period, cycles int, decay float64, buf []float64) []float64 {
	n := len(y)
	half := period / 2
	from := max(0, n-cycles*period-half)
	// Prefix sums of the observed values from base, the earliest start of
	// a window below: ps[j] sums y[base:base+j].
	base := componentStart(n, period, cycles)
	ps := buf[:n-base+1]
	pc := buf[n+1 : n+1+n-base+1]
	ps[0], pc[0] = 0, 0
	var runS, runC float64 // the running sums, kept in registers
	for i, v := range y[base:] {
		if !math.IsNaN(v) {
			runS += v
			runC++
		}
		ps[i+1], pc[i+1] = runS, runC
	}
	nw := (n-1-from)/period + 1
	sp, scratch := getScratch(2*period + nw)
	defer putScratch(sp)
	sum, wsum := scratch[:period], scratch[period:2*period]
	clear(scratch[:2*period])
	// The weight of each cycle back from the end, decay^cycle.
	weights := scratch[2*period:]
	w := 1.0
	for c := range weights {
		weights[c] = w
		w *= decay
	}
	for i := from; i < n; i++ {
		v := y[i]
		if math.IsNaN(v) {
			continue
		}
		// A centred window where there is room; at the end of the
		// series, the last whole period (the trend there is the recent
		// level).
		lo := i - half
		hi := lo + period
		if hi > n {
			lo, hi = n-period, n
		}
		if lo < 0 {
			lo, hi = 0, period
		}
		lo, hi = lo-base, hi-base
		c := pc[hi] - pc[lo]
		if c < float64(period)/2 {
			continue
		}
		w := weights[(n-1-i)/period]
		s := slots[i]
		sum[s] += w * (v - (ps[hi]-ps[lo])/c)
		wsum[s] += w
	}
	comp := make([]float64, period)
	var tot, used float64
	for s := range comp {
		if wsum[s] > 0 {
			comp[s] = sum[s] / wsum[s]
			tot += comp[s]
			used++
		}
	}
	if used > 0 {
		for s := range comp {
			if wsum[s] > 0 {
				comp[s] -= tot / used
			}
		}
	}
	return comp
}

// componentStart is the first index of a series of n points that
// seasonalComponent reads: the start of the centred window of the earliest
// point of the last cycles.
func componentStart(n, period, cycles int) int {
	half := period / 2
	from := max(0, n-cycles*period-half)
	return max(0, min(from-half, n-period))
}

// aetsTrendGrid is the damped-trend grid of fitAdditiveETS: β = 0.05α.
var aetsTrendGrid = [...]struct{ alpha, phi float64 }{
	{0.1, 0.9}, {0.1, 0.98}, {0.3, 0.9}, {0.3, 0.98}, {0.7, 0.9}, {0.7, 0.98},
}

// aetsParams is an additive ETS without season, fitted: the final level
// and trend and the parameters.
type aetsParams struct {
	alpha, beta, phi float64
	l, b             float64
}

// fitAdditiveETS fits ETS(A,N,N) and ETS(A,Ad,N) on a grid of parameters
// by the one-step squared error, skipping gaps, and returns the best.
func fitAdditiveETS(x []float64) (aetsParams, bool) {
	best := aetsParams{}
	bestE := math.Inf(1)
	found := false
	// Without trend the recursion is simple smoothing: the grid in one
	// pass (sesGrid).
	var levels, sses [len(thetaAlphas)]float64
	sesGrid(x, thetaAlphas[:], levels[:], sses[:])
	for j, a := range thetaAlphas {
		if !math.IsNaN(levels[j]) && sses[j] < bestE {
			best, bestE, found = aetsParams{alpha: a, phi: 1, l: levels[j]}, sses[j], true
		}
	}
	if !found {
		return best, false // no observed value
	}
	noTrend, noTrendE := best, bestE
	// The damped trends, all in one pass too: each is the recursion
	//   f = l + φb, e = y - f, l = f + αe, b = φb + βe
	// from l = the first observed value, b = 0, skipping gaps.
	var g [len(aetsTrendGrid)]aetsParams
	var sse [len(aetsTrendGrid)]float64
	i0 := 0
	for math.IsNaN(x[i0]) {
		i0++
	}
	for j, t := range aetsTrendGrid {
		g[j] = aetsParams{alpha: t.alpha, beta: 0.05 * t.alpha, phi: t.phi, l: x[i0]}
	}
	for _, v := range x[i0+1:] {
		if math.IsNaN(v) {
			continue
		}
		for j := range g {
			p := &g[j]
			f := p.l + p.phi*p.b
			e := v - f
			sse[j] += e * e
			p.l = f + p.alpha*e
			p.b = p.phi*p.b + p.beta*e
		}
	}
	for j := range g {
		if sse[j] < bestE {
			best, bestE = g[j], sse[j]
		}
	}
	// Keep the trend only if it cuts the error by more than a little: a
	// damped trend fitted on one-step errors overreaches a day ahead.
	if best.beta > 0 && bestE > 0.98*noTrendE {
		best = noTrend
	}
	return best, found
}
