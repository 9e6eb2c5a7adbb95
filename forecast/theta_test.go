package forecast_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// TestThetaTrendAndSeason: on a noiseless series with a linear trend and a
// multiplicative daily cycle, Theta's forecast follows the trend at half
// its slope (the method's drift) plus the smoothed level, and puts the
// cycle back: one day ahead it is within a few percent of the truth, where
// a seasonal naive would lag the trend by a whole day.
func TestThetaTrendAndSeason(t *testing.T) {
	const days, h = 14, 24
	start := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	truth := func(i int) float64 {
		return (100 + 0.5*float64(i)) * (1 + 0.4*math.Sin(2*math.Pi*float64(i%24)/24))
	}
	v := make([]float64, days*24)
	for i := range v {
		v[i] = truth(i)
	}
	v[30] = math.NaN() // a gap
	s := forecast.Series{Start: start, Step: time.Hour, Values: v}
	in := forecast.NewInput(s, h, time.UTC, []forecast.Season{{Name: "daily", Period: 24}}, nil)
	f, err := forecast.Theta{Season: 0}.Fit(in)
	if err != nil {
		t.Fatal(err)
	}
	var worst float64
	for k, m := range f.Mean {
		want := truth(len(v) + k)
		worst = math.Max(worst, math.Abs(m-want)/want)
	}
	if worst > 0.05 {
		t.Errorf("worst relative error %.3f over the next day, want under 5%%: %v", worst, f.Mean)
	}
	sn, err := forecast.SeasonalNaive{Season: 0}.Fit(in)
	if err != nil {
		t.Fatal(err)
	}
	var snWorst float64
	for k, m := range sn.Mean {
		want := truth(len(v) + k)
		snWorst = math.Max(snWorst, math.Abs(m-want)/want)
	}
	if snWorst <= worst {
		t.Errorf("seasonal naive's worst error %.3f is no worse than theta's %.3f", snWorst, worst)
	}
	// With no season it still fits and forecasts the trend.
	in = forecast.NewInput(s, h, time.UTC, []forecast.Season{}, nil)
	if f, err = (forecast.Theta{Season: -1}).Fit(in); err != nil || len(f.Mean) != h {
		t.Fatalf("no season: %v %v", f.Mean, err)
	}
}

// TestMSTLTwoSeasons: a daily and a weekly cycle (weekends at half the
// load) on a slowly rising level, with noise. MSTL takes both out and puts
// them back: a day ahead, on a Saturday, its error is a fraction of what a
// daily profile alone makes (which forecasts a weekday), and it is close to
// the truth.
func TestMSTLTwoSeasons(t *testing.T) {
	const days, h = 35, 24
	start := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // a Monday
	truth := func(i int) float64 {
		day := (i / 24) % 7
		w := 1.0
		if day >= 5 {
			w = 0.5
		}
		return (200 + 0.05*float64(i)) * w * (1 + 0.5*math.Sin(2*math.Pi*float64(i%24)/24))
	}
	rng := rand.New(rand.NewPCG(4, 2))
	v := make([]float64, days*24-48) // ends on a Friday night
	for i := range v {
		v[i] = truth(i) + 5*rng.NormFloat64()
	}
	s := forecast.Series{Start: start, Step: time.Hour, Values: v}
	seasons := []forecast.Season{{Name: "daily", Period: 24}, {Name: "weekly", Period: 168}}
	in := forecast.NewInput(s, h, time.UTC, seasons, nil)
	f, err := forecast.MSTL{}.Fit(in)
	if err != nil {
		t.Fatal(err)
	}
	daily, err := forecast.SeasonalProfile{Season: 0, Cycles: 7, Decay: 0.85}.Fit(in)
	if err != nil {
		t.Fatal(err)
	}
	var em, ed, level float64
	for k := range h {
		want := truth(len(v) + k)
		em += math.Abs(f.Mean[k] - want)
		ed += math.Abs(daily.Mean[k] - want)
		level += want
	}
	if em > 0.05*level {
		t.Errorf("MSTL mean absolute error %.1f, over 5%% of the mean level %.1f (%s)", em/h, level/h, f.Detail)
	}
	if em > 0.3*ed {
		t.Errorf("MSTL error %.1f not a fraction of the daily profile's %.1f", em/h, ed/h)
	}
}
