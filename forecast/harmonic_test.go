package forecast_test

import (
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// TestHarmonicRegressors: a holiday regressor supplied by the caller lets
// the harmonic model forecast a quiet holiday, which the seasonal terms
// alone cannot know about.
func TestHarmonicRegressors(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // a Monday
	holidays := map[string]bool{"2024-01-15": true, "2024-02-19": true, "2024-01-31": true, "2024-02-27": true}
	isHoliday := func(tm time.Time) []float64 {
		if holidays[tm.Format("2006-01-02")] {
			return []float64{1}
		}
		return []float64{0}
	}
	demand := func(tm time.Time) float64 {
		d := 100 + 50*math.Sin(2*math.Pi*float64(tm.Hour())/24)
		if isHoliday(tm)[0] == 1 {
			d *= 0.4
		}
		return d
	}
	n := 24 * 56
	v := make([]float64, n)
	for i := range v {
		v[i] = demand(start.Add(time.Duration(i) * time.Hour))
	}
	s := forecast.Series{Start: start, Step: time.Hour, Values: v}
	// The forecast day, the day after the history, is a holiday.
	holidays[s.Time(n).Format("2006-01-02")] = true
	for _, c := range []struct {
		name       string
		regressors func(time.Time) []float64
		wantLow    bool
	}{
		{"with the holiday regressor", isHoliday, true},
		{"without", nil, false},
	} {
		in := forecast.NewInput(s, 24, time.UTC, nil, c.regressors)
		for _, m := range []forecast.Harmonic{{}, {Log: true}} {
			f, err := m.Fit(in)
			if err != nil {
				t.Fatal(err)
			}
			var got, want float64
			for h, x := range f.Mean {
				got += x
				want += demand(s.Time(n + h))
			}
			low := math.Abs(got-want) < 0.1*want
			if low != c.wantLow {
				t.Errorf("%s, %s: forecast day total %.0f, holiday demand %.0f (normal day %.0f)", c.name, f.Detail, got, want, want/0.4)
			}
		}
	}
}
