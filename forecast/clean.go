package forecast

import (
	"math"
	"sort"
)

// outlierZ is how many robust standard deviations (1.4826 × MAD) a value must
// sit from its local seasonal median to be treated as an outlier. Real load
// has heavy tails; 6 flags outages and news spikes, not busy afternoons.
const outlierZ = 6.0

// cleanOutliers returns a copy of in.Values in which outliers (outages,
// spikes) are gaps, and how many were removed. A value is compared with the
// median of the same slot in the neighbouring cycles of the season; the
// zeros of an outage sit far below that median and are dropped, so they do
// not poison a seasonal profile. A run of outliers that reaches the end of
// the history is kept: nothing yet tells it from a level shift.
func cleanOutliers(in *Input) ([]float64, int) {
	v := in.Values
	out := make([]float64, len(v))
	copy(out, v)
	if len(in.Seasons) == 0 {
		return out, 0
	}
	// The longest season with four cycles, else the shortest.
	k := 0
	for j := len(in.Seasons) - 1; j >= 0; j-- {
		if len(v) >= 4*in.Seasons[j].Period {
			k = j
			break
		}
	}
	p := in.Seasons[k].Period
	const reach = 3 // cycles either side
	resid := make([]float64, len(v))
	var buf [2*reach + 1]float64
	for i, x := range v {
		resid[i] = math.NaN()
		if math.IsNaN(x) {
			continue
		}
		m := 0
		for c := -reach; c <= reach; c++ {
			j := i + c*p
			if c == 0 || j < 0 || j >= len(v) || math.IsNaN(v[j]) {
				continue
			}
			buf[m] = v[j]
			m++
		}
		if m < 2 {
			continue
		}
		resid[i] = x - median(buf[:m])
	}
	abs := make([]float64, 0, len(v))
	for _, r := range resid {
		if !math.IsNaN(r) {
			abs = append(abs, math.Abs(r))
		}
	}
	if len(abs) < 10 {
		return out, 0
	}
	scale := 1.4826 * median(abs)
	if scale == 0 {
		// Mostly constant: fall back to the mean deviation so that a few
		// different values are not all called outliers.
		var s float64
		for _, a := range abs {
			s += a
		}
		scale = 1.2533 * s / float64(len(abs))
	}
	if scale == 0 {
		return out, 0
	}
	flag := make([]bool, len(v))
	for i, r := range resid {
		flag[i] = !math.IsNaN(r) && math.Abs(r) > outlierZ*scale
	}
	// Keep a trailing run: it may be the new normal.
	for i := len(v) - 1; i >= 0; i-- {
		if math.IsNaN(v[i]) {
			continue
		}
		if !flag[i] {
			break
		}
		flag[i] = false
	}
	n := 0
	for i, f := range flag {
		if f {
			out[i] = math.NaN()
			n++
		}
	}
	return out, n
}

// median sorts x in place and returns its median.
func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	sort.Float64s(x)
	m := len(x) / 2
	if len(x)%2 == 1 {
		return x[m]
	}
	return (x[m-1] + x[m]) / 2
}
