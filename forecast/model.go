package forecast

import (
	"math"
	"time"
)

// Season is one seasonal cycle of a series, measured in grid steps in local
// time: 24 for the day of hourly data, 2016 for the week of 5-minute data.
type Season struct {
	Name   string // "daily" or "weekly"
	Period int    // steps per cycle
}

// Input is what a model is fitted on: a history with gaps, the seasons found
// in it, the local-time slot of every grid point of the history and of the
// horizon, and optional regressors (holidays, events) supplied by the caller.
//
// Inputs are cheap to cut at an earlier origin (see Input.Truncate), which is
// how rolling-origin validation refits a model on the past only.
type Input struct {
	Series
	// Horizon is the number of steps to forecast after the last grid point.
	Horizon int
	// Seasons, shortest first. May be empty.
	Seasons []Season
	// Slots[k][i] is the slot in [0, Seasons[k].Period) of grid index i,
	// for i in [0, Len()+Horizon). It is computed in local time, so on a
	// DST day two grid points may share a slot or a slot may be skipped.
	Slots [][]int32
	// Regressors[i] holds the caller's regressor values (1 on a holiday,
	// 0 otherwise, say) at grid index i in [0, Len()+Horizon). Nil when
	// there are none.
	Regressors [][]float64
	// NonNegative is true when every observed value is >= 0; forecasts are
	// then clipped at zero.
	NonNegative bool

	// cache holds work that models fitted on this input and its
	// truncations can share; nil disables sharing.
	cache *fitCache
}

// Truncate returns the input as seen at origin o (history [0, o)), with a
// horizon of h steps. Slot and regressor arrays are shared, not copied.
func (in *Input) Truncate(o, h int) *Input {
	out := *in
	out.Series = in.Series.Slice(0, o)
	out.Horizon = h
	out.Slots = make([][]int32, len(in.Slots))
	for k := range in.Slots {
		out.Slots[k] = in.Slots[k][:o+h]
	}
	if in.Regressors != nil {
		out.Regressors = in.Regressors[:o+h]
	}
	return &out
}

// Model is one forecasting method. Fit must not retain in beyond the call
// unless the Fitted needs it, and must treat NaN values as gaps.
type Model interface {
	// Name identifies the model in output and metrics, e.g. "ets".
	Name() string
	// Fit fits the model on in and returns the point forecast of the
	// in.Horizon steps after the history.
	Fit(in *Input) (Fit, error)
}

// Fit is a fitted model's point forecast and what it says about itself.
type Fit struct {
	// Mean has in.Horizon point forecasts.
	Mean []float64
	// Detail describes the fitted form, e.g. "ets(A,Ad,M) alpha=0.31".
	Detail string
	// Quantile, when set, is the model's own predictive distribution:
	// the q-quantile of each horizon step. A model whose errors vary in a
	// way pooled calibration cannot see (Session: by time of day, and with
	// the level) supplies it; nil for the others, whose quantiles come
	// from their validation errors (calibrate).
	Quantile func(q float64) []float64
}

// slotTimes returns, for n grid points from start, the local-time slot of
// each point in each season. The daily slot is the local time of day divided
// by the step; the weekly slot adds the local weekday. When the step does not
// divide a day, slots fall back to positions on the UTC grid.
func slotTimes(start time.Time, step time.Duration, n int, loc *time.Location, seasons []Season) [][]int32 {
	out := make([][]int32, len(seasons))
	for k := range seasons {
		out[k] = make([]int32, n)
	}
	if len(seasons) == 0 {
		return out
	}
	stepSec := int64(step / time.Second)
	aligned := stepSec > 0 && 86400%stepSec == 0
	perDay := int64(0)
	if aligned {
		perDay = 86400 / stepSec
	}
	// Local offsets change rarely: cache the zone offset and recompute only
	// when the UTC time crosses the current zone period's bounds.
	var offStart, offEnd int64 = math.MaxInt64, math.MinInt64
	var off int64
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(i) * step)
		u := t.Unix()
		if u < offStart || u >= offEnd {
			_, o := t.In(loc).Zone()
			off = int64(o)
			s, e := t.In(loc).ZoneBounds()
			offStart, offEnd = math.MinInt64, math.MaxInt64
			if !s.IsZero() {
				offStart = s.Unix()
			}
			if !e.IsZero() {
				offEnd = e.Unix()
			}
		}
		local := u + off
		for k, s := range seasons {
			var slot int64
			if aligned && int64(s.Period)%perDay == 0 {
				days := int64(s.Period) / perDay
				sod := floorMod(local, 86400) / stepSec
				// Day index: 1970-01-01 was a Thursday; shift so Monday is 0.
				day := floorDiv(local, 86400) + 3
				slot = floorMod(day, days)*perDay + sod
			} else {
				slot = floorMod(int64(i)+offsetIndex(start, step), int64(s.Period))
			}
			out[k][i] = int32(slot)
		}
	}
	return out
}

// offsetIndex anchors UTC-grid slots at the Unix epoch so that two series of
// the same step agree on slot numbers.
func offsetIndex(start time.Time, step time.Duration) int64 {
	if step <= 0 {
		return 0
	}
	return int64(start.Sub(time.Unix(0, 0)) / step)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
