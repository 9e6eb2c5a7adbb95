package forecast

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// calibrate turns out-of-sample errors into quantiles around mean.
//
// errs[j][k] is the error (actual - forecast) at validation origin j and
// horizon step k. Errors grow with the horizon and with the time of day
// (a busy hour errs more than a quiet one); since validation origins are one
// horizon apart, step k sees the same time of day at every origin. So each
// step gets a scale: the mean absolute error at that step and its
// neighbours, shrunk toward the overall mean. Errors divided by their scale
// are then pooled across all steps, which gives enough of them to estimate
// the tails, and the quantile of the pool times the step's scale is added to
// the forecast. Steps beyond the validated horizon widen as the square root
// of the horizon.
//
// With no validation errors, quantiles come from nothing reliable; the
// caller passes none and gets none (see run for the fallback).
//
// adapt, when not nil, holds a signal's online corrections (see online):
// the quantile of level q at step k is then read at adapt's working level
// for them rather than at q.
func calibrate(mean []float64, errs [][]float64, qs []float64, nonNegative bool, adapt *online) map[float64][]float64 {
	if len(qs) == 0 {
		return nil
	}
	out := make(map[float64][]float64, len(qs))
	scale, z := errorScale(errs)
	if scale == nil {
		// Without errors the honest interval is unknown: report the mean
		// for every quantile so that nothing downstream reads a band that
		// was never measured. run only takes this path with a note.
		for _, q := range qs {
			out[q] = append([]float64(nil), mean...)
		}
		return out
	}
	hv := len(scale)
	for _, q := range qs {
		zq := onlineQuantile(z, q)
		vals := make([]float64, len(mean))
		for k := range mean {
			s := scale[min(k, hv-1)]
			if k >= hv {
				s *= math.Sqrt(float64(k+1) / float64(hv))
			}
			zk := zq
			if adapt != nil {
				if l := adapt.level(q, k); l != q {
					zk = onlineQuantile(z, l)
				}
			}
			vals[k] = mean[k] + zk*s
			if nonNegative && vals[k] < 0 {
				vals[k] = 0
			}
		}
		out[q] = vals
	}
	return out
}

// errorScale returns the per-step error scale and the sorted pool of scaled
// errors; nil when errs holds nothing usable.
func errorScale(errs [][]float64) ([]float64, []float64) {
	if len(errs) == 0 || len(errs[0]) == 0 {
		return nil, nil
	}
	hv := len(errs[0])
	// Mean absolute error per step, then over a window of neighbours.
	stepSum := make([]float64, hv)
	stepN := make([]float64, hv)
	var total, totalN float64
	for _, e := range errs {
		for k, x := range e {
			if math.IsNaN(x) {
				continue
			}
			stepSum[k] += math.Abs(x)
			stepN[k]++
			total += math.Abs(x)
			totalN++
		}
	}
	if totalN < 4 || total == 0 {
		return nil, nil
	}
	global := total / totalN
	w := max(1, hv/48)
	scale := make([]float64, hv)
	// prior is the weight, in errors, of the global scale in each step's.
	const prior = 8.0
	for k := range scale {
		var s, n float64
		for d := max(0, k-w); d <= min(hv-1, k+w); d++ {
			s += stepSum[d]
			n += stepN[d]
		}
		scale[k] = (s + prior*global) / (n + prior)
		if scale[k] <= 0 {
			scale[k] = global
		}
	}
	z := make([]float64, 0, int(totalN))
	rowStart := make([]int, 0, len(errs)+1)
	for _, e := range errs {
		rowStart = append(rowStart, len(z))
		for k, x := range e {
			if !math.IsNaN(x) {
				z = append(z, x/scale[k])
			}
		}
	}
	rowStart = append(rowStart, len(z))
	widenCommon(z, rowStart)
	sort.Float64s(z)
	return scale, z
}

// widenCommon widens the part of the scaled errors z that a whole forecast
// shares, for a forecast made at an origin not among those the errors come
// from. Row j's errors are z[rowStart[j]:rowStart[j+1]].
//
// The errors of one forecast are not independent: a busier day than
// forecast errs high at every step. Pooled, the errors of n forecasts hold
// only n draws of that common part, and their spread understates the
// spread of the next draw: by the usual prediction interval for one new
// observation of a normal sample, its deviation from the mean of n is
// s·√(1+1/n)·t(n−1) where the pool shows about s·√((n−1)/n)·z. So each
// row's mean deviation from the mean of all rows is scaled by the ratio of
// the two at the 95% level (the upper end of a 90% interval), √((n+1)/(n−1))
// · t₀.₉₅(n−1)/z₀.₉₅: about 1.31 for 8 forecasts, 1.03 for 96, and the part
// of each error within its row is left as it is. Rows that overlap in time
// (a daemon's refits) are not independent and get less widening than they
// deserve; the online calibration (see online) makes up the rest.
func widenCommon(z []float64, rowStart []int) {
	n := 0
	var sum float64
	means := make([]float64, len(rowStart)-1)
	for j := range means {
		a, b := rowStart[j], rowStart[j+1]
		if b <= a {
			means[j] = math.NaN()
			continue
		}
		var m float64
		for _, x := range z[a:b] {
			m += x
		}
		means[j] = m / float64(b-a)
		sum += means[j]
		n++
	}
	if n < 2 {
		return
	}
	mean := sum / float64(n)
	c := math.Sqrt(float64(n+1)/float64(n-1)) * tQuantile95(n-1) / 1.6448536269514722
	for j, m := range means {
		if math.IsNaN(m) {
			continue
		}
		d := (c - 1) * (m - mean)
		for i := rowStart[j]; i < rowStart[j+1]; i++ {
			z[i] += d
		}
	}
}

// tQuantile95 is the 0.95 quantile of Student's t with df degrees of
// freedom.
func tQuantile95(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.95)
}
