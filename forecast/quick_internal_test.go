package forecast

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestQuickCandidates: a quick selection (Options.Quick) validates only the
// candidates that fit in one pass, and says so in its detail; a full one
// validates them all, on the same series.
func TestQuickCandidates(t *testing.T) {
	// Two weeks of 5-minute load with a daily and a weekly cycle whose
	// swing grows with the level (so that Box-Cox is a candidate).
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	v := make([]float64, 14*288)
	for i := range v {
		tm := start.Add(time.Duration(i) * 5 * time.Minute)
		d := 100 * (1.2 + math.Sin(2*math.Pi*float64(i%288)/288))
		if wd := tm.Weekday(); wd == time.Saturday || wd == time.Sunday {
			d *= 0.6
		}
		v[i] = d * (1 + 0.05*math.Sin(float64(i)*1.7))
	}
	s := Series{Start: start, Step: 5 * time.Minute, Values: v}
	in := NewInput(s, 7, nil, nil, nil)
	names := func(cs []candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.name)
		}
		return out
	}
	full, quick := names(candidates(in, false)), names(candidates(in, true))
	if want := []string{"snaive", "profile-weekly", "profile-daily", "theta", "mstl"}; !slices.Equal(quick, want) {
		t.Errorf("quick candidates %v, want %v", quick, want)
	}
	for _, n := range []string{"ets", "harmonic", "harmonic-log", "mstl-boxcox"} {
		if !slices.Contains(full, n) {
			t.Errorf("full candidates %v lack %s", full, n)
		}
	}
	f, _, err := Select(s, Options{Horizon: 7, Quantiles: []float64{0.9}, Quick: true, Origins: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.Detail, "quick selection among 5 candidates") {
		t.Errorf("quick selection's detail %q does not say so", f.Detail)
	}
	if f, _, err = Select(s, Options{Horizon: 7, Quantiles: []float64{0.9}}); err != nil || strings.Contains(f.Detail, "quick") {
		t.Errorf("full selection: %v, detail %q", err, f.Detail)
	}
}
