package forecast

import (
	"math"
	"time"
)

// minAutocorrelation is the autocorrelation a candidate season needs at its
// lag to be used. Load series with a real daily cycle show 0.4 to 0.9;
// white noise shows about 0.
const minAutocorrelation = 0.15

// DetectSeasons returns the seasons of s, shortest first. Candidates come
// from the step (a day and a week of steps, when the step divides a day);
// a candidate is kept when the history holds at least two full cycles of it
// and the data's autocorrelation at its lag shows it.
func DetectSeasons(s Series) []Season {
	var out []Season
	var lo, hi float64
	clipped := false
	for _, c := range candidateSeasons(s.Step) {
		if s.Len() < 2*c.Period || s.Observed() < 3*c.Period/2 {
			continue
		}
		if !clipped {
			lo, hi = clipBounds(s.Values)
			clipped = true
		}
		if seasonalAutocorrelation(s.Values, c.Period, candidateSeasons(s.Step)[0].Period, lo, hi) >= minAutocorrelation {
			out = append(out, c)
		}
	}
	return out
}

// LongestSupportedSeason is the longest candidate season the history holds
// two cycles of, whatever the data says: the baseline's season for MASE.
func LongestSupportedSeason(s Series) (Season, bool) {
	var best Season
	ok := false
	for _, c := range candidateSeasons(s.Step) {
		if s.Len() >= 2*c.Period {
			best, ok = c, true
		}
	}
	return best, ok
}

func candidateSeasons(step time.Duration) []Season {
	sec := int64(step / time.Second)
	if sec <= 0 || 86400%sec != 0 {
		return nil
	}
	day := int(86400 / sec)
	var out []Season
	if day >= 4 {
		out = append(out, Season{Name: "daily", Period: day})
	}
	out = append(out, Season{Name: "weekly", Period: 7 * day})
	return out
}

// observedMean is the mean of v's observed (non-NaN) values and their
// count; 0, 0 when none is.
func observedMean(v []float64) (mean float64, n int) {
	var sum float64
	for _, x := range v {
		if !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// autocorrelation at lag over the pairs where both values are observed.
func autocorrelation(v []float64, lag int) float64 {
	mean, n := observedMean(v)
	if n == 0 || lag >= len(v) {
		return 0
	}
	var num, den float64
	for _, x := range v {
		if !math.IsNaN(x) {
			den += (x - mean) * (x - mean)
		}
	}
	var pairs int
	for i := lag; i < len(v); i++ {
		a, b := v[i], v[i-lag]
		if math.IsNaN(a) || math.IsNaN(b) {
			continue
		}
		num += (a - mean) * (b - mean)
		pairs++
	}
	if den == 0 || pairs == 0 {
		return 0
	}
	// Scale for the pairs actually seen, so gaps do not shrink the value.
	return num / float64(pairs) / (den / float64(n))
}

// clipBounds returns the 1st and 99th percentiles of v's observed values
// (the order statistics len/100 from each end), NaN with fewer than 4.
// They are found by selection, not by sorting: DetectSeasons runs at every
// selection of every signal.
func clipBounds(v []float64) (lo, hi float64) {
	obs := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			obs = append(obs, x)
		}
	}
	if len(obs) < 4 {
		return math.NaN(), math.NaN()
	}
	k := len(obs) / 100
	hi = nthElement(obs, len(obs)-1-k)
	lo = nthElement(obs[:len(obs)-1-k], k)
	return lo, hi
}

// nthElement returns the k-th smallest of x (0-based), reordering x so
// that x[k] holds it, the smaller ones lie before it and the larger after
// (Hoare's selection, middle pivot). x holds no NaN.
func nthElement(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for lo < hi {
		p := x[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for x[i] < p {
				i++
			}
			for x[j] > p {
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
			return x[k]
		}
	}
	return x[k]
}

// seasonalAutocorrelation is the autocorrelation at lag period of the series
// averaged into buckets of a 24th of day (hours, for sub-hourly data).
// Averaging first removes the step-to-step noise of bursty load that hides
// a daily cycle from the raw autocorrelation.
//
// Values are first clipped to their 1st and 99th percentiles, lo and hi
// (see clipBounds; NaN: too few values, no autocorrelation): a few huge
// bursts (news, incidents) otherwise dominate the variance and hide the
// cycle that the bulk of the series follows.
func seasonalAutocorrelation(v []float64, period, day int, lo, hi float64) float64 {
	if math.IsNaN(lo) {
		return 0
	}
	clip := func(x float64) float64 { return math.Max(lo, math.Min(hi, x)) }
	b := max(1, day/24)
	if period%b != 0 {
		b = 1
	}
	agg := make([]float64, len(v)/b)
	for i := range agg {
		var s float64
		var n int
		for _, x := range v[i*b : (i+1)*b] {
			if !math.IsNaN(x) {
				s += clip(x)
				n++
			}
		}
		agg[i] = math.NaN()
		if n > 0 {
			agg[i] = s / float64(n)
		}
	}
	return autocorrelation(agg, period/b)
}
