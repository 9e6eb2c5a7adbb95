package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestHarmonicIncrementalEqualsDirect: fitted at validation's origins in
// validation's order (the latest few ascending, then the earlier ones,
// then the whole history), harmonic regression takes each origin's normal
// matrix from an earlier origin's (normalBlock.advance); its forecasts must
// equal those of fits that build every matrix afresh (no cache), to
// floating-point noise, on series with gaps, leading gaps, one season or
// two, hourly and 5-minute steps, a cut start that moves with the origin,
// and regressors (which take the direct path).
func TestHarmonicIncrementalEqualsDirect(t *testing.T) {
	type tc struct {
		name    string
		step    time.Duration
		n, h    int
		spacing int
		gaps    float64 // share of points missing, in runs
		lead    int     // leading missing points
		reg     bool
		chained bool // whether any origin must be advanced
	}
	cases := []tc{
		{"hourly 1000 h48", time.Hour, 1000, 48, 24, 0, 0, false, true},
		{"hourly 1000 h48 gaps", time.Hour, 1000, 48, 24, 0.1, 30, false, true},
		{"hourly 700 h1", time.Hour, 700, 1, 1, 0.05, 0, false, true},
		{"hourly 2400 (cut start moves)", time.Hour, 2400, 48, 24, 0.02, 0, false, false},
		{"hourly 300 daily only", time.Hour, 300, 12, 12, 0.05, 0, false, true},
		{"5min 4032 h7", 5 * time.Minute, 4032, 7, 7, 0.03, 100, false, true},
		{"5min 4032 h288", 5 * time.Minute, 4032, 288, 288, 0.03, 0, false, true},
		{"hourly 1000 regressors", time.Hour, 1000, 48, 24, 0.05, 0, true, false},
	}
	r := rand.New(rand.NewPCG(14, 9))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
			perDay := int(24 * time.Hour / c.step)
			v := make([]float64, c.n)
			lvl := 200.0
			for i := range v {
				lvl *= math.Exp(0.002 * r.NormFloat64())
				day := math.Sin(2 * math.Pi * float64(i%perDay) / float64(perDay))
				week := math.Cos(2 * math.Pi * float64(i%(7*perDay)) / float64(7*perDay))
				v[i] = lvl * (1 + 0.5*day + 0.2*week) * math.Exp(0.1*r.NormFloat64())
			}
			for i := 0; i < c.lead; i++ {
				v[i] = math.NaN()
			}
			for i := 0; i < c.n; i++ {
				if r.Float64() < c.gaps/5 {
					for j := i; j < min(c.n, i+5); j++ {
						v[j] = math.NaN()
					}
					i += 5
				}
			}
			s := Series{Start: start, Step: c.step, Values: v}
			var reg func(time.Time) []float64
			if c.reg {
				reg = func(tm time.Time) []float64 {
					if tm.YearDay()%9 == 0 {
						return []float64{1}
					}
					return []float64{0}
				}
			}
			in := NewInput(s, c.h, nil, nil, reg)
			var origins []int
			for o := c.n - c.h; o >= c.n/2 && len(origins) < 12; o -= c.spacing {
				origins = append([]int{o}, origins...)
			}
			order := append(append(append([]int(nil), origins[len(origins)-4:]...), origins[:len(origins)-4]...), c.n)
			direct := *in
			direct.cache = nil
			for _, m := range []Harmonic{{WeeklyTerms: 24, Level: 0.5}, {WeeklyTerms: 24, Log: true, Level: 0.5}, {}} {
				for _, o := range order {
					h := c.h
					if o == c.n {
						h = in.Horizon
					}
					got, err := m.Fit(in.Truncate(o, h))
					if err != nil {
						t.Fatal(err)
					}
					want, err := m.Fit(direct.Truncate(o, h))
					if err != nil {
						t.Fatal(err)
					}
					for k := range want.Mean {
						if d := math.Abs(got.Mean[k] - want.Mean[k]); d > 1e-9*math.Max(1, math.Abs(want.Mean[k])) {
							t.Fatalf("%+v at origin %d step %d: %v incrementally, %v directly (diff %g)",
								m, o, k, got.Mean[k], want.Mean[k], d)
						}
					}
				}
			}
			if adv := in.cache.advanced; (adv > 0) != c.chained {
				t.Errorf("%d normal blocks advanced from an earlier origin's: want some = %v", adv, c.chained)
			}
		})
	}
}
