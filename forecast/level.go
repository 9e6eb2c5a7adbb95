package forecast

import (
	"fmt"
	"math"
	"sort"
)

// RecentLevel forecasts a flat line at the trimmed mean of the last Window
// observations. For series with no usable seasonality and bursty noise
// (counts of rare events, say) it beats the last value, which is mostly
// noise, and it ignores the bursts that a plain mean would chase.
type RecentLevel struct {
	// Window in steps; 0 means one day of steps, or 24.
	Window int
}

// Name implements Model.
func (m RecentLevel) Name() string { return "level" }

// Fit implements Model.
func (m RecentLevel) Fit(in *Input) (Fit, error) {
	w := m.Window
	if w <= 0 {
		w = 24
		if len(in.Seasons) > 0 {
			w = in.Seasons[0].Period
		} else if c := candidateSeasons(in.Step); len(c) > 0 {
			w = c[0].Period
		}
	}
	n := in.Len()
	vals := make([]float64, 0, w)
	for i := max(0, n-w); i < n; i++ {
		if v := in.Values[i]; !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return Fit{}, fmt.Errorf("level: no observations in the last %d steps", w)
	}
	sort.Float64s(vals)
	// Trim 10% at each end.
	cut := len(vals) / 10
	kept := vals[cut : len(vals)-cut]
	var s float64
	for _, v := range kept {
		s += v
	}
	lvl := s / float64(len(kept))
	mean := make([]float64, in.Horizon)
	for i := range mean {
		mean[i] = lvl
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("level(trimmed mean of last %d steps = %.4g)", w, lvl)}, nil
}
