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
		{0.9, 100, 0.05, nil}, {0.8, 110, 0.03, nil}, {0.7, 120, 0.035, nil}, {0.6, 130, 0.01, nil},
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

// dailyJump is 1-minute demand: 40 at night, ten times that from 09:00 to
// 12:00, every day.
func dailyJump(days int) forecast.Series {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	vals := make([]float64, days*1440)
	for i := range vals {
		vals[i] = 40
		if h := (i % 1440) / 60; h >= 9 && h < 12 {
			vals[i] = 400
		}
	}
	return forecast.Series{Start: start, Step: Minute, Values: vals}
}

// Floors raised ahead of a daily jump serve what a cooler HPA at the same
// cost does not: the comparison says they pay, and what they saved and
// paid is the difference of the two replays.
func TestCompareFloorsThatPay(t *testing.T) {
	demand := dailyJump(5)
	cfg := DefaultConfig(20) // 20 pods at the jump's 400
	floors := make([]int32, demand.Len())
	for i := range floors {
		// 29 pods (400 at 70%) from ten minutes before the jump to its end.
		if m := i % 1440; m >= 9*60-10 && m < 12*60 {
			floors[i] = 29
		}
	}
	im, err := Compare(context.Background(), cfg, demand, floors)
	if err != nil {
		t.Fatal(err)
	}
	if im.Reactive.UnservedFraction < 1e-3 || im.Predictive.UnservedFraction > 1e-4 {
		t.Fatalf("reactive leaves %.5f, floors %.5f: want some, nearly none", im.Reactive.UnservedFraction, im.Predictive.UnservedFraction)
	}
	if got, want := im.UnservedSaved(), im.Reactive.UnservedFraction-im.Predictive.UnservedFraction; got != want {
		t.Errorf("UnservedSaved %v, want %v", got, want)
	}
	if im.ReplicaHoursPaid() <= 0 {
		t.Errorf("floors paid %v replica-hours: want more than none", im.ReplicaHoursPaid())
	}
	if pays, why := im.Pays(0.2); !pays {
		t.Errorf("floors ahead of the jump do not pay: %s (equal cost %+v)", why, im.EqualCost)
	}
	if g := im.GainPerCost(); !(g > 1) {
		t.Errorf("gain per cost %v: the floors saved nearly all unserved demand for a fraction more pods", g)
	}
}

// Floors raised at the wrong hour cost pods and serve nothing: they do not
// pay, and a predictive strategy judging itself stands them down.
func TestStandDownDropsFloorsThatDoNotPay(t *testing.T) {
	demand := dailyJump(6)
	cfg := DefaultConfig(20)
	wrong := func(now time.Time) int32 {
		if h := now.Hour(); h >= 18 && h < 21 { // evenings: nothing happens then
			return 29
		}
		return 0
	}
	floors := make([]int32, demand.Len())
	for i := range floors {
		floors[i] = wrong(demand.Time(i))
	}
	im, err := Compare(context.Background(), cfg, demand, floors)
	if err != nil {
		t.Fatal(err)
	}
	if pays, why := im.Pays(0.2); pays {
		t.Fatalf("evening floors pay: %s", why)
	}
	f := NewFloors("predictive", planFunc(func(now time.Time, _ forecast.Series) (int32, error) { return wrong(now), nil }))
	f.StandDown = &StandDown{Cluster: cfg}
	if _, err := Run(context.Background(), cfg, demand, f); err != nil {
		t.Fatal(err)
	}
	down, why, last, n := f.StandDown.Status()
	if n < 2 || !down || last == nil {
		t.Fatalf("after %d judgements: stood down %v (%s)", n, down, why)
	}
	// Stood down from the first judgement (day 3), the floors add nothing
	// on the last days: the strategy costs what reactive costs there.
	cfg.EvalFrom = demand.Start.Add(4 * 24 * time.Hour)
	re, _ := Run(context.Background(), cfg, demand, Reactive{})
	f2 := NewFloors("predictive", planFunc(func(now time.Time, _ forecast.Series) (int32, error) { return wrong(now), nil }))
	f2.StandDown = &StandDown{Cluster: DefaultConfig(20)}
	pr, _ := Run(context.Background(), cfg, demand, f2)
	if math.Abs(pr.ReplicaHours-re.ReplicaHours) > 1e-6*re.ReplicaHours {
		t.Errorf("stood down, predictive spends %.2f replica-hours against reactive's %.2f", pr.ReplicaHours, re.ReplicaHours)
	}
}

type planFunc func(now time.Time, observed forecast.Series) (int32, error)

func (p planFunc) Plan(now time.Time, observed forecast.Series) (int32, error) {
	return p(now, observed)
}
