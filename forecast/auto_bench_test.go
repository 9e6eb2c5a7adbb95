package forecast_test

import (
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

// benchSeries returns real traces shaped like the three sizes the issue
// names: 1,000 hourly points (NYC taxi, half-hours summed to hours), 4,032
// 5-minute points (14 days of ELB requests) and 20,160 1-minute points (14
// days of GOOG tweets, interpolated from 5 minutes to 1).
func benchSeries(tb testing.TB) (hourly, fiveMin, oneMin forecast.Series) {
	tb.Helper()
	taxi, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		tb.Fatal(err)
	}
	hv := make([]float64, 1000)
	for i := range hv {
		hv[i] = taxi.Values[2*i] + taxi.Values[2*i+1]
	}
	hourly = forecast.Series{Start: taxi.Start, Step: time.Hour, Values: hv}

	elb, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		tb.Fatal(err)
	}
	fiveMin = elb.Slice(0, min(elb.Len(), 4032))

	goog, err := trace.ReadFile("../testdata/Twitter_volume_GOOG.csv")
	if err != nil {
		tb.Fatal(err)
	}
	src := goog.Values[:4033]
	mv := make([]float64, 20160)
	for i := range mv {
		a, b := src[i/5], src[i/5+1]
		if math.IsNaN(a) || math.IsNaN(b) {
			mv[i] = a
			continue
		}
		mv[i] = a + (b-a)*float64(i%5)/5
	}
	oneMin = forecast.Series{Start: goog.Start, Step: time.Minute, Values: mv}
	return hourly, fiveMin, oneMin
}

// benchAuto also reports the process's CPU time per operation: on a
// shared machine wall time inflates with the load of others, CPU time does
// not (run with -cpu 1 for "one core").
func benchAuto(b *testing.B, s forecast.Series, h int) {
	opts := forecast.Options{Horizon: h, Quantiles: []float64{0.05, 0.5, 0.95}}
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := forecast.Auto(s, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAutoHourly1000: fit, select and forecast 48 steps of 1,000 hourly
// points (goal: 5 ms on one core).
func BenchmarkAutoHourly1000(b *testing.B) {
	s, _, _ := benchSeries(b)
	benchAuto(b, s, 48)
}

// BenchmarkAuto5min4032: 14 days of 5-minute data, horizon one day (goal: 20 ms).
func BenchmarkAuto5min4032(b *testing.B) {
	_, s, _ := benchSeries(b)
	benchAuto(b, s, 288)
}

// BenchmarkAuto1min20160: 14 days of 1-minute data, horizon one day (goal: 100 ms).
func BenchmarkAuto1min20160(b *testing.B) {
	_, _, s := benchSeries(b)
	benchAuto(b, s, 1440)
}

// BenchmarkRefit5min4032 is the daemon's and the backtest's refit: 14 days
// of 5-minute data, the next 35 minutes (7 steps), every 15 minutes.
// "select" validates every candidate (forecast.Select, as Auto); "refit"
// refits the models chosen a refit earlier (Selection.Refit), which the
// daemon does between selections every 6 hours. Compare the two in one run.
func BenchmarkRefit5min4032(b *testing.B) {
	_, s, _ := benchSeries(b)
	opts := forecast.Options{Horizon: 7, Quantiles: []float64{0.9}}
	b.Run("select", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := forecast.Select(s, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	// quick: the daemon's first selection at a cold start (Options.Quick
	// at the controller's 8 origins), once per signal at the first tick.
	b.Run("quick", func(b *testing.B) {
		q := opts
		q.Quick, q.Origins = true, 8
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := forecast.Select(s, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refit", func(b *testing.B) {
		_, sel, err := forecast.Select(s.Slice(0, s.Len()-3), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sel.Refit(s, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
}
