package forecast

import (
	"errors"
	"fmt"
	"math"
)

// Naive2 is the M4 competition's benchmark, against which its OWA is
// measured (Makridakis, Spiliotis and Assimakopoulos, "The M4 Competition:
// 100,000 time series and 61 forecasting methods", 2020, and the
// competition's R code, Benchmarks_and_evaluation.R): the naive forecast
// of the seasonally adjusted series, seasonalised again.
//
// The series is adjusted only when it passes M4's 90% seasonality test at
// lag m (the period): with r_k R's autocorrelation at lag k and n points,
// n ≥ 3m and
//
//	|r_m| > 1.645 · √((1 + 2·(r_1² + … + r_{m-1}²)) / n).
//
// The adjustment is R's classical multiplicative decomposition
// (decompose(type = "multiplicative")): a centred moving average of order
// m (2×m when m is even) is the trend; the seasonal index of position i mod
// m is the mean of value/trend over the positions that have a trend,
// normalised to mean 1. Positions count from the first value, as in an R
// time series of frequency m. The forecast of step h (1-based) is
// y_last/index(last) · index((n+h-1) mod m), y_last the last value.
//
// Where M4's series never go, it does what R would do or the least it can:
// gaps (NaN) are skipped as R's acf(na.action = na.pass) skips them, a
// trend window with a gap has no trend, and the last observed value is the
// naive's; when an index is not positive and finite (a series of counts
// with zeros, values below zero), the multiplicative adjustment is
// undefined and the plain naive is returned, as not seasonal. R's acf stops
// at lag 10·log10(n) by default, which would call every 5-minute series
// with a daily m = 288 not seasonal; here r_m is computed at any m (the
// same result on M4's hourly series: n ≥ 700, m = 24).
//
// It returns the h forecasts and whether the series was adjusted.
func Naive2(x []float64, m, h int) ([]float64, bool, error) {
	if h < 1 {
		return nil, false, fmt.Errorf("naive2: horizon %d: must be at least 1", h)
	}
	last := len(x) - 1
	for last >= 0 && math.IsNaN(x[last]) {
		last--
	}
	if last < 0 {
		return nil, false, errors.New("naive2: no observed value")
	}
	out := make([]float64, h)
	var index []float64
	if m > 1 && m4Seasonal(x, m) {
		index = multiplicativeIndex(x, m)
	}
	if index == nil {
		for k := range out {
			out[k] = x[last]
		}
		return out, false, nil
	}
	level := x[last] / index[last%m]
	n := len(x)
	for k := range out {
		out[k] = level * index[(n+k)%m]
	}
	return out, true, nil
}

// m4Seasonal is M4's seasonality test (SeasonalityTest in its R code) at
// lag m: the lag-m autocorrelation beyond the 90% limit of Bartlett's
// formula for the autocorrelations below it.
func m4Seasonal(x []float64, m int) bool {
	n := len(x)
	if n < 3*m {
		return false
	}
	r := acfR(x, m)
	if r == nil {
		return false
	}
	s := 1.0
	for k := 1; k < m; k++ {
		s += 2 * r[k] * r[k]
	}
	return math.Abs(r[m]) > 1.645/math.Sqrt(float64(n))*math.Sqrt(s)
}

// acfR is R's acf(x, lag.max = maxLag, na.action = na.pass)$acf: lags 0 to
// maxLag of the autocovariance about the mean of the observed values, the
// sum over the pairs both observed divided by their count plus the lag
// (n - lag pairs without gaps: the sum over n), over the lag-0 value. Nil
// when the series has no variance.
func acfR(x []float64, maxLag int) []float64 {
	mean, cnt := observedMean(x)
	if cnt == 0 {
		return nil
	}
	c := make([]float64, maxLag+1)
	for lag := range c {
		var s float64
		var nu int
		for i := 0; i+lag < len(x); i++ {
			a, b := x[i+lag], x[i]
			if math.IsNaN(a) || math.IsNaN(b) {
				continue
			}
			s += (a - mean) * (b - mean)
			nu++
		}
		if nu == 0 {
			c[lag] = math.NaN()
			continue
		}
		c[lag] = s / float64(nu+lag)
	}
	if !(c[0] > 0) {
		return nil
	}
	r := make([]float64, len(c))
	for k := range c {
		r[k] = c[k] / c[0]
	}
	return r
}

// multiplicativeIndex is the seasonal figure of R's decompose(x, type =
// "multiplicative") at frequency m, by position mod m from the first
// value; nil when an index is not positive and finite.
func multiplicativeIndex(x []float64, m int) []float64 {
	n := len(x)
	// The centred moving average: weights 1/m over m+1 points, the two
	// ends halved, when m is even (R's c(0.5, rep(1, m-1), 0.5)/m); 1/m
	// over m points when odd.
	half := m / 2
	w := make([]float64, 2*half+1)
	for j := range w {
		w[j] = 1 / float64(m)
	}
	if m%2 == 0 {
		w[0], w[2*half] = 0.5/float64(m), 0.5/float64(m)
	}
	sum := make([]float64, m)
	cnt := make([]float64, m)
	for i := half; i+half < n; i++ {
		if math.IsNaN(x[i]) {
			continue
		}
		var t float64
		for j, wj := range w {
			t += wj * x[i-half+j]
		}
		if math.IsNaN(t) {
			continue // a gap in the window: no trend here
		}
		sum[i%m] += x[i] / t
		cnt[i%m]++
	}
	var tot float64
	for s := range sum {
		sum[s] /= cnt[s] // NaN where a position has no ratio: rejected below
		tot += sum[s]
	}
	mean := tot / float64(m)
	for s := range sum {
		sum[s] /= mean
		if !(sum[s] > 0) || math.IsInf(sum[s], 0) {
			return nil
		}
	}
	return sum
}
