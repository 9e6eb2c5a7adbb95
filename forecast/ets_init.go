package forecast

import (
	"math"
	"slices"
)

// etsInitialStates computes robust initial states from the first seasons of
// y: medians per slot, with values far from that robust profile (the zeros
// of an outage, a spike) dropped by a MAD rule before the profile, level and
// trend are averaged. With period 0 it returns a level and a trend only.
func etsInitialStates(y []float64, slots []int32, period int, mul bool) *etsInit {
	if period == 0 {
		return etsInitialLevel(y)
	}
	cycles := min(etsInitSeasons, len(y)/period)
	m := cycles * period
	w := y[:m]

	// Pass 1: level of each cycle (median), then per-slot medians of the
	// values relative to their cycle's level.
	cyc := make([]float64, cycles)
	buf := make([]float64, 0, m)
	for c := range cycles {
		buf = buf[:0]
		for _, v := range w[c*period : (c+1)*period] {
			if !math.IsNaN(v) {
				buf = append(buf, v)
			}
		}
		cyc[c] = etsMedian(buf)
	}
	rel := func(i int) float64 {
		v, c := w[i], cyc[i/period]
		if math.IsNaN(v) || math.IsNaN(c) {
			return math.NaN()
		}
		if mul {
			if c <= 0 {
				return math.NaN()
			}
			return v / c
		}
		return v - c
	}
	// Group values by slot (counting sort; a DST day may give a slot two
	// values or none).
	start := make([]int, period+1)
	for i := range m {
		start[slots[i]+1]++
	}
	for k := range period {
		start[k+1] += start[k]
	}
	bySlot := make([]float64, m)
	fill := slices.Clone(start[:period])
	for i := range m {
		k := slots[i]
		bySlot[fill[k]] = rel(i)
		fill[k]++
	}
	prof := make([]float64, period)
	for k := range period {
		buf = buf[:0]
		for _, v := range bySlot[start[k]:start[k+1]] {
			if !math.IsNaN(v) {
				buf = append(buf, v)
			}
		}
		prof[k] = etsMedian(buf)
	}

	// MAD of the residuals from the robust profile, then drop what lies
	// beyond etsInitOutlierZ robust standard deviations.
	resid := make([]float64, m)
	buf = buf[:0]
	for i := range m {
		r := rel(i) - prof[slots[i]]
		resid[i] = r
		if !math.IsNaN(r) {
			buf = append(buf, math.Abs(r))
		}
	}
	sigma := 1.4826 * etsMedian(buf)
	keep := func(i int) bool {
		r := resid[i]
		if math.IsNaN(r) {
			return false
		}
		return sigma == 0 || math.IsNaN(sigma) || math.Abs(r) <= etsInitOutlierZ*sigma
	}

	// Pass 2: means of the kept values: cycle levels, then the profile.
	for c := range cycles {
		var sum float64
		var cnt int
		for i := c * period; i < (c+1)*period; i++ {
			if keep(i) {
				sum += w[i]
				cnt++
			}
		}
		if cnt > 0 {
			cyc[c] = sum / float64(cnt)
		}
	}
	sums := make([]float64, period)
	cnts := make([]int, period)
	for i := range m {
		if keep(i) {
			if r := rel(i); !math.IsNaN(r) {
				sums[slots[i]] += r
				cnts[slots[i]]++
			}
		}
	}
	neutral := 0.0
	if mul {
		neutral = 1
	}
	var total float64
	var seen int
	for k := range period {
		if cnts[k] > 0 {
			prof[k] = sums[k] / float64(cnts[k])
			total += prof[k]
			seen++
		} else if math.IsNaN(prof[k]) {
			prof[k] = neutral
		}
	}
	// Normalise: offsets average 0, factors average 1.
	if seen > 0 {
		avg := total / float64(seen)
		for k := range prof {
			if cnts[k] == 0 {
				continue
			}
			if mul {
				if avg > 0 {
					prof[k] /= avg
				}
			} else {
				prof[k] -= avg
			}
		}
	}

	// Level and trend from the deseasonalised cycle means.
	des := make([]float64, cycles)
	for c := range cycles {
		var sum float64
		var cnt int
		for i := c * period; i < (c+1)*period; i++ {
			if !keep(i) {
				continue
			}
			s := prof[slots[i]]
			if mul {
				sum += w[i] / max(s, 1e-6)
			} else {
				sum += w[i] - s
			}
			cnt++
		}
		des[c] = math.NaN()
		if cnt > 0 {
			des[c] = sum / float64(cnt)
		}
	}
	buf = buf[:0]
	for c := 1; c < cycles; c++ {
		if !math.IsNaN(des[c]) && !math.IsNaN(des[c-1]) {
			buf = append(buf, (des[c]-des[c-1])/float64(period))
		}
	}
	trend := etsMedian(buf)
	if math.IsNaN(trend) {
		trend = 0
	}
	level := math.NaN()
	for c := range cycles {
		if !math.IsNaN(des[c]) {
			// Cycle c's mean sits at its middle; the initial level is the
			// state just before the first point.
			level = des[c] - trend*(float64(c*period)+float64(period+1)/2)
			break
		}
	}
	if math.IsNaN(level) {
		level = etsInitialLevel(y).level
	}
	scale := 0.8 * sigma
	if mul {
		scale *= math.Abs(level) // sigma is relative for factors
	}
	return &etsInit{level: level, trend: trend, season: prof, scale: etsScaleFloor(scale, y)}
}

// etsInitialLevel starts a non-seasonal model: the median of the first
// points as the level, the difference of the medians of the first two blocks
// as the trend, and the MAD of the differences as the error scale.
func etsInitialLevel(y []float64) *etsInit {
	q := min(max(len(y)/4, 1), 50)
	var a, b []float64
	for i, v := range y {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case i < q:
			a = append(a, v)
		case i < 2*q:
			b = append(b, v)
		}
	}
	ma, mb := etsMedian(a), etsMedian(b)
	if math.IsNaN(ma) {
		ma = mb
	}
	if math.IsNaN(ma) {
		if v, ok := lastObserved(y); ok {
			ma = v
		} else {
			ma = 0
		}
	}
	trend := 0.0
	if !math.IsNaN(mb) {
		trend = (mb - ma) / float64(q)
	}
	level := ma - trend*float64(q+1)/2
	var d []float64
	prev := math.NaN()
	for _, v := range y[:min(len(y), 500)] {
		if math.IsNaN(v) {
			continue
		}
		if !math.IsNaN(prev) {
			d = append(d, math.Abs(v-prev))
		}
		prev = v
	}
	scale := 0.8 * 1.4826 * etsMedian(d)
	return &etsInit{level: level, trend: trend, scale: etsScaleFloor(scale, y)}
}

// etsScaleFloor keeps the clipping scale positive: on a constant series the
// MAD is zero, and a zero threshold would clip every error away.
func etsScaleFloor(scale float64, y []float64) float64 {
	var sum float64
	var n int
	for _, v := range y {
		if !math.IsNaN(v) {
			sum += math.Abs(v)
			n++
		}
	}
	floor := 1e-12
	if n > 0 {
		floor = max(floor, 1e-3*sum/float64(n))
	}
	if math.IsNaN(scale) || scale < floor {
		return floor
	}
	return scale
}

// etsMedian returns the median of x (NaN when empty), reordering x. It
// selects rather than sorts: the initial states take medians of whole
// cycles, 10,080 values for a week of minutes.
func etsMedian(x []float64) float64 {
	n := len(x)
	if n == 0 {
		return math.NaN()
	}
	hi := etsSelect(x, n/2)
	if n%2 == 1 {
		return hi
	}
	// The lower middle is the largest value left of n/2 after selection.
	lo := x[0]
	for _, v := range x[1 : n/2] {
		lo = max(lo, v)
	}
	return (lo + hi) / 2
}

// etsSelect reorders x so that x[k] is the value a sort would put there,
// with no greater value before it and no smaller after (Hoare's
// quickselect with a median-of-three pivot), and returns x[k]. x holds no
// NaN.
func etsSelect(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for hi-lo > 16 {
		mid := lo + (hi-lo)/2
		// Median of three to x[mid], which also guards the scans below.
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k] // between j and i: equal to the pivot
		}
	}
	// Short range: insertion sort.
	for i := lo + 1; i <= hi; i++ {
		for j := i; j > lo && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
	return x[k]
}
