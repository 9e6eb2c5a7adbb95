// Package controller is prescale's control loop: each tick it fetches new
// samples, refits forecasts on their own schedule, plans with the policy
// engine, acts on what the plan says to apply, and exports what it did.
//
// The loop only wires: the forecast, the policy engine and the actuators do
// the work. It isolates targets (a failing query or actuator never stops
// the others) and fails static: without usable data a target's forecast is
// withheld, so the engine holds its last floors for a grace period and then
// falls back to the schedule rules and the owner's values. It never acts on
// NaN, Inf or absurd forecasts.
package controller

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// Actuator reads the live state of the resources a policy manages and
// applies planned values. Implementations are level-triggered and
// idempotent: the loop offers every changed value each tick, and a value
// already in place costs a read.
type Actuator interface {
	// Current returns what the policy's resources are set to now. Missing
	// entries fall back to the policy's owner values in the engine.
	Current(ctx context.Context, p *config.Policy) (policy.Current, error)
	// Apply acts on one planned value (Resource.Apply is true: mode
	// active, not dry-run, and different from what Current read) and says
	// how it ended and what is in place afterwards.
	Apply(ctx context.Context, p *config.Policy, r policy.Resource) (Outcome, error)
}

// Restorer is an Actuator that can hand an HPA back to its owner: put the
// owner's minReplicas and maxReplicas back (remembered in annotations) and
// stop managing it. The loop restores an HPA when its target leaves the
// policy or its mode becomes observe.
type Restorer interface {
	Restore(ctx context.Context, target, namespace, name string, reasons []string) error
}

// HPARef names an HPA.
type HPARef struct{ Namespace, Name string }

// ManagedLister is a Restorer that can list the HPAs it changed and has
// not restored, from what it wrote on them. The set of managed HPAs is
// otherwise only in memory: a target removed from the policy while
// prescale was down would keep its raised floor for good. The loop lists
// them at its first acting tick and restores those no target claims.
type ManagedLister interface {
	ManagedHPAs(ctx context.Context) ([]HPARef, error)
}

// Outcome is how one actuation ended.
type Outcome struct {
	Result  metrics.ActuationResult
	Applied any // the value in place afterwards: an int or a class
}

// Config tunes the loop. Zero values take the defaults.
type Config struct {
	// Tick is the planning period (default 30s).
	Tick time.Duration
	// Refit is how often forecasts are refitted (default 15m); a signal is
	// also refitted as soon as it comes back after failing.
	Refit time.Duration
	// Reselect is how often a signal's model is chosen afresh by
	// rolling-origin validation (default 6h; each signal after between
	// half and the whole of it, so that selections spread out). Refits in between refit
	// only the chosen models and calibrate on their own recent errors
	// (forecast.Selection), several times cheaper; a negative value
	// selects at every refit.
	Reselect time.Duration
	// MaxGrowth bounds a forecast: above MaxGrowth times the highest value
	// observed in the history it is absurd and discarded (default 3).
	MaxGrowth float64
	// Now is the clock (time.Now by default); the demo and tests replay.
	Now func() time.Time
	// Observed, when set, keeps the signals that are only observed
	// (latency, cache hit ratio, extras): the engine reads just their
	// newest value, so a short window does (an hour, say) and the long
	// history is kept only for the signals that are forecast, which at
	// thousands of targets halves the memory the loop holds. Nil keeps
	// every signal in the loop's main History.
	Observed *metrics.History
	// Usage, when set, reads the usage of the pods behind an HPA (from the
	// metrics API: metrics.HPAUsage.Of). Each target's is read once per
	// Refit and exported beside its demand per pod, with the capacity per
	// pod the two imply (when the usage carries the pods' CPU requests)
	// next to the policy's capacity.perPod, so that the capacity model can
	// be checked against what the pods really use. It is called from the
	// workers concurrently.
	Usage func(ctx context.Context, namespace, name string) (metrics.Usage, error)
	// Workers bounds how many targets are observed and refitted at once
	// (default GOMAXPROCS): refits are CPU-bound, so more workers than
	// cores only add memory. The History's Source must be safe for
	// concurrent use (metrics.Prometheus and metrics.Replay are).
	Workers int
}

func (c Config) withDefaults() Config {
	if c.Tick <= 0 {
		c.Tick = 30 * time.Second
	}
	if c.Refit <= 0 {
		c.Refit = 15 * time.Minute
	}
	if c.Reselect == 0 {
		c.Reselect = 6 * time.Hour
	}
	if c.MaxGrowth <= 1 {
		c.MaxGrowth = 3
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Workers <= 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// Loop is the control loop. Tick may be called directly (tests, the demo)
// or repeatedly by Run.
type Loop struct {
	cfg      Config
	policies func() []*config.Policy
	hist     *metrics.History
	act      Actuator
	exp      *metrics.Exporter
	log      *slog.Logger

	mu      sync.Mutex
	warmed  atomic.Bool // every policy's signals fetched once
	engines map[*config.Policy]*policy.Engine
	states  map[string]policy.State
	// managed are the HPAs of targets in mode active at the last tick, by
	// policy and target: the ones to hand back when they leave.
	managed map[string]hpaRef
	// promoted holds, by policy/target, why each shadow target with
	// hpa.promote is applied as active. A promotion is not taken back
	// when the scores later fall below the bar (that is logged): flapping
	// between acting and recording would be worse; change the mode to
	// take the target back.
	promoted map[string]string
	// seeded is set once managed holds what the actuator found on the
	// cluster (ManagedLister) at the first acting tick.
	seeded bool
	fits   map[fitKey]*fitted
	// usageAt is when each target's pod usage was last read, by
	// policy/target.
	usageAt map[string]time.Time
}

type fitKey struct{ policy, target, signal string }

type hpaRef struct{ target, namespace, name string }

// fitted is a signal's current forecast and how it was obtained.
type fitted struct {
	f       *forecast.Forecast
	sel     *forecast.Selection // the model chosen, refitted until Reselect
	quick   bool                // sel was a first selection at fewer origins
	at      time.Time           // when it was fitted
	failing bool                // the last fetch failed: refit when it comes back
	why     string              // why there is no usable forecast, when f is nil
	// mase is the rolling (exponentially weighted) MASE of the forecasts
	// against what happened; NaN until one could be scored.
	mase float64
	// coverage is the rolling share of samples at or under the forecast's
	// provisioning quantile; NaN until one could be scored.
	coverage float64
	// scoredSince is when this process first scored the signal's
	// forecasts (hpa.promote's after counts from it).
	scoredSince time.Time
	// scored and covered count the scores behind mase and coverage.
	scored, covered int
}

// New returns a loop over the policies the function returns at each tick
// (a config.Store's Policies, so that reloads take effect at the next
// tick). exp and logger may be nil.
func New(cfg Config, policies func() []*config.Policy, hist *metrics.History, act Actuator, exp *metrics.Exporter, logger *slog.Logger) *Loop {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{cfg: cfg.withDefaults(), policies: policies, hist: hist, act: act, exp: exp, log: logger,
		engines: map[*config.Policy]*policy.Engine{}, states: map[string]policy.State{}, fits: map[fitKey]*fitted{},
		managed: map[string]hpaRef{}, promoted: map[string]string{}, usageAt: map[string]time.Time{}}
}

// Run ticks until ctx is done. Cancelling ctx abandons the tick in
// progress between actuations; the floors already applied stay in place
// (they are floors: the HPA keeps reacting above them), and the next leader
// re-asserts what its plan wants.
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.cfg.Tick)
	defer t.Stop()
	for {
		if _, err := l.Tick(ctx); err != nil && ctx.Err() == nil {
			l.log.Error("tick failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick runs one iteration for every policy and returns the plans.
func (l *Loop) Tick(ctx context.Context) ([]policy.Plan, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := time.Now()
	now := l.cfg.Now()
	var plans []policy.Plan
	var errs []error
	live := map[*config.Policy]bool{}
	for _, p := range l.policies() {
		live[p] = true
		plan, err := l.tickPolicy(ctx, p, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy %s: %w", p.Metadata.Name, err))
		}
		plans = append(plans, plan)
	}
	if err := l.seedManaged(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := l.restoreLeavers(ctx); err != nil {
		errs = append(errs, err)
	}
	l.warmed.Store(true)
	for p := range l.engines {
		if !live[p] {
			delete(l.engines, p) // replaced by a reload
		}
	}
	if l.exp != nil {
		l.exp.LoopDuration.Observe(time.Since(start).Seconds())
		if len(errs) == 0 {
			l.exp.LastTick.Set(float64(time.Now().Unix()))
		}
	}
	return plans, errors.Join(errs...)
}

// restoreLeavers hands back the HPAs of targets that were active and are
// now gone from the policies or in mode observe. A target moved to shadow
// keeps what was applied (shadow touches nothing, restoring included) and
// is handed back if it later leaves.
func (l *Loop) restoreLeavers(ctx context.Context) error {
	next := map[string]hpaRef{}
	mode := map[string]string{}
	// A promotion lasts while the target stays shadow with hpa.promote;
	// a target whose mode changed (or that left) is handled by its mode.
	stillPromoted := map[string]string{}
	for _, p := range l.policies() {
		for _, t := range p.Spec.Targets {
			key := p.Metadata.Name + "/" + t.Name
			mode[key] = t.HPA.Mode
			why, promoted := l.promoted[key]
			if promoted && t.HPA.Mode == "shadow" && t.HPA.Promote != nil {
				stillPromoted[key] = why
			} else {
				promoted = false
			}
			if t.HPA.Mode == "active" || promoted {
				next[key] = hpaRef{t.Name, t.HPA.Namespace, t.HPA.Name}
			}
		}
	}
	var errs []error
	r, canRestore := l.act.(Restorer)
	for key, ref := range l.managed {
		m, present := mode[key]
		if m == "active" {
			continue
		}
		if m == "shadow" {
			next[key] = ref
			continue
		}
		why := "target left the policy: the owner's values are restored"
		if present {
			why = "target's mode is now " + m + ": the owner's values are restored"
		}
		if !canRestore {
			l.log.Warn("cannot restore: the actuator does not support it", "target", ref.target, "hpa", ref.namespace+"/"+ref.name)
			continue
		}
		if err := r.Restore(ctx, ref.target, ref.namespace, ref.name, []string{why}); err != nil {
			errs = append(errs, fmt.Errorf("restore hpa %s/%s: %w", ref.namespace, ref.name, err))
			next[key] = ref // try again at the next tick
			continue
		}
		l.log.Info("restored", "target", ref.target, "hpa", ref.namespace+"/"+ref.name, "why", why)
	}
	for key := range l.promoted {
		if _, ok := stillPromoted[key]; !ok {
			l.log.Info("promotion ended: the target's mode or bar changed, or it left", "target", key)
			if l.exp != nil {
				l.exp.Promoted.DeleteLabelValues(key[strings.Index(key, "/")+1:])
			}
		}
	}
	l.promoted = stillPromoted
	l.managed = next
	return errors.Join(errs...)
}

// seedManaged adds to managed, once, the HPAs the actuator finds it
// changed before this process started: under the key of the policy target
// that names the HPA now (so that restoreLeavers treats it by that
// target's mode), or under a key no target has when none does (so that it
// is restored). A failed listing is retried at the next tick.
func (l *Loop) seedManaged(ctx context.Context) error {
	if l.seeded {
		return nil
	}
	lister, ok := l.act.(ManagedLister)
	if !ok {
		l.seeded = true
		return nil
	}
	found, err := lister.ManagedHPAs(ctx)
	if err != nil {
		return fmt.Errorf("list managed hpas: %w", err)
	}
	l.seeded = true
	type claim struct{ key, target string }
	claimed := map[HPARef]claim{}
	for _, p := range l.policies() {
		for _, t := range p.Spec.Targets {
			claimed[HPARef{t.HPA.Namespace, t.HPA.Name}] = claim{p.Metadata.Name + "/" + t.Name, t.Name}
		}
	}
	for _, r := range found {
		c, ok := claimed[r]
		if !ok {
			c = claim{key: "cluster:" + r.Namespace + "/" + r.Name}
			l.log.Info("found an HPA prescale changed whose target is in no policy: restoring it", "hpa", r.Namespace+"/"+r.Name)
		}
		if _, ok := l.managed[c.key]; !ok {
			l.managed[c.key] = hpaRef{c.target, r.Namespace, r.Name}
		}
	}
	return nil
}

// promotions returns, by target name, the shadow targets of p with
// hpa.promote that are applied as active, and promotes those whose demand
// forecasts now meet their bar. A target whose HPA prescale already
// manages (it was promoted, or active, before this process started) is
// promoted at once: taking it back to shadow would leave its floors in
// place unmanaged.
func (l *Loop) promotions(p *config.Policy) map[string]string {
	out := map[string]string{}
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		if t.HPA.Mode != "shadow" || t.HPA.Promote == nil {
			if l.exp != nil {
				l.exp.Promoted.DeleteLabelValues(t.Name) // no stale 0 once promote goes
			}
			continue
		}
		key := p.Metadata.Name + "/" + t.Name
		why, ok := l.promoted[key]
		if !ok {
			if _, managed := l.managed[key]; managed {
				why, ok = "prescale already manages its HPA (promoted or active before)", true
			} else if ft := l.fits[fitKey{p.Metadata.Name, t.Name, "demand"}]; ft != nil && !ft.scoredSince.IsZero() && ft.f != nil {
				scored := ft.f.Start.Sub(ft.scoredSince)
				ok, why = promotion(t.HPA.Promote, scored, ft.mase, ft.coverage)
				if !ok {
					l.log.Debug("not promoted yet", "target", t.Name, "why", why)
				}
			}
			if ok {
				l.promoted[key] = why
				l.log.Info("promoted from shadow: the plan is applied from now on", "target", t.Name, "why", why)
			}
		}
		v := 0.0
		if ok {
			out[t.Name], v = why, 1
		}
		if l.exp != nil {
			l.exp.Promoted.WithLabelValues(t.Name).Set(v)
		}
	}
	return out
}

// promotion judges a shadow target's demand forecasts, scored for scored
// with rolling MASE mase and coverage of the provisioning quantile
// coverage, against its bar: whether they meet it, and why (or why not).
func promotion(bar *config.Promote, scored time.Duration, mase, coverage float64) (bool, string) {
	after := bar.After.D()
	switch {
	case scored < after:
		return false, fmt.Sprintf("scored for %s of the %s required", config.FormatDuration(scored.Truncate(time.Minute)), bar.After)
	case math.IsNaN(mase) || mase > bar.MaxMASE:
		return false, fmt.Sprintf("rolling MASE %.3g above %g", mase, bar.MaxMASE)
	case math.IsNaN(coverage) || coverage < bar.MinCoverage:
		return false, fmt.Sprintf("rolling coverage %.3g below %g", coverage, bar.MinCoverage)
	}
	return true, fmt.Sprintf("rolling MASE %.3g ≤ %g and coverage %.3g ≥ %g after %s in shadow", mase, bar.MaxMASE, coverage, bar.MinCoverage, bar.After)
}

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

func (l *Loop) tickPolicy(ctx context.Context, p *config.Policy, now time.Time) (policy.Plan, error) {
	eng := l.engines[p]
	if eng == nil {
		eng = policy.NewEngine(p)
		l.engines[p] = eng
	}
	in := l.inputs(ctx, p, now)
	in.Promoted = l.promotions(p)
	cur, err := l.act.Current(ctx, p)
	if err != nil {
		// The engine falls back to the policy's owner values for what it
		// cannot read; say so, and go on planning.
		l.log.Warn("reading live state failed", "policy", p.Metadata.Name, "err", err)
	}
	in.Current = cur
	key := p.File + "#" + p.Metadata.Name
	plan, next := eng.Plan(now, l.states[key], in)
	l.states[key] = next
	for _, w := range plan.Warnings {
		l.log.Warn("plan warning", "policy", p.Metadata.Name, "warning", w)
	}
	for _, r := range plan.Resources {
		l.export(p, r)
	}
	var errs []error
	for _, r := range plan.Resources {
		if !r.Apply {
			continue
		}
		if ctx.Err() != nil {
			// Shutting down: abandon between actuations; what was applied
			// stays (floors are floors), the next leader re-asserts.
			errs = append(errs, ctx.Err())
			break
		}
		out, err := l.act.Apply(ctx, p, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s %s: %w", r.Kind, r.Name, r.Field, err))
			out.Result = metrics.ResultFailed
			l.log.Error("actuation failed", "target", r.Target, "kind", r.Kind, "name", r.Name, "field", r.Field, "desired", r.Desired, "err", err)
		} else {
			l.log.Info("actuation", "target", r.Target, "kind", r.Kind, "name", r.Name, "field", r.Field,
				"from", r.Current, "to", r.Desired, "result", out.Result, "reasons", strings.Join(r.Reasons, "; "))
		}
		if l.exp != nil {
			l.exp.Actuations.WithLabelValues(r.Target, r.Kind, string(out.Result)).Inc()
			if out.Applied != nil {
				if v, ok := numeric(p, r, out.Applied); ok {
					l.exp.Applied.WithLabelValues(r.Target, r.Kind, r.Field).Set(v)
				}
			}
		}
	}
	return plan, errors.Join(errs...)
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
	ahead := policy.LookAhead(p)
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
		if key := p.Metadata.Name + "/" + t.Name; l.cfg.Usage != nil && l.exp != nil && t.HPA.Name != "" && now.Sub(l.usageAt[key]) >= l.cfg.Refit {
			j.usage = true
			l.usageAt[key] = now
		}
		for _, sg := range j.sigs {
			k := fitKey{p.Metadata.Name, t.Name, sg.name}
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
		for s, sg := range j.sigs {
			l.observe(ctx, p, j.t, sg, j.fits[s], now, ahead, &j.res)
		}
		if j.usage {
			if u, err := l.cfg.Usage(ctx, j.t.HPA.Namespace, j.t.HPA.Name); err != nil {
				l.log.Warn("pod usage not read", "target", j.t.Name, "err", err)
			} else if d, ok := j.res.observed["demand"]; ok {
				if why := l.exp.ObserveUsage(j.t.Name, u, d); why != "" {
					l.log.Debug("implied capacity per pod unknown", "target", j.t.Name, "why", why)
				}
			}
		}
		if l.exp != nil {
			held := 0.0
			if j.res.forecasts["demand"] == nil {
				held = 1
			}
			l.exp.FailStatic.WithLabelValues(j.t.Name).Set(held)
			// Every tick, so that a reloaded policy shows at once beside
			// the capacity the pods imply.
			l.exp.CapacityPerPod.WithLabelValues(j.t.Name).Set(j.t.Capacity.PerPod)
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
	l.warmed.Store(true)
}

// Ready says why the loop is not ready yet: before the first tick (or warm
// tick) has backfilled every signal's history. Failing signals do not make
// it unready: they are isolated, counted and alerted on.
func (l *Loop) Ready() error {
	if !l.warmed.Load() {
		return errors.New("history not backfilled yet")
	}
	return nil
}

// observe updates one signal's history, its observed value and, for
// forecast signals, its forecast when due. Failures are isolated: they
// withhold this signal's forecast and nothing else.
func (l *Loop) observe(ctx context.Context, p *config.Policy, t *config.Target, sg signal, ft *fitted, now time.Time, ahead time.Duration, in *targetInputs) {
	q := metrics.Query{Target: t.Name, Signal: sg.name, Expr: sg.query, Step: sg.step}
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
		l.exp.Observed.WithLabelValues(t.Name, sg.name).Set(v)
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
			l.exportForecast(t, sg.name, ft.f, now)
		}
	}
}

// refit fits the signal's forecast far enough ahead to serve until the next
// refit, and discards it when it is not finite or absurd.
func (l *Loop) refit(p *config.Policy, t *config.Target, sg signal, series forecast.Series, now time.Time, ahead time.Duration, ft *fitted) {
	l.score(t, sg, series, ft)
	ft.at = now
	ft.f = nil
	end := series.Time(series.Len())
	h := int(math.Ceil(float64(now.Add(l.cfg.Refit+l.cfg.Tick+ahead).Sub(end))/float64(series.Step))) + 1
	qs := []float64{t.Capacity.Quantile}
	opts := forecast.Options{Horizon: max(h, 1), Quantiles: qs, Location: p.Location}
	var f *forecast.Forecast
	var err error
	period := l.cfg.Reselect
	if ft.quick {
		period = min(period, quickReselect)
	}
	if ft.sel != nil && ft.sel.Age(end) < reselectAfter(period, p.Metadata.Name, t.Name, sg.name) {
		f, err = ft.sel.Refit(series, opts)
	}
	if f == nil {
		// No selection yet, an old one, or a refit that failed: select.
		// The first selection, at start-up, validates at fewer origins:
		// with thousands of targets every one of them is selected at the
		// first tick, and no target has a plan until that tick ends.
		// Such a selection is made again in full within quickReselect.
		first := ft.sel == nil
		if first {
			opts.Origins = quickOrigins
		}
		f, ft.sel, err = forecast.Select(series, opts)
		ft.quick = first && err == nil
	}
	if err != nil {
		ft.why = fmt.Sprintf("forecast failed: %v", err)
		l.log.Warn("forecast failed", "target", t.Name, "signal", sg.name, "err", err)
		return
	}
	if why := l.absurd(f, series); why != "" {
		ft.why = why
		l.log.Warn("forecast discarded", "target", t.Name, "signal", sg.name, "why", why, "model", f.Model)
		if l.exp != nil {
			l.exp.Decisions.WithLabelValues(t.Name, policy.KindHPA, string(metrics.ReasonFailStatic)).Inc()
		}
		return
	}
	ft.f = f
	ft.why = ""
	l.log.Debug("refit", "target", t.Name, "signal", sg.name, "model", f.Model, "detail", f.Detail)
	if l.exp != nil {
		l.exp.Model.DeletePartialMatch(map[string]string{"target": t.Name, "signal": sg.name})
		l.exp.Model.WithLabelValues(t.Name, sg.name, f.Model).Set(1)
	}
}

// A signal's first selection validates at quickOrigins rolling origins
// (a short horizon's full selection takes up to 24, about three times the
// work) and is made again in full after between half of and the whole of
// quickReselect.
const (
	quickOrigins  = 8
	quickReselect = time.Hour
)

// reselectAfter is the age at which one signal's model is selected afresh:
// between half of and the whole reselect period, fixed per signal by a
// hash of its name. Every model is selected at start-up; without the
// spread they would all be selected again at one tick every period, and
// with thousands of targets that tick would take minutes.
func reselectAfter(period time.Duration, names ...string) time.Duration {
	if period <= 0 {
		return period
	}
	h := fnv.New32a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	return period/2 + time.Duration(uint64(period/2)*uint64(h.Sum32()%1024)/1024)
}

// maseWeight is the weight of the newest score in the rolling MASE: about
// the last day of 15-minute refits counts.
const maseWeight = 0.05

// rolling adds the n-th score x to the rolling average avg: the plain
// mean of the first 1/maseWeight scores, exponentially weighted after.
// Weighting from the first score instead would leave it a third of the
// weight after a day of refits.
func rolling(avg, x float64, n int) float64 {
	if n <= 1 || math.IsNaN(avg) {
		return x
	}
	w := max(maseWeight, 1/float64(n))
	return (1-w)*avg + w*x
}

// score compares the forecast about to be replaced with the samples that
// have arrived since it was made, scaled by the in-sample error of the
// seasonal naive forecast (MASE: below 1 beats it), and updates the
// exported rolling MASE.
func (l *Loop) score(t *config.Target, sg signal, series forecast.Series, ft *fitted) {
	f := ft.f
	if f == nil || f.Step != series.Step {
		return
	}
	var ae float64
	var n, under int
	q := f.Quantiles[t.Capacity.Quantile]
	for i := range f.Mean {
		j := int(f.Time(i).Sub(series.Start) / series.Step)
		if j < 0 || j >= series.Len() {
			continue
		}
		if y := series.Values[j]; !math.IsNaN(y) {
			ae += math.Abs(y - f.Mean[i])
			n++
			if i < len(q) && y <= q[i] {
				under++
			}
		}
	}
	if n > 0 && len(q) > 0 {
		ft.covered++
		ft.coverage = rolling(ft.coverage, float64(under)/float64(n), ft.covered)
		if l.exp != nil {
			l.exp.ForecastCoverage.WithLabelValues(t.Name, sg.name).Set(ft.coverage)
		}
	}
	period := 1
	if len(f.Seasons) > 0 {
		period = f.Seasons[len(f.Seasons)-1].Period
	}
	var scale float64
	var m int
	for j := period; j < series.Len(); j++ {
		a, b := series.Values[j], series.Values[j-period]
		if !math.IsNaN(a) && !math.IsNaN(b) {
			scale += math.Abs(a - b)
			m++
		}
	}
	if n == 0 || m == 0 || scale == 0 {
		return
	}
	if math.IsNaN(ft.mase) {
		ft.scoredSince = series.Time(series.Len())
	}
	ft.scored++
	ft.mase = rolling(ft.mase, (ae/float64(n))/(scale/float64(m)), ft.scored)
	if l.exp != nil {
		l.exp.ForecastMASE.WithLabelValues(t.Name, sg.name).Set(ft.mase)
	}
}

// absurd says why a forecast must not be acted on, or "".
func (l *Loop) absurd(f *forecast.Forecast, hist forecast.Series) string {
	peak := math.Inf(-1)
	for _, v := range hist.Values {
		if v > peak {
			peak = v
		}
	}
	bound := l.cfg.MaxGrowth * peak
	check := func(name string, vals []float64) string {
		for i, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Sprintf("%s at %s is %v", name, f.Time(i).Format(time.RFC3339), v)
			}
			if peak > 0 && v > bound {
				return fmt.Sprintf("%s %.4g at %s is above %.3g × the observed peak %.4g", name, v, f.Time(i).Format(time.RFC3339), l.cfg.MaxGrowth, peak)
			}
		}
		return ""
	}
	if why := check("mean", f.Mean); why != "" {
		return why
	}
	for q, vals := range f.Quantiles {
		if why := check(fmt.Sprintf("quantile %g", q), vals); why != "" {
			return why
		}
	}
	return ""
}

// exportForecast exports the mean and the provisioning quantile at the
// lead horizon.
func (l *Loop) exportForecast(t *config.Target, name string, f *forecast.Forecast, now time.Time) {
	at := now.Add(t.Capacity.LeadTime.D())
	i := int(at.Sub(f.Start) / f.Step)
	if i < 0 || i >= f.Len() {
		return
	}
	l.exp.Forecast.WithLabelValues(t.Name, name, "mean").Set(f.Mean[i])
	if q, ok := f.Quantiles[t.Capacity.Quantile]; ok {
		l.exp.Forecast.WithLabelValues(t.Name, name, "quantile").Set(q[i])
	}
}

// export records a planned value and the reason that bound it.
func (l *Loop) export(p *config.Policy, r policy.Resource) {
	if l.exp == nil {
		return
	}
	if v, ok := numeric(p, r, r.Desired); ok {
		l.exp.Desired.WithLabelValues(r.Target, r.Kind, r.Field).Set(v)
	}
	if v, ok := numeric(p, r, r.Current); ok {
		l.exp.Applied.WithLabelValues(r.Target, r.Kind, r.Field).Set(v)
	}
	l.exp.Decisions.WithLabelValues(r.Target, r.Kind, string(Binding(r.Reasons))).Inc()
}

// numeric turns a planned value into a gauge value: replicas and sizes as
// they are, a class as its rung in the resource's ladder.
func numeric(p *config.Policy, r policy.Resource, v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		ladders := p.Spec.Databases
		if r.Kind == policy.KindCache {
			ladders = p.Spec.Caches
		}
		for _, d := range ladders {
			if d.Name != r.Name {
				continue
			}
			for i, tier := range d.Tiers {
				if tier.Class == x {
					return float64(i), true
				}
			}
		}
	}
	return 0, false
}

// Binding classifies a planned value's reasons into the bounded set of
// decision reasons: the last limit that bound it, else the last rule, else
// the forecast.
func Binding(reasons []string) metrics.Reason {
	var rule, base metrics.Reason
	for i := len(reasons) - 1; i >= 0; i-- {
		r := strings.ToLower(reasons[i])
		switch {
		case strings.HasPrefix(r, "mode "):
			continue
		case strings.HasPrefix(r, "limit:"):
			if c, ok := classify(r, limitReasons); ok {
				return c
			}
		default:
			if c, ok := classify(r, ruleReasons); ok {
				if rule == "" {
					rule = c
				}
			} else if c, ok := classify(r, baseReasons); ok && base == "" {
				base = c
			}
		}
	}
	switch {
	case rule != "":
		return rule
	case base != "":
		return base
	}
	return metrics.ReasonOwnerFloor
}

// reasonClass is a decision reason and the words of the planner's reasons
// that mark it.
type reasonClass struct {
	words  []string
	reason metrics.Reason
}

// The classes of Binding, each list in order of precedence.
var (
	limitReasons = []reasonClass{
		{[]string{"connection budget"}, metrics.ReasonConnectionBudget},
		{[]string{"ceiling"}, metrics.ReasonCeiling},
		{[]string{"max step"}, metrics.ReasonMaxStepUp},
		{[]string{"cooldown"}, metrics.ReasonCooldown},
		{[]string{"scale-down"}, metrics.ReasonScaleDownLimit},
		{[]string{"owner"}, metrics.ReasonOwnerFloor},
	}
	ruleReasons = []reasonClass{
		{[]string{"connection budget"}, metrics.ReasonConnectionBudget},
		{[]string{"volatility"}, metrics.ReasonVolatility},
		{[]string{"event"}, metrics.ReasonEvent},
		{[]string{"schedule", "session", "ramp"}, metrics.ReasonSchedule},
		{[]string{"window"}, metrics.ReasonWindow},
	}
	baseReasons = []reasonClass{
		{[]string{"no usable", "holding"}, metrics.ReasonFailStatic},
		{[]string{"forecast"}, metrics.ReasonForecast},
		{[]string{"owner"}, metrics.ReasonOwnerFloor},
	}
)

// classify returns the first class whose words r contains.
func classify(r string, classes []reasonClass) (metrics.Reason, bool) {
	for _, c := range classes {
		for _, w := range c.words {
			if strings.Contains(r, w) {
				return c.reason, true
			}
		}
	}
	return "", false
}
