package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// A jump at 14:00 UTC every day that the HPA alone meets late: its
// unserved demand lies in that hour, 09:00 in New York (EST in early
// March), and the hours add up to the run's unserved fraction.
func TestUnservedByHour(t *testing.T) {
	var v []float64
	for range 4 {
		for m := range 24 * 60 {
			d := 100.0
			if m >= 14*60 && m < 14*60+30 {
				d = 400
			}
			if m >= 20*60 && m < 21*60 {
				d = math.NaN() // a gap: no demand, nothing unserved
			}
			v = append(v, d)
		}
	}
	demand := forecast.Series{Start: t0, Step: Minute, Values: v}
	cfg := DefaultConfig(20)
	cfg.Record = true
	cfg.EvalFrom = t0.Add(24 * time.Hour)
	r, err := Run(context.Background(), cfg, demand, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	if r.UnservedFraction < 0.001 {
		t.Fatalf("the HPA alone left %.3g%% unserved; the test needs it to miss the jump", 100*r.UnservedFraction)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc  *time.Location
		hour int
	}{{nil, 14}, {ny, 9}} {
		by, err := UnservedByHour(r, demand, cfg.EvalFrom, tc.loc)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, s := range by {
			sum += s
		}
		if math.Abs(sum-r.UnservedFraction) > 1e-12 {
			t.Errorf("%v: hours add up to %.6g, the run left %.6g unserved", tc.loc, sum, r.UnservedFraction)
		}
		if by[tc.hour] < 0.99*sum {
			t.Errorf("%v: hour %d holds %.4g of %.4g unserved; want all of it: %v", tc.loc, tc.hour, by[tc.hour], sum, by)
		}
	}
	// Counted from after the last jump, nothing is left unserved.
	late, err := UnservedByHour(r, demand, t0.Add(3*24*time.Hour+15*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if late != [24]float64{} {
		t.Errorf("evaluated from after the last jump: %v, want nothing unserved", late)
	}

	if _, err := UnservedByHour(Result{}, demand, time.Time{}, nil); err == nil {
		t.Error("a run without a timeline: want an error")
	}
	if _, err := UnservedByHour(r, demand.Slice(0, 60), time.Time{}, nil); err == nil {
		t.Error("another demand than the run's: want an error")
	}
}
