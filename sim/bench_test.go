package sim

import (
	"context"
	"testing"
	"time"

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
		b.Fatal(err)
	}
	d, err := Resample(s, 15*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	d = d.Slice(0, 30*1440)
	// The default refits the chosen models and selects every 6 hours;
	// "select-every-refit" validates every candidate at every refit (the
	// baseline, run in the same process for a ratio).
	for _, bc := range []struct {
		name     string
		reselect time.Duration
	}{{"default", 0}, {"select-every-refit", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rep, err := Backtest(context.Background(), d, Setup{Refit: 15 * time.Minute, Reselect: bc.reselect})
				if err != nil {
					b.Fatal(err)
				}
				r, _ := rep.Result("predictive")
				if r.FloorErrors > 0 {
					b.Fatalf("%d floor errors: %v", r.FloorErrors, r.LastFloorError)
				}
				b.ReportMetric(r.UnservedFraction*100, "unserved-%")
				b.ReportMetric(r.ReplicaHours, "replica-h")
			}
		})
	}
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
