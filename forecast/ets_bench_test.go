package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// etsBenchInput is a demand-like series: a daily double peak whose height
// grows with a slow trend, weekday/weekend difference, noise, a few gaps.
func etsBenchInput(n, h int, step time.Duration) *Input {
	perDay := int(24 * time.Hour / step)
	r := rand.New(rand.NewPCG(42, 1))
	v := make([]float64, n)
	for i := range v {
		day := float64(i%perDay) / float64(perDay)
		shape := 1 + 0.6*math.Sin(2*math.Pi*(day-0.3)) + 0.2*math.Cos(4*math.Pi*day)
		level := 1000 * (1 + 0.1*float64(i)/float64(n))
		if (i/perDay)%7 >= 5 {
			level *= 0.7
		}
		v[i] = level*shape + 30*r.NormFloat64()
		if r.Float64() < 0.005 {
			v[i] = math.NaN()
		}
	}
	seasons := []Season{{"daily", perDay}, {"weekly", 7 * perDay}}
	return etsTestInput(v, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), step, time.UTC, seasons, h)
}

func benchmarkETS(b *testing.B, n, h int, step time.Duration) {
	in := etsBenchInput(n, h, step)
	for _, c := range []struct {
		name string
		m    ETS
	}{
		{"auto", ETS{}},
		{"damped-additive", ETS{Trend: TrendDamped, Seasonal: SeasonalAdditive}},
		{"damped-multiplicative", ETS{Trend: TrendDamped, Seasonal: SeasonalMultiplicative}},
		{"weekly-auto", ETS{Season: -1}},
		{"weekly-additive", ETS{Season: -1, Trend: TrendNone, Seasonal: SeasonalAdditive}},
		// The candidate forecast.Auto uses (auto.go).
		{"weekly-damped-additive-20", ETS{Season: -1, Trend: TrendDamped, Seasonal: SeasonalAdditive, MaxEvaluations: 20}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var fit Fit
			for b.Loop() {
				var err error
				fit, err = c.m.Fit(in)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.Log(fit.Detail)
		})
	}
}

// BenchmarkETSHourly1000 is the hourly case of the speed goals: 1,000
// points, 48 steps ahead.
func BenchmarkETSHourly1000(b *testing.B) { benchmarkETS(b, 1000, 48, time.Hour) }

// BenchmarkETS5min4032 is two weeks of 5-minute data, one day ahead.
func BenchmarkETS5min4032(b *testing.B) { benchmarkETS(b, 4032, 288, 5*time.Minute) }

// BenchmarkETS1min20160 is two weeks of 1-minute data, one day ahead.
func BenchmarkETS1min20160(b *testing.B) { benchmarkETS(b, 20160, 1440, time.Minute) }

// BenchmarkETSLoss measures one loss evaluation (one pass of the recursions
// over the window) per form; ns/op divided by the window is the per-point
// cost that every optimiser step pays.
func BenchmarkETSLoss(b *testing.B) {
	in := etsBenchInput(2000, 288, 5*time.Minute)
	for _, f := range []etsForm{{true, etsSeasonAdd}, {true, etsSeasonMul}, {false, etsSeasonNone}} {
		b.Run(f.String(), func(b *testing.B) {
			period := 0
			var slots []int32
			if f.season != etsSeasonNone {
				period, slots = 288, in.Slots[0]
			}
			sm := newETSSmoother(in.Values, slots, period, 288, true)
			sm.prepare(f)
			p := etsParams{alpha: 0.2, beta: 0.01, gamma: 0.1, phi: 0.9}
			b.ReportAllocs()
			for b.Loop() {
				sm.run(p)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2000, "ns/point")
		})
	}
}
