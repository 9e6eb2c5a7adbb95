package forecast

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestETSTunedKeepsParameters: a tuned ETS refits on a later cut without a
// parameter search, and forecasts about as well as a full refit there.
func TestETSTunedKeepsParameters(t *testing.T) {
	n := 24 * 35
	v := make([]float64, n)
	for i := range v {
		v[i] = 100 + 40*math.Sin(2*math.Pi*float64(i%24)/24) + 10*math.Sin(2*math.Pi*float64(i%168)/168) + float64(i%7)
	}
	s := Series{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Hour, Values: v}
	in := NewInput(s, 24, time.UTC, []Season{{"daily", 24}, {"weekly", 168}}, nil)
	m := ETS{Trend: TrendNone, Seasonal: SeasonalAdditive, Season: -1, MaxEvaluations: 20}
	var tm tunable = m
	tuned := tm.Tuned(in.Truncate(n-72, 24))
	late := in.Truncate(n-24, 24)
	got, err := tuned.Fit(late)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Detail, "parameters kept") {
		t.Errorf("detail %q: the tuned model searched again", got.Detail)
	}
	full, err := m.Fit(late)
	if err != nil {
		t.Fatal(err)
	}
	var eg, ef float64
	for h := range got.Mean {
		actual := v[n-24+h]
		eg += math.Abs(got.Mean[h] - actual)
		ef += math.Abs(full.Mean[h] - actual)
	}
	if eg > 1.5*ef+1 {
		t.Errorf("tuned MAE %.2f, full refit %.2f", eg/24, ef/24)
	}
}
