package controller

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// signal is one query of a target and what the engine calls it.
type signal struct {
	name     string // the engine's name: demand, dbConnections, latencyP95, cacheHitRatio, or an extra's
	query    string
	step     time.Duration
	forecast bool // forecast it (demand, dbConnections) or only observe it
}

func signalsOf(t *config.Target) []signal {
	var out []signal
	s := t.Signals
	if s.Demand != nil {
		out = append(out, signal{"demand", s.Demand.Query, s.Demand.Step.D(), true})
	}
	if s.DBConnections != nil {
		out = append(out, signal{"dbConnections", s.DBConnections.Query, s.DBConnections.Step.D(), true})
	}
	if s.LatencyP95 != nil {
		out = append(out, signal{"latencyP95", s.LatencyP95.Query, s.LatencyP95.Step.D(), false})
	}
	if s.CacheHitRatio != nil {
		out = append(out, signal{"cacheHitRatio", s.CacheHitRatio.Query, s.CacheHitRatio.Step.D(), false})
	}
	for _, e := range s.Extra {
		out = append(out, signal{e.Name, e.Query, e.Step.D(), false})
	}
	return out
}

// inputs fetches every signal of the policy's targets and returns what the
// engine plans from: forecasts (refitted when due) and observed values.
//
// Targets are observed in parallel by at most Config.Workers goroutines: a
// full refit of thousands of targets is CPU-bound and would otherwise take
// one core for minutes. Each target is handled by one worker from start to
// end, writes only its own fitted state and its own result slot, and the
// results are merged in the policy's order, so the inputs are the same
// whatever the number of workers and a failing target still touches
// nothing but itself.
func (l *Loop) inputs(ctx context.Context, p *config.Policy, now time.Time) policy.Inputs {
	in := policy.Inputs{Forecasts: map[string]map[string]*forecast.Forecast{}, Observed: map[string]map[string]float64{}}
	type job struct {
		t     *config.Target
		sigs  []signal
		fits  []*fitted
		res   targetInputs
		usage bool // read the pods' usage this tick
	}
	jobs := make([]job, len(p.Spec.Targets))
	// The fits map is shared: its entries are made here, before the
	// workers start, and each worker then owns its target's entries.
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		j := job{t: t, sigs: signalsOf(t)}
		if key := p.Key() + "/" + t.Name; l.cfg.Usage != nil && l.exp != nil && t.HPA.Name != "" && now.Sub(l.usageAt[key]) >= l.cfg.Refit {
			j.usage = true
			l.usageAt[key] = now
		}
		for _, sg := range j.sigs {
			k := fitKey{p.Key(), t.Name, sg.name}
			ft := l.fits[k]
			if ft == nil {
				ft = &fitted{mase: math.NaN(), coverage: math.NaN()}
				l.fits[k] = ft
			}
			j.fits = append(j.fits, ft)
		}
		jobs[i] = j
	}
	parallel(len(jobs), l.cfg.Workers, func(i int) {
		j := &jobs[i]
		j.res = targetInputs{forecasts: map[string]*forecast.Forecast{}, observed: map[string]float64{}}
		// Each target's forecasts reach as far as its own plans read
		// them, so that its model does not depend on its neighbours.
		ahead := policy.TargetLookAhead(p, j.t)
		for s, sg := range j.sigs {
			l.observe(ctx, p, j.t, sg, j.fits[s], now, ahead, &j.res)
		}
		if j.usage {
			if u, err := l.cfg.Usage(ctx, j.t.HPA.Namespace, j.t.HPA.Name); err != nil {
				l.log.Warn("pod usage not read", "target", j.t.Name, "err", err)
			} else if d, ok := j.res.observed["demand"]; ok {
				if why := l.exp.ObserveUsage(p.TargetLabel(j.t.Name), u, d); why != "" {
					l.log.Debug("implied capacity per pod unknown", "target", j.t.Name, "why", why)
				}
			}
		}
		if l.exp != nil {
			held := 0.0
			if j.res.forecasts["demand"] == nil {
				held = 1
			}
			l.exp.FailStatic.WithLabelValues(p.TargetLabel(j.t.Name)).Set(held)
			// Every tick, so that a reloaded policy shows at once beside
			// the capacity the pods imply.
			l.exp.CapacityPerPod.WithLabelValues(p.TargetLabel(j.t.Name)).Set(j.t.Capacity.PerPod)
			if name := hpaName(j.t.HPA); name != "" {
				l.exp.TargetInfo.WithLabelValues(p.TargetLabel(j.t.Name), j.t.HPA.Namespace, name).Set(1)
			}
		}
	})
	for _, j := range jobs {
		in.Forecasts[j.t.Name] = j.res.forecasts
		in.Observed[j.t.Name] = j.res.observed
	}
	return in
}

// targetInputs are one target's forecasts and observed values, by signal.
type targetInputs struct {
	forecasts map[string]*forecast.Forecast
	observed  map[string]float64
}

// parallel calls f(0) ... f(n-1) on at most workers goroutines and returns
// when every call has returned.
func parallel(n, workers int, f func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Warm fetches new samples and refits forecasts when due, without planning
// or acting: a follower's tick, so that it takes over with a warm history.
func (l *Loop) Warm(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.Now()
	for _, p := range l.policies() {
		l.inputs(ctx, p, now)
	}
	l.snapshotReadiness()
	l.warmed.Store(true)
}

// observe updates one signal's history, its observed value and, for
// forecast signals, its forecast when due. Failures are isolated: they
// withhold this signal's forecast and nothing else.
func (l *Loop) observe(ctx context.Context, p *config.Policy, t *config.Target, sg signal, ft *fitted, now time.Time, ahead time.Duration, in *targetInputs) {
	q := metrics.Query{Target: p.TargetLabel(t.Name), Signal: sg.name, Expr: sg.query, Step: sg.step}
	hist := l.hist
	if !sg.forecast && l.cfg.Observed != nil {
		hist = l.cfg.Observed
	}
	err := hist.Update(ctx, q, now)
	v, ok := hist.Latest(q)
	if err != nil || !ok {
		// Stale or failed: the forecast is withheld (fail-static).
		ft.failing = true
		ft.f = nil
		ft.why = fmt.Sprintf("no usable data: %v", err)
		return
	}
	in.observed[sg.name] = v
	if l.exp != nil {
		l.exp.Observed.WithLabelValues(p.TargetLabel(t.Name), sg.name).Set(v)
	}
	if !sg.forecast {
		return
	}
	// The whole history is copied out only when a refit is due, not every
	// tick: with thousands of targets that copy would dominate a tick. A
	// fit that failed (or was discarded) is tried again on the same
	// schedule, from its attempt, not at every tick; data coming back
	// after failing is refitted at once.
	if ft.at.IsZero() || ft.failing || now.Sub(ft.at) >= l.cfg.Refit {
		ft.failing = false
		if series, ok := l.hist.Series(q); ok {
			l.refit(p, t, sg, series, now, ahead, ft)
		}
	}
	if ft.f != nil {
		in.forecasts[sg.name] = ft.f
		if l.exp != nil {
			l.exportForecast(t, p.TargetLabel(t.Name), sg.name, ft.f, now)
		}
	}
}

// hpaName is the name of the HPA that scales a target, as kube-state-metrics
// labels its series: the HPA's, or for a KEDA ScaledObject the one KEDA
// generates, keda-hpa-NAME (KEDA's default; a ScaledObject that names its
// HPA in spec.advanced.horizontalPodAutoscalerConfig.name is not joined).
func hpaName(h config.HPA) string {
	if h.ScaledObject != "" && h.Name == "" {
		return "keda-hpa-" + h.ScaledObject
	}
	return h.Name
}
