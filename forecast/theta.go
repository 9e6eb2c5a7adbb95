package forecast

import (
	"fmt"
	"math"
)

// Theta is the Theta method of Assimakopoulos and Nikolopoulos (2000), in
// the form Hyndman and Billah (2003) showed it to be: simple exponential
// smoothing with a drift of half the slope of the series' linear trend,
// applied to the seasonally adjusted series. It won the M3 competition and
// is a standard benchmark of M4, strong where a series trends and its
// season is stable, which is where a profile of the last cycles lags.
//
// Seasonal adjustment is the classical decomposition: a centred moving
// average over one cycle of the chosen season gives the trend-cycle, and
// the seasonal index of each local-time slot is the mean ratio (or, for
// data that is not positive, difference) of the values to it, over the
// last Cycles cycles, normalised to average 1 (or 0). The adjusted series
// is forecast by the two theta lines: the linear trend (θ = 0) and
// exponential smoothing of the series with its curvature doubled (θ = 2),
// averaged, which comes down to
//
//	ŷ(n+h) = ℓ(n) + (b/2)·(h − 1 + 1/α)
//
// with ℓ the smoothed level, α its smoothing parameter (chosen by the
// one-step squared error on a grid) and b the slope of the least-squares
// line; then the seasonal index of the forecast slot is put back.
type Theta struct {
	// Season indexes Input.Seasons: -1 means the longest. With no season
	// the series is not adjusted.
	Season int
	// Cycles is how many of the last cycles the seasonal indices average
	// (default 6).
	Cycles int
}

// Name implements Model.
func (m Theta) Name() string { return "theta" }

// thetaAlphas is the grid of smoothing parameters tried.
var thetaAlphas = [...]float64{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1}

// Fit implements Model.
func (m Theta) Fit(in *Input) (Fit, error) {
	n := in.Len()
	y := in.Values
	k := m.Season
	if k < 0 || k >= len(in.Seasons) {
		k = len(in.Seasons) - 1
	}
	period := 0
	if k >= 0 {
		period = in.Seasons[k].Period
	}
	// The index, and the adjusted series x.
	var index []float64
	mult := false
	x := y
	if period > 1 && n >= 2*period {
		mult = in.NonNegative && positiveShare(y) > 0.99
		index = classicalIndex(y, in.Slots[k], period, max(2, m.Cycles), mult)
		if m.Cycles <= 0 {
			index = classicalIndex(y, in.Slots[k], period, 6, mult)
		}
		x = make([]float64, n)
		for i, v := range y {
			s := index[in.Slots[k][i]]
			if mult {
				x[i] = v / s
			} else {
				x[i] = v - s
			}
		}
	}
	// The slope of the least-squares line through the observed points.
	var st, sx, stt, stx, cnt float64
	for i, v := range x {
		if math.IsNaN(v) {
			continue
		}
		t := float64(i)
		st += t
		sx += v
		stt += t * t
		stx += t * v
		cnt++
	}
	if cnt < 2 {
		return Fit{}, fmt.Errorf("theta: %v observed values, need 2", cnt)
	}
	b := 0.0
	if d := cnt*stt - st*st; d > 0 {
		b = (cnt*stx - st*sx) / d
	}
	// Exponential smoothing: the alpha of least one-step squared error.
	bestA, bestL, bestE := 1.0, math.NaN(), math.Inf(1)
	var levels, sses [len(thetaAlphas)]float64
	sesGrid(x, thetaAlphas[:], levels[:], sses[:])
	for j, a := range thetaAlphas {
		if sses[j] < bestE {
			bestA, bestL, bestE = a, levels[j], sses[j]
		}
	}
	if math.IsNaN(bestL) {
		return Fit{}, fmt.Errorf("theta: no observed values")
	}
	mean := make([]float64, in.Horizon)
	for h := range mean {
		f := bestL + b/2*(float64(h)+1/bestA)
		if index != nil {
			s := index[in.Slots[k][n+h]]
			if mult {
				f *= s
			} else {
				f += s
			}
		}
		if in.NonNegative && f < 0 {
			f = 0
		}
		mean[h] = f
	}
	form := "no season"
	if index != nil {
		form = in.Seasons[k].Name + " additive"
		if mult {
			form = in.Seasons[k].Name + " multiplicative"
		}
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("theta(%s) alpha=%.2f drift=%.4g/step", form, bestA, b/2)}, nil
}

// sesGrid smooths x with each parameter of alphas at once, skipping gaps,
// and leaves in level[j] and sse[j] the final level and the sum of squared
// one-step errors of alphas[j] (NaN level: nothing observed). One pass
// runs the independent recursions side by side, which the processor
// overlaps: a pass per parameter waits on each step's dependency chain.
func sesGrid(x []float64, alphas, level, sse []float64) {
	level = level[:len(alphas)]
	sse = sse[:len(alphas)]
	for j := range level {
		level[j], sse[j] = math.NaN(), 0
	}
	i := 0
	for i < len(x) && math.IsNaN(x[i]) {
		i++
	}
	if i == len(x) {
		return
	}
	for j := range level {
		level[j] = x[i]
	}
	for _, v := range x[i+1:] {
		if math.IsNaN(v) {
			continue
		}
		for j, a := range alphas {
			e := v - level[j]
			sse[j] += e * e
			level[j] += a * e
		}
	}
}

// classicalIndex is the seasonal index per slot of the classical
// decomposition: the ratio (mult) or difference of each value to the
// centred moving average over one period around it, averaged per slot over
// the last cycles, normalised to mean 1 (or 0). Slots with no estimate get
// the neutral index.
func classicalIndex(y []float64, slots []int32, period, cycles int, mult bool) []float64 {
	n := len(y)
	from := max(0, n-(cycles+1)*period)
	half := period / 2
	// Prefix sums over observed values from base, the earliest start of a
	// window below, for the moving average: ps[j] sums y[base:base+j].
	base := max(0, from-half)
	sp, scratch := getScratch(2*(n-base+1) + 2*period)
	defer putScratch(sp)
	ps, pc := scratch[:n-base+1], scratch[n-base+1:2*(n-base+1)]
	ps[0], pc[0] = 0, 0
	var runS, runC float64 // the running sums, kept in registers
	for i, v := range y[base:] {
		if !math.IsNaN(v) {
			runS += v
			runC++
		}
		ps[i+1], pc[i+1] = runS, runC
	}
	sum, cnt := scratch[2*(n-base+1):2*(n-base+1)+period], scratch[2*(n-base+1)+period:]
	clear(sum)
	clear(cnt)
	for i := max(from, half); i+half < n && i+half-period+1 >= 0; i++ {
		v := y[i]
		if math.IsNaN(v) {
			continue
		}
		// A window of period points centred on i (one more to the right
		// for an even period: near enough for an index).
		lo, hi := i-half, i-half+period
		if lo < 0 || hi > n {
			continue
		}
		c := pc[hi-base] - pc[lo-base]
		if c < float64(period)/2 {
			continue
		}
		ma := (ps[hi-base] - ps[lo-base]) / c
		s := slots[i]
		if mult {
			if ma <= 0 {
				continue
			}
			sum[s] += v / ma
		} else {
			sum[s] += v - ma
		}
		cnt[s]++
	}
	index := make([]float64, period)
	var tot, used float64
	for s := range index {
		if cnt[s] > 0 {
			index[s] = sum[s] / cnt[s]
			tot += index[s]
			used++
		}
	}
	neutral := 0.0
	if mult {
		neutral = 1
	}
	norm := neutral
	if used > 0 {
		norm = tot / used
	}
	for s := range index {
		switch {
		case cnt[s] == 0:
			index[s] = neutral
		case mult:
			if norm > 0 {
				index[s] /= norm
			}
			if !(index[s] > 0) {
				index[s] = 1
			}
		default:
			index[s] -= norm
		}
	}
	return index
}

// positiveShare is the share of observed values above zero.
func positiveShare(y []float64) float64 {
	var p, n float64
	for _, v := range y {
		if math.IsNaN(v) {
			continue
		}
		n++
		if v > 0 {
			p++
		}
	}
	if n == 0 {
		return 0
	}
	return p / n
}
