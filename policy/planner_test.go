package policy

import (
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

func TestResample(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 2, 0, 0, time.UTC)
	s := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, 20)}
	for i := range s.Values {
		s.Values[i] = float64(i)
	}
	s.Values[9] = math.NaN()
	r := Resample(s, 5*time.Minute, time.Time{}, start.Add(time.Hour))
	// Buckets 00:05 (i=3..7), 00:10 (8..12 without 9), 00:15 (13..17);
	// 00:00 and 00:20 are incomplete.
	if !r.Start.Equal(start.Add(3*time.Minute)) || r.Len() != 3 {
		t.Fatalf("start %s len %d", r.Start, r.Len())
	}
	for i, want := range []float64{5, (8 + 10 + 11 + 12) / 4.0, 15} {
		if r.Values[i] != want {
			t.Errorf("bucket %d = %v, want %v", i, r.Values[i], want)
		}
	}
}

// The planner refits on its own schedule and returns the engine's floor.
func TestTargetPlanner(t *testing.T) {
	e := parsePolicy(t, base)
	fits := 0
	// A stub model: p90 = the last observed bucket, for 3 hours.
	stub := func(s forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		fits++
		last := s.Values[s.Len()-1]
		f := &forecast.Forecast{Model: "stub", Start: s.Time(s.Len()), Step: s.Step, Mean: make([]float64, o.Horizon),
			Quantiles: map[float64][]float64{0.9: make([]float64, o.Horizon)}}
		for i := range f.Mean {
			f.Mean[i], f.Quantiles[0.9][i] = last, last
		}
		return f, nil
	}
	p := &TargetPlanner{Engine: e, Forecast: stub}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	demand := forecast.Series{Start: start, Step: time.Minute}
	var floors []int32
	for m := 0; m < 60; m++ {
		demand.Values = append(demand.Values, 1000)
		f, err := p.Plan(start.Add(time.Duration(m+1)*time.Minute), demand)
		if err != nil {
			t.Fatal(err)
		}
		floors = append(floors, f)
	}
	// Before a complete 5-minute bucket there is no forecast: the owner's 2.
	if floors[0] != 2 {
		t.Errorf("first floor %d, want 2", floors[0])
	}
	// 1000 at p90: ceil(1100 / 70) = 16, reached within the max step up of 5.
	if last := floors[len(floors)-1]; last != 16 {
		t.Errorf("floor %d, want 16; reasons %q", last, p.Last.Resources[0].Reasons)
	}
	if fits < 3 || fits > 6 {
		t.Errorf("%d fits in an hour, want one per 15 minutes", fits)
	}
}
