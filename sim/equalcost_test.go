package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// A curve from three targets: cooler HPA, more replica-hours, less unserved.
var testCurve = newCostCurve([]CurvePoint{
	{TargetUtilization: 0.5, ReplicaHours: 200, UnservedFraction: 0.001},
	{TargetUtilization: 0.9, ReplicaHours: 100, UnservedFraction: 0.04},
	{TargetUtilization: 0.7, ReplicaHours: 140, UnservedFraction: 0.01},
})

func TestCostCurveUnservedAt(t *testing.T) {
	for _, tc := range []struct {
		rh   float64
		want float64
		pos  Position
	}{
		{100, 0.04, Within},
		{140, 0.01, Within},
		// Half way from 100 to 140 replica-hours: geometric mean of 4% and 1%.
		{120, 0.02, Within},
		// A quarter of the way from 140 to 200: 0.01 × 0.1^0.25.
		{155, 0.01 * math.Pow(0.1, 0.25), Within},
		{90, 0.04, Beyond},   // cheaper than the warmest target: its value is a bound
		{250, 0.001, Beyond}, // dearer than the coolest target
	} {
		got, pos := testCurve.UnservedAt(tc.rh)
		if math.Abs(got-tc.want) > 1e-12 || pos != tc.pos {
			t.Errorf("UnservedAt(%v) = %v, %v; want %v, %v", tc.rh, got, pos, tc.want, tc.pos)
		}
	}
}

func TestCostCurveReplicaHoursAt(t *testing.T) {
	for _, tc := range []struct {
		u    float64
		want float64
		pos  Position
	}{
		{0.04, 100, Within},
		{0.02, 120, Within}, // the inverse of UnservedAt(120)
		{0.01, 140, Within},
		{0.0005, 200, Beyond}, // less than the coolest target leaves: reactive needs more than 200
		{0.08, 100, Beyond},   // more than the warmest leaves: reactive needs at most 100
	} {
		got, pos := testCurve.ReplicaHoursAt(tc.u)
		if math.Abs(got-tc.want) > 1e-9 || pos != tc.pos {
			t.Errorf("ReplicaHoursAt(%v) = %v, %v; want %v, %v", tc.u, got, pos, tc.want, tc.pos)
		}
	}
}

// A cooler target that left more unserved than a warmer one (the
// simulator's discreteness) must not make the curve rise with cost.
func TestCostCurveIsMonotone(t *testing.T) {
	c := newCostCurve([]CurvePoint{
		{0.9, 100, 0.05}, {0.8, 110, 0.03}, {0.7, 120, 0.035}, {0.6, 130, 0.01},
	})
	for i := 1; i < len(c); i++ {
		if c[i].ReplicaHours < c[i-1].ReplicaHours || c[i].UnservedFraction > c[i-1].UnservedFraction {
			t.Fatalf("curve not monotone at %d: %+v", i, c)
		}
	}
	if c[1].UnservedFraction != 0.035 {
		t.Errorf("110 replica-hours: unserved %v, want 0.035 (what the dearer 120 left): curve %+v", c[1].UnservedFraction, c)
	}
}

// The sweep itself: a cooler HPA spends more and leaves less unserved on a
// ramping demand, and SweepCurve widens the sweep until a dearer strategy
// lies on it.
func TestSweepCurveWidensToPlaceAStrategy(t *testing.T) {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	vals := make([]float64, 3*24*60)
	for i := range vals {
		// A sharp morning ramp each day: 5 to 100 within ten minutes.
		m := i % (24 * 60)
		switch {
		case m < 8*60:
			vals[i] = 5
		case m < 8*60+10:
			vals[i] = 5 + 9.5*float64(m-8*60)
		case m < 18*60:
			vals[i] = 100
		default:
			vals[i] = 5
		}
	}
	demand := forecast.Series{Start: start, Step: Minute, Values: vals}
	cfg := DefaultConfig(5)
	cfg.EvalFrom = start.Add(24 * time.Hour)
	curve, err := Sweep(context.Background(), cfg, demand, []float64{0.5, 0.7, 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if len(curve) != 3 || curve[0].TargetUtilization != 0.9 || curve[2].TargetUtilization != 0.5 {
		t.Fatalf("curve order: %+v", curve)
	}
	if !(curve[0].ReplicaHours < curve[2].ReplicaHours) || !(curve[0].UnservedFraction > curve[2].UnservedFraction) {
		t.Fatalf("a cooler HPA must cost more and leave less: %+v", curve)
	}
	// A strategy dearer than the coolest target swept.
	dear := Result{Strategy: "predictive", ReplicaHours: curve[2].ReplicaHours * 1.3, UnservedFraction: 0}
	wide, err := SweepCurve(context.Background(), cfg, demand, []float64{0.5, 0.7, 0.9}, []Result{dear})
	if err != nil {
		t.Fatal(err)
	}
	if !wide.covers(dear.ReplicaHours, 1) {
		t.Errorf("widened curve %+v does not reach %v replica-hours", wide, dear.ReplicaHours)
	}
	lowest := wide[len(wide)-1].TargetUtilization
	if !(lowest < 0.5 && lowest >= sweepLow-1e-9) {
		t.Errorf("coolest target %v: want below 0.5 and not below %v", lowest, sweepLow)
	}
	e := wide.Place(dear)
	if e.UnservedPosition != Within {
		t.Errorf("placed %+v: unserved at equal cost should be interpolated", e)
	}
}
