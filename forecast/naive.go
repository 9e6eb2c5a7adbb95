package forecast

import (
	"fmt"
	"math"
)

// SeasonalNaive forecasts each step with the last observed value at the same
// local-time slot of the chosen season: the baseline every other model must
// beat. Season selects Input.Seasons by index; -1 means the longest season.
// With no season it repeats the last observation.
type SeasonalNaive struct {
	Season int
}

// Name implements Model.
func (m SeasonalNaive) Name() string { return "snaive" }

// Fit implements Model.
func (m SeasonalNaive) Fit(in *Input) (Fit, error) {
	n := in.Len()
	last, ok := lastObserved(in.Values)
	if !ok {
		return Fit{}, fmt.Errorf("snaive: no observed values")
	}
	mean := make([]float64, in.Horizon)
	k := m.Season
	if k < 0 || k >= len(in.Seasons) {
		k = len(in.Seasons) - 1
	}
	if k < 0 {
		for i := range mean {
			mean[i] = last
		}
		return Fit{Mean: mean, Detail: "naive (no season)"}, nil
	}
	// latest[slot] is the last observed value at that slot; it is updated
	// as the forecast walks forward, so horizons longer than a season reuse
	// the forecast itself, as the textbook method does.
	period := in.Seasons[k].Period
	slots := in.Slots[k]
	sp, latest := getScratch(period)
	defer putScratch(sp)
	for i := range latest {
		latest[i] = math.NaN()
	}
	start := n - 2*period
	if start < 0 {
		start = 0
	}
	for i := start; i < n; i++ {
		if v := in.Values[i]; !math.IsNaN(v) {
			latest[slots[i]] = v
		}
	}
	for i := range mean {
		v := latest[slots[n+i]]
		if math.IsNaN(v) {
			v = last
		}
		mean[i] = v
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("snaive(%s, period %d)", in.Seasons[k].Name, period)}, nil
}

func lastObserved(v []float64) (float64, bool) {
	for i := len(v) - 1; i >= 0; i-- {
		if !math.IsNaN(v[i]) {
			return v[i], true
		}
	}
	return math.NaN(), false
}
