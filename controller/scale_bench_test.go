package controller

// Scale benchmarks (issue 7): one process with 10,000 targets × 4 signals
// (demand and dbConnections forecast, latencyP95 and cacheHitRatio only
// observed) and 14 days of 5-minute history in memory, through the real
// loop: History, the forecaster, the policy engine and the exporter; only the
// source (synthetic, computed on the fly, holding no data) and the actuator
// (in memory) are stand-ins. The bar: at most 1 GiB resident, a tick's
// planning at most 1 s on one core, refitting every model at most 60 s on
// two cores.
//
//	go test ./controller -run '^$' -bench Scale -benchtime 1x -cpu 2 -timeout 60m
//
// PRESCALE_SCALE_TARGETS sets the number of targets (default 10000); the
// set-up (a 14-day backfill and a first fit of every model) is shared by
// the sub-benchmarks of one run.

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
)

// synthSource computes every signal from its query: SIGNAL{target="INDEX"}.
// Demand follows a daily and a weekly cycle scaled per target, with a
// deterministic wobble, so that every fit has real seasonality to find.
type synthSource struct{}

func (synthSource) Range(_ context.Context, q metrics.Query, start, end time.Time, step time.Duration) (metrics.Samples, error) {
	sig, idx, _ := strings.Cut(q.Expr, `{target="`)
	n, _ := strconv.Atoi(strings.TrimSuffix(idx, `"}`))
	first := start.Truncate(step)
	if first.Before(start) {
		first = first.Add(step)
	}
	cnt := int(end.Sub(first)/step) + 1
	if cnt <= 0 {
		return metrics.Samples{}, &metrics.SourceError{Query: q, Kind: metrics.KindEmpty, Err: fmt.Errorf("empty range")}
	}
	s := forecast.Series{Start: first, Step: step, Values: make([]float64, cnt)}
	scale := 50 + float64(n%97)*10
	for i := range s.Values {
		t := first.Add(time.Duration(i) * step)
		h := float64(t.Unix()%86400) / 3600
		d := scale * (1.2 + math.Sin(2*math.Pi*(h-6)/24))
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			d *= 0.6
		}
		w := float64((t.Unix()/300*2654435761+int64(n))%1000)/1000 - 0.5
		d *= 1 + 0.05*w
		switch sig {
		case "dbConnections":
			d = 5 + d/10
		case "latencyP95":
			d = 0.05 + d/scale*0.02
		case "cacheHitRatio":
			d = 0.95 - 0.01*w
		}
		s.Values[i] = d
	}
	return metrics.Samples{Series: s}, nil
}

func scaleTargets() int {
	if v, err := strconv.Atoi(os.Getenv("PRESCALE_SCALE_TARGETS")); err == nil && v > 0 {
		return v
	}
	return 10000
}

// scalePolicies is n targets in policies of 100 targets each (one team's
// services per policy, as they are usually written).
func scalePolicies(tb testing.TB, n int) []*config.Policy {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i%100 == 0 {
			if i > 0 {
				b.WriteString("---\n")
			}
			fmt.Fprintf(&b, "apiVersion: prescale.io/v1alpha1\nkind: ScalingPolicy\nmetadata:\n  name: team-%d\nspec:\n  targets:\n", i/100)
		}
		fmt.Fprintf(&b, `    - name: svc-%[1]d
      signals:
        demand: {query: 'demand{target="%[1]d"}', step: 5m}
        dbConnections: {query: 'dbConnections{target="%[1]d"}', step: 5m}
        latencyP95: {query: 'latencyP95{target="%[1]d"}', step: 5m, objective: 200ms}
        cacheHitRatio: {query: 'cacheHitRatio{target="%[1]d"}', step: 5m}
      capacity: {perPod: 25, leadTime: 5m, window: 15m}
      hpa: {namespace: ns-%[2]d, name: svc-%[1]d, mode: active, minReplicas: 2, maxReplicas: 200}
`, i, i/100)
	}
	ps, err := config.Parse([]byte(b.String()), "scale.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

type scaleRig struct {
	loop  *Loop
	now   time.Time
	setup time.Duration
	// setupCPU is the process's CPU time over the first tick.
	setupCPU time.Duration
	fits     int
}

var (
	scaleOnce sync.Once
	scale     *scaleRig
)

// scaleSetup builds the loop and runs its first tick: the 14-day backfill
// of every signal and a first fit of every forecast signal.
func scaleSetup(b *testing.B) *scaleRig {
	scaleOnce.Do(func() {
		n := scaleTargets()
		ps := scalePolicies(b, n)
		r := &scaleRig{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
		hist := metrics.NewHistory(synthSource{}, metrics.HistoryConfig{Step: 5 * time.Minute, Window: 14 * 24 * time.Hour}, nil)
		exp := metrics.NewExporter("bench", nil)
		// As the daemon wires it: observed-only signals in a one-hour history.
		obs := metrics.NewHistory(synthSource{}, metrics.HistoryConfig{Step: 5 * time.Minute, Window: time.Hour}, nil)
		r.loop = New(Config{Tick: 30 * time.Second, Refit: 15 * time.Minute, Now: func() time.Time { return r.now }, Observed: obs, Backfills: -1},
			func() []*config.Policy { return ps }, hist, NewMemoryActuator(), exp, nil)
		start, cpu := time.Now(), cpuTime()
		if _, err := r.loop.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
		r.setup, r.setupCPU = time.Since(start), cpuTime()-cpu
		for _, ft := range r.loop.fits {
			if ft.f != nil {
				r.fits++
			}
		}
		if r.fits != 2*n {
			b.Fatalf("%d forecasts after the first tick, want %d (demand and dbConnections of %d targets)", r.fits, 2*n, n)
		}
		scale = r
	})
	if scale == nil {
		b.Fatal("set-up failed")
	}
	scale.loop.cfg.Workers = runtime.GOMAXPROCS(0)
	return scale
}

// cpuTime is the CPU time (user and system) the process has used: on a
// machine shared with other work, wall time per op overstates the cost.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS is the process's resident set size in bytes, from /proc (0 where
// there is none).
func vmRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

func BenchmarkScale(b *testing.B) {
	// memory: what the process holds with every target's history and
	// forecasts in place, after a collection.
	b.Run("memory", func(b *testing.B) {
		r := scaleSetup(b)
		b.ResetTimer()
		var ms runtime.MemStats
		for range b.N {
			runtime.GC()
			debug.FreeOSMemory()
			runtime.ReadMemStats(&ms)
		}
		runtime.KeepAlive(r)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MiB")
		b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
		b.ReportMetric(vmRSS()/(1<<20), "rss-MiB")
		b.ReportMetric(r.setup.Seconds(), "first-tick-s")
		b.ReportMetric(r.setupCPU.Seconds(), "first-tick-cpu-s")
		b.ReportMetric(float64(r.fits), "forecasts")
	})
	// tick: ticks with no refit due (the clock moves a second), so what
	// is measured is fetching the new samples, planning every policy and
	// exporting, on one core (GOMAXPROCS 1, one worker) whatever -cpu
	// says; the median of five ticks per op is reported.
	b.Run("tick", func(b *testing.B) {
		r := scaleSetup(b)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		r.loop.cfg.Workers = 1
		b.ResetTimer()
		cpu := cpuTime()
		var ticks []time.Duration
		for range b.N {
			for range 5 {
				r.now = r.now.Add(time.Second)
				start := time.Now()
				if _, err := r.loop.Tick(context.Background()); err != nil {
					b.Fatal(err)
				}
				ticks = append(ticks, time.Since(start))
			}
		}
		slices.Sort(ticks)
		b.ReportMetric(ticks[len(ticks)/2].Seconds(), "median-tick-s")
		b.ReportMetric((cpuTime()-cpu).Seconds()/float64(len(ticks)), "cpu-s/tick")
	})
	// refit: a tick at which every forecast is due (the clock moves a
	// refit period): every demand and dbConnections model is refitted on
	// GOMAXPROCS workers. Between selections a refit refits the chosen
	// models only (forecast.Selection.Refit); "select" below is the rarer
	// tick at which every model is selected afresh.
	b.Run("refit", func(b *testing.B) { allDue(b, func(r *scaleRig) time.Duration { return r.loop.cfg.Refit }) })
	// select: a tick at which every model is older than the reselect
	// period and is selected afresh by rolling-origin validation, as at
	// start-up. In steady state selections are spread over the period
	// (reselectAfter), so no tick does them all.
	b.Run("select", func(b *testing.B) { allDue(b, func(r *scaleRig) time.Duration { return r.loop.cfg.Reselect }) })
}

// allDue times ticks after the clock moved by step(r): a period after which
// every forecast is due for the work being measured.
func allDue(b *testing.B, step func(*scaleRig) time.Duration) {
	r := scaleSetup(b)
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		r.now = r.now.Add(step(r))
		if _, err := r.loop.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(r.fits), "fits/op")
}
