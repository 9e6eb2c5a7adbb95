package sim

import (
	"errors"
	"math"
	"time"

	"github.com/prescale/prescale/forecast"
)

// UnservedByHour splits a run's unserved demand by local hour of the day:
// element h is the demand left unserved in hour h (in loc, nil UTC) over
// the evaluated span, as a share of all the demand evaluated, so the 24
// shares add up to r.UnservedFraction. It shows where a strategy loses: at
// a market's open or close, at the nightly batch, or spread through the
// day where the load is noise. The run must have been recorded
// (Config.Record) on demand, the 1-minute series it replayed, evaluated
// from evalFrom (zero: all of it).
func UnservedByHour(r Result, demand forecast.Series, evalFrom time.Time, loc *time.Location) ([24]float64, error) {
	var out [24]float64
	tl := r.Timeline
	if tl == nil {
		return out, errors.New("unserved by hour: the run kept no timeline (Config.Record)")
	}
	if demand.Step != Minute || !tl.Start.Equal(demand.Start) || len(tl.Unserved) != demand.Len() {
		return out, errors.New("unserved by hour: the timeline is not of this demand")
	}
	if loc == nil {
		loc = time.UTC
	}
	from := 0
	if !evalFrom.IsZero() {
		from = max(0, int(evalFrom.Sub(demand.Start)/Minute))
	}
	total := 0.0
	for m := from; m < demand.Len(); m++ {
		d := demand.Values[m]
		if math.IsNaN(d) {
			continue
		}
		total += d
		out[demand.Time(m).In(loc).Hour()] += tl.Unserved[m]
	}
	if total <= 0 {
		return [24]float64{}, nil
	}
	for h := range out {
		out[h] /= total
	}
	return out, nil
}
