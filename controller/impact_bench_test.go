package controller

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/sim"
)

// The speed bar: a target's daily comparison of its floors with
// the HPA alone (judge) costs at most 5% of its refits' CPU. Both scale
// with the number of targets, so the ratio per target is the ratio at
// 10,000 targets. Each benchmark is one target's work on a typical 14-day
// 5-minute series (the ELB trace, 4,032 points), reported in CPU time per
// operation (wall time inflates with the load of others on a shared
// machine). Compare in one run:
//
//	go test -run '^$' -bench 'Benchmark(Compare|Refit)$' -count 5 ./controller/
//
// A target is judged once a day (BenchmarkCompare: the 14-day and 7-day
// comparisons judge makes); it is refitted every 15 minutes, 96 times a
// day, the chosen models refitted (BenchmarkRefit/refit) and selected
// afresh every 3 to 6 hours (BenchmarkRefit/select).

// benchTarget is the ELB trace's first 14 days and the floors a forecast
// without error would plan on it: the pods the next 20 minutes need at a
// 70% target with 20 per pod.
func benchTarget(b *testing.B) (forecast.Series, func(time.Time) int) {
	return benchTraceTarget(b, "../testdata/elb_request_count_8c0756.csv", 14)
}

// benchTraceTarget is benchTarget on the first days of another trace.
func benchTraceTarget(b *testing.B, file string, days int) (forecast.Series, func(time.Time) int) {
	b.Helper()
	tr, err := trace.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	tr = tr.Slice(0, min(tr.Len(), days*288))
	demandAt := func(t time.Time) float64 {
		i := int(t.Sub(tr.Start) / tr.Step)
		if i < 0 || i >= tr.Len() || math.IsNaN(tr.Values[i]) {
			return 0
		}
		return tr.Values[i]
	}
	return tr, func(t time.Time) int {
		peak := 0.0
		for m := 5; m <= 20; m += 5 {
			peak = math.Max(peak, demandAt(t.Add(time.Duration(m)*time.Minute)))
		}
		return int(math.Ceil(peak / (20 * 0.7)))
	}
}

// BenchmarkCompare is one target's first judgement, as judge makes it:
// the history resampled to minutes, the recorded floors per minute at the
// owner's quantile and the default operating points (here 80% and 90% of
// the owner's floors), and judgeFloors: the 14-day comparisons of every
// level and the 7-day one of the level chosen, every day of it replayed
// (nothing judged before).
func BenchmarkCompare(b *testing.B) {
	tr, floor := benchTarget(b)
	lg := benchLedger(tr, floor)
	cfg := benchCluster()
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		lg.replays = sim.Replays{}
		demand, err := sim.Resample(tr, 15*time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := judgeFloors(ctx, cfg, demand, lg, 0.9, true); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkCompareDaily is a target's judgement a day after the last, as
// the daemon makes it every day: the 14-day span slid by a day (Twitter
// GOOG's days 2-16, judged at 09:00 UTC) with the replays of the
// judgement the day before (days 1-15) at hand, so only the new day, the
// part-day the span now starts with and today's are replayed. cold is
// the same judgement with nothing replayed before.
func BenchmarkCompareDaily(b *testing.B) {
	tr, floor := benchTraceTarget(b, "../testdata/Twitter_volume_GOOG.csv", 17)
	lg := benchLedger(tr, floor)
	cfg := benchCluster()
	ctx := context.Background()
	demand, err := sim.Resample(tr, 15*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	at := func(day int) int { // minutes to 09:00 UTC of day
		start := demand.Start.UTC().Truncate(24 * time.Hour).Add(time.Duration(day)*24*time.Hour + 9*time.Hour)
		return int(start.Sub(demand.Start) / time.Minute)
	}
	before, today := demand.Slice(at(1), at(15)), demand.Slice(at(2), at(16))
	if _, err := judgeFloors(ctx, cfg, before, lg, 0.9, true); err != nil {
		b.Fatal(err)
	}
	judged := lg.replays
	for _, c := range []struct {
		name  string
		cache func() sim.Replays
	}{
		{"cold", func() sim.Replays { return sim.Replays{} }},
		{"daily", func() sim.Replays { return judged.Clone() }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				lg.replays = c.cache()
				if _, err := judgeFloors(ctx, cfg, today, lg, 0.9, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// benchLedger records floor at the 5-minute grid over tr, at the owner's
// p90 and at 80% and 90% of it for p50 and p70.
func benchLedger(tr forecast.Series, floor func(time.Time) int) *floorLedger {
	lg := &floorLedger{}
	end := tr.Time(tr.Len())
	levels := []float64{0.9, 0.5, 0.7}
	for t := tr.Start; t.Before(end); t = t.Add(ledgerStep) {
		f := floor(t)
		lg.record(t, f, levels, f*8/10, f*9/10)
	}
	return lg
}

func benchCluster() sim.Config {
	cfg := sim.DefaultConfig(20)
	cfg.TargetUtilization, cfg.MinReplicas, cfg.MaxReplicas = 0.7, 2, 100
	return cfg
}

// BenchmarkRefit is one target's refit as the daemon makes it (refit in
// forecasts.go): 14 days of 5-minute demand, a horizon of the refit period,
// a tick and a 20-minute lead and window ahead, the p90 and the default
// operating points.
func BenchmarkRefit(b *testing.B) {
	tr, _ := benchTarget(b)
	opts := forecast.Options{Horizon: 9, Quantiles: []float64{0.9, 0.5, 0.7}}
	run := func(b *testing.B, f func() error) {
		b.ReportAllocs()
		cpu0 := cpuTime()
		for b.Loop() {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
	b.Run("select", func(b *testing.B) {
		run(b, func() error { _, _, err := forecast.Select(tr, opts); return err })
	})
	b.Run("refit", func(b *testing.B) {
		_, sel, err := forecast.Select(tr.Slice(0, tr.Len()-3), opts)
		if err != nil {
			b.Fatal(err)
		}
		run(b, func() error { _, err := sel.Refit(tr, opts); return err })
	})
}
