package forecast

import (
	"math"
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
		resid[i] = x - smallMedian(buf[:m])
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
		// A day the caller marked (a holiday, an event) is expected to
		// differ: its regressors explain it, so it is no outlier.
		if flag[i] && in.Regressors != nil && anyNonZero(in.Regressors[i]) {
			flag[i] = false
		}
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
	keepLevelShift(flag, resid, in.Seasons[0].Period)
	n := 0
	for i, f := range flag {
		if f {
			out[i] = math.NaN()
			n++
		}
	}
	return out, n
}

// shiftShare is the share of a day's values that must sit beyond the outlier
// bound, all on one side, for the day to count as shifted.
const shiftShare = 0.3

// keepLevelShift unflags whole days, walking back from the end, while each
// day has many outliers above the seasonal median, like the day after it:
// the load has risen (a new client, a launch), and the models must see the
// new level. An outage that ended before the last day stops the walk at
// once.
func keepLevelShift(flag []bool, resid []float64, day int) {
	sign := 0
	for end := len(flag); end-day >= 0; end -= day {
		var up, down, obs int
		for i := end - day; i < end; i++ {
			if math.IsNaN(resid[i]) {
				continue
			}
			obs++
			if flag[i] || end == len(flag) {
				// The last day's flags were cleared for its trailing run;
				// judge it by its residuals' sides among large ones.
				if math.Abs(resid[i]) > 0 && flag[i] {
					if resid[i] > 0 {
						up++
					} else {
						down++
					}
				}
			}
		}
		s := 0
		switch {
		case obs > 0 && float64(up) >= shiftShare*float64(obs):
			s = 1
		case obs > 0 && float64(down) >= shiftShare*float64(obs):
			s = -1
		}
		if end == len(flag) {
			// The last day decides the direction; its own flags were
			// partly cleared above, so a shifted last day may show few.
			if s == 0 {
				s = lastDaySide(resid, end-day, end)
			}
		} else if s == 0 || s != sign {
			return
		}
		// Only a rise is kept: days of low load (a storm, an outage of
		// the service) stay outliers, so that the profile does not
		// under-provision the day the load comes back. A lasting fall
		// still reaches the forecast through the last day's level.
		if s <= 0 {
			return
		}
		sign = s
		for i := end - day; i < end; i++ {
			flag[i] = false
		}
	}
}

// lastDaySide tells whether most of the residuals in [from, to) are on one
// side, by more than two to one: +1 above, -1 below, 0 neither.
func lastDaySide(resid []float64, from, to int) int {
	var up, down int
	for i := max(0, from); i < to; i++ {
		switch r := resid[i]; {
		case r > 0:
			up++
		case r < 0:
			down++
		}
	}
	switch {
	case up > 2*down:
		return 1
	case down > 2*up:
		return -1
	}
	return 0
}

// median returns the median of x (no NaN), reordering x.
// smallMedian is median for the few values (at most 2·reach) of one
// point's neighbours in cleanOutliers, by insertion sort: on a handful of
// values that beats the selection's partitioning, and it runs once per
// point of every history fitted. x holds no NaN; it is reordered.
func smallMedian(x []float64) float64 {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
	m := len(x) / 2
	if len(x)%2 == 1 {
		return x[m]
	}
	return (x[m-1] + x[m]) / 2
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	// By selection rather than a sort: every fit and refit cleans its
	// whole history, a median per point and one of all residuals.
	m := len(x) / 2
	hi := nthElement(x, m)
	if len(x)%2 == 1 {
		return hi
	}
	// x[:m] now holds the m smallest: the lower middle is their largest.
	lo := x[0]
	for _, v := range x[1:m] {
		lo = math.Max(lo, v)
	}
	return (lo + hi) / 2
}
