package forecast

import "math"

// Online calibration of quantiles: adaptive conformal inference.
//
// The quantiles of a forecast come from the errors its models made out of
// sample (see calibrate). That is conformal in spirit, but it assumes that
// the next errors resemble the past ones, and they do not: a level shift,
// a model chosen because it validated well at a few origins (and so
// validated better than it will do), a tail estimated from a few days. On
// data prescale had not seen, its 90% intervals covered 77% to 80%.
//
// So a forecast signal that is refitted again and again (a Selection) also
// corrects its quantiles online from its own misses, with adaptive
// conformal inference (ACI; Gibbs and Candès, "Adaptive conformal
// inference under distribution shift", NeurIPS 2021). For a quantile of
// level q, the base calibration is asked for the quantile at a working
// level q + a instead of q, and each time an actual value y arrives for a
// forecast quantile Q, the offset moves by
//
//	a ← a + γ (q − 1{y ≤ Q})
//
// up when the actual exceeded the quantile (a miss, on the upper side),
// down when it did not. Whatever the series does, the offset stays bounded
// (a high enough working level covers everything, see onlineQuantile), and
// summing the updates shows that after T scores the share of actual values
// at or under the quantile is within (|a_T − a_0|)/(γT) of q: long-run
// coverage converges to the level, including after level shifts and
// changes of model, with no assumption about the data.
//
// The offset is kept per horizon step (the error of a forecast 30 minutes
// ahead is not that of one 5 minutes ahead, and a base calibration per
// step can be off differently at each), which is what carries the
// guarantee above for every step. A step sees one score per forecast, so
// a per-step offset learns slowly; a second, pooled offset shared by all
// steps moves with the mean miss over the steps of each forecast and
// corrects what all steps share (the common case: a tail that is too thin
// everywhere) about as fast as one step learns alone. The pooled offset is
// clamped (±poolBound), so it cannot take the per-step offsets' place and
// the per-step guarantee holds for the sum.
//
// The γ are fixed, not fitted: stepGamma is the per-step rate and
// poolGamma the pooled one. ACI's own analysis trades the speed of
// adaptation (larger γ) against the jitter of the working level (it moves
// by up to γ at each score); these rates move a 90% quantile's level by a
// point after about ten misses in a row, and undo a 10-point coverage
// deficit within a few hundred scores.
const (
	stepGamma = 0.01
	poolGamma = 0.02
	// poolBound bounds the pooled offset.
	poolBound = 0.5
	// stepBound bounds a per-step offset: a working level of 1 + 2 is
	// the largest observed error plus four times the spread of the
	// errors' upper half (see onlineQuantile), and the bound keeps the
	// offset from running so far during a stretch that no quantile could
	// cover that it takes days to come back.
	stepBound = 2
	// maxOnlineSteps bounds the horizon steps tracked; later steps use
	// the last tracked step's offset.
	maxOnlineSteps = 4096
)

// online is one signal's ACI state: the offsets of every quantile level
// it was asked for, and what it has scored. It outlives the Selection that
// made it (see Options.Previous): a reselection every few hours changes
// the model, not the signal's record of misses.
type online struct {
	levels map[float64]*levelState
}

// levelState is the ACI state of one quantile level.
type levelState struct {
	pool float64
	step []float32 // per horizon step
	// below and scored count the actual values at or under the quantile
	// and all those scored, for Coverage.
	below, scored float64
}

func newOnline() *online { return &online{levels: map[float64]*levelState{}} }

// level returns the working level for quantile q at horizon step k.
func (o *online) level(q float64, k int) float64 {
	if o == nil {
		return q
	}
	st := o.levels[q]
	if st == nil {
		return q
	}
	l := q + st.pool
	if n := len(st.step); n > 0 {
		l += float64(st.step[min(k, n-1)])
	}
	return l
}

// observe scores forecast f's quantiles against actual[k], the value
// observed at step k (NaN: not observed), and moves the offsets.
func (o *online) observe(f *Forecast, actual []float64) {
	for q, vals := range f.Quantiles {
		st := o.levels[q]
		if st == nil {
			st = &levelState{}
			o.levels[q] = st
		}
		// New steps start from the offset of the last one tracked, their
		// nearest neighbour, before any of this forecast's scores.
		if n := min(len(actual), len(vals), maxOnlineSteps); len(st.step) < n {
			var init float32
			if len(st.step) > 0 {
				init = st.step[len(st.step)-1]
			}
			for len(st.step) < n {
				st.step = append(st.step, init)
			}
		}
		var miss float64
		var n int
		for k, y := range actual {
			if k >= len(st.step) || math.IsNaN(y) {
				continue
			}
			ind := 0.0
			if y <= vals[k] {
				ind = 1
				st.below++
			}
			st.scored++
			if y == vals[k] {
				// A tie (a zero under a quantile clipped at
				// zero, most often) says nothing about which
				// way the quantile is off: moving it down
				// for every zero of an idle stretch would
				// leave it far too low once load returns.
				continue
			}
			d := q - ind
			st.step[k] = float32(clamp(float64(st.step[k])+stepGamma*d, -stepBound, stepBound))
			miss += d
			n++
		}
		if n > 0 {
			st.pool = clamp(st.pool+poolGamma*miss/float64(n), -poolBound, poolBound)
		}
	}
}

// coverage returns, for each level scored, the share of actual values at
// or under its quantiles so far, over all steps.
func (o *online) coverage() map[float64]float64 {
	out := map[float64]float64{}
	if o == nil {
		return out
	}
	for q, st := range o.levels {
		if st.scored > 0 {
			out[q] = st.below / st.scored
		}
	}
	return out
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// onlineQuantile is the quantile of the sorted sample z at a working level
// l that may lie outside [0, 1]. Inside, it is the sample quantile. Beyond, it extends the sample's tail linearly, at the
// slope of the tail's outer half (the spread between the median and the
// extreme, per unit of level), so that the quantile keeps growing with the
// level and a high enough level covers any error: ACI needs that to keep
// its offsets bounded.
func onlineQuantile(z []float64, l float64) float64 {
	n := len(z)
	if n == 0 {
		return 0
	}
	if l >= 0 && l <= 1 {
		return quantileSorted(z, l)
	}
	med := quantileSorted(z, 0.5)
	if l > 1 {
		slope := math.Max(2*(z[n-1]-med), minSlope(z))
		return z[n-1] + (l-1)*slope
	}
	slope := math.Max(2*(med-z[0]), minSlope(z))
	return z[0] + l*slope
}

// minSlope keeps the extension increasing on a degenerate sample (all
// errors equal).
func minSlope(z []float64) float64 {
	return 1e-9 + 1e-6*math.Max(math.Abs(z[0]), math.Abs(z[len(z)-1]))
}

// quantileSorted is the p-quantile of sorted z, p in [0, 1], interpolated
// as gonum's stat.Quantile with stat.LinInterp does, in constant time
// rather than its linear scan: calibrate reads a quantile per horizon step
// and level at every refit.
func quantileSorted(z []float64, p float64) float64 {
	fidx := p * float64(len(z))
	// stat.LinInterp takes the first i with i+1 ≥ p·n.
	i := max(0, int(math.Ceil(fidx))-1)
	if i >= len(z) {
		i = len(z) - 1
	}
	if i == 0 {
		return z[0]
	}
	t := float64(i+1) - fidx
	return t*z[i-1] + (1-t)*z[i]
}
