package forecast

import (
	"math"
	"sort"
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
	for _, e := range errs {
		for k, x := range e {
			if !math.IsNaN(x) {
				z = append(z, x/scale[k])
			}
		}
	}
	sort.Float64s(z)
	return scale, z
}
