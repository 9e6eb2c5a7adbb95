package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/forecast"
)

// Minute is the simulator's demand resolution.
const Minute = time.Minute

// Resample puts a trace on the simulator's 1-minute grid.
//
// A sample of a coarser trace is the mean rate over its interval, so it is
// held for the whole interval (a 5-minute sample fills 5 minutes): this
// keeps the trace's mean and never moves a value earlier than it happened.
// A finer trace is averaged within each minute, gaps ignored.
//
// Gaps (NaN samples) of at most maxHold are filled with the last value, so
// that a dropped scrape does not punch a hole in the replay. Longer gaps stay
// NaN: the simulator treats those minutes as unknown (the HPA sees no
// metrics, and the minutes count towards no metric), which is what a
// market-hours trace's nights and weekends are.
func Resample(s forecast.Series, maxHold time.Duration) (forecast.Series, error) {
	if s.Len() == 0 {
		return forecast.Series{}, fmt.Errorf("resample: empty series")
	}
	if s.Step <= 0 {
		return forecast.Series{}, fmt.Errorf("resample: step %v is not positive", s.Step)
	}
	start := s.Start.Truncate(Minute)
	end := s.Time(s.Len()) // exclusive
	n := int(end.Sub(start) / Minute)
	if end.Sub(start)%Minute != 0 {
		n++
	}
	out := make([]float64, n)
	if s.Step >= Minute {
		for i := range out {
			out[i] = math.NaN()
		}
		for i, v := range s.Values {
			from := int(s.Time(i).Sub(start) / Minute)
			to := int(s.Time(i+1).Sub(start) / Minute)
			for m := from; m < to && m < n; m++ {
				out[m] = v
			}
		}
	} else {
		sum := make([]float64, n)
		cnt := make([]int, n)
		for i, v := range s.Values {
			if math.IsNaN(v) {
				continue
			}
			m := int(s.Time(i).Sub(start) / Minute)
			sum[m] += v
			cnt[m]++
		}
		for m := range out {
			if cnt[m] == 0 {
				out[m] = math.NaN()
			} else {
				out[m] = sum[m] / float64(cnt[m])
			}
		}
	}
	holdGaps(out, int(maxHold/Minute))
	return forecast.Series{Start: start, Step: Minute, Values: out}, nil
}

// holdGaps fills runs of at most maxRun NaNs that follow a value with that
// value; longer runs and leading NaNs are left alone.
func holdGaps(v []float64, maxRun int) {
	for i := 0; i < len(v); {
		if !math.IsNaN(v[i]) || i == 0 {
			i++
			continue
		}
		j := i
		for j < len(v) && math.IsNaN(v[j]) {
			j++
		}
		if j-i <= maxRun && !math.IsNaN(v[i-1]) {
			for k := i; k < j; k++ {
				v[k] = v[i-1]
			}
		}
		i = j
	}
}

// PeakCapacity is the per-pod capacity that makes the peak of demand need
// exactly peakReplicas pods (the design's default sizing, c = peak / N).
func PeakCapacity(demand forecast.Series, peakReplicas int) (float64, error) {
	if peakReplicas <= 0 {
		return 0, fmt.Errorf("peak replicas %d: must be positive", peakReplicas)
	}
	peak := math.Inf(-1)
	for _, v := range demand.Values {
		if !math.IsNaN(v) && v > peak {
			peak = v
		}
	}
	if math.IsInf(peak, -1) || peak <= 0 {
		return 0, fmt.Errorf("demand has no positive sample to size pods from")
	}
	return peak / float64(peakReplicas), nil
}
