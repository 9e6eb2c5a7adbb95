package sim

import (
	"context"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

// BenchmarkBacktest30Days is the speed goal: 30 days of 1-minute demand
// (the first 30 days of testdata/nyc_taxi.csv, put on a 1-minute grid and
// replayed as a 1-minute trace), all four strategies, the predictive model
// refitted every 15 simulated minutes on 5-minute buckets. One iteration is
// one whole backtest; the goal is at most 30 s on 2 cores.
//
//	go test -run '^$' -bench Backtest30Days -benchtime 1x ./sim/
func BenchmarkBacktest30Days(b *testing.B) {
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		b.Skip(err)
	}
	d, err := Resample(s, 15*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	d = d.Slice(0, 30*1440)
	// Count and time the model's fits, to tell the model's share of the
	// time from the simulator's.
	var fits int
	var fitTime time.Duration
	setup := Setup{Refit: 15 * time.Minute, Forecast: func(h forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		start := time.Now()
		defer func() { fits++; fitTime += time.Since(start) }()
		return forecast.Auto(h, o)
	}}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Backtest(context.Background(), d, setup)
		if err != nil {
			b.Fatal(err)
		}
		if r, _ := rep.Result("predictive"); r.FloorErrors > 0 {
			b.Fatalf("%d floor errors: %v", r.FloorErrors, r.LastFloorError)
		}
	}
	b.ReportMetric(float64(fits)/float64(b.N), "fits/op")
	b.ReportMetric(fitTime.Seconds()*1000/float64(fits), "ms/fit")
	b.ReportMetric(fitTime.Seconds()/float64(b.N), "fit-s/op")
}

// BenchmarkRunReactive30Days is the simulator loop alone (no model): 30
// days at a 15 s tick.
func BenchmarkRunReactive30Days(b *testing.B) {
	d := daily(30)
	cfg := DefaultConfig(10)
	for b.Loop() {
		if _, err := Run(context.Background(), cfg, d, Reactive{}); err != nil {
			b.Fatal(err)
		}
	}
}
