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
	"log/slog"
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
	// Report, when set, receives each policy's Report after its tick:
	// the plan, the targets' forecast scores and next planned changes,
	// and the changes applied (the ScalingPolicy status and Events are
	// written from it). It is called from the tick, one policy at a time.
	Report func(ctx context.Context, r Report)
	// Verdicts, when set, returns the last verdict on target of p that a
	// previous process left (the ScalingPolicy status), read when this
	// process first meets the target: it stays in force until this
	// process has a day of floors of its own to judge (see carried.go).
	Verdicts func(p *config.Policy, target string) (Verdict, bool)
	// Backfills is how many targets' floor ledgers are backfilled from
	// their demand history at once, in the background (default 1; see
	// backfill.go); negative backfills none: a target without a verdict
	// then waits a day of its own floors for its first judgement.
	Backfills int
	// APIServer, when set, checks that the API server answers (/readyz
	// calls it with a 2 s deadline): without it the daemon is not ready.
	APIServer func(ctx context.Context) error
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
	if c.Backfills == 0 {
		c.Backfills = 1
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
	warmed  atomic.Bool                   // every policy's signals fetched once
	ready   atomic.Pointer[[]targetReady] // readiness at the last tick
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
	// ledgers hold each target's recorded forecast floors and the
	// judgement of whether they pay, by policy/target (see impact.go).
	ledgers map[string]*floorLedger
	// usageAt is when each target's pod usage was last read, by
	// policy/target.
	usageAt map[string]time.Time
	// bf runs the ledgers' backfills from history (backfill.go).
	bf backfiller
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
	model   string              // the model label exported for it (model_info)
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
		engines: map[*config.Policy]*policy.Engine{}, states: map[string]policy.State{}, fits: map[fitKey]*fitted{}, ledgers: map[string]*floorLedger{},
		managed: map[string]hpaRef{}, promoted: map[string]string{}, usageAt: map[string]time.Time{}}
}

// Run ticks until ctx is done. Cancelling ctx abandons the tick in
// progress between actuations and the ledgers' backfills (Run returns
// once they have stopped); the floors already applied stay in place
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
			l.waitBackfills() // they stop with ctx
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
			errs = append(errs, fmt.Errorf("policy %s: %w", p.Key(), err))
		}
		plans = append(plans, plan)
	}
	if err := l.seedManaged(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := l.restoreLeavers(ctx); err != nil {
		errs = append(errs, err)
	}
	l.startBackfills(ctx) // after the tick's refits and actuations
	l.snapshotReadiness()
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

func (l *Loop) tickPolicy(ctx context.Context, p *config.Policy, now time.Time) (policy.Plan, error) {
	eng := l.engines[p]
	if eng == nil {
		eng = policy.NewEngine(p)
		l.engines[p] = eng
	}
	in := l.inputs(ctx, p, now)
	in.StoodDown, in.OperatingPoint, in.OperatingWhy = l.standDowns(ctx, p, now) // first: promotion reads today's judgement
	in.Promoted = l.promotions(p)
	cur, err := l.act.Current(ctx, p)
	if err != nil {
		// The engine falls back to the policy's owner values for what it
		// cannot read; say so, and go on planning.
		l.log.Warn("reading live state failed", "policy", p.Key(), "err", err)
	}
	in.Current = cur
	key := p.File + "#" + p.Key()
	plan, next := eng.Plan(now, l.states[key], in)
	l.states[key] = next
	l.recordFloors(p, next, now)
	var acts []Actuation
	if l.cfg.Report != nil {
		defer func() { l.report(ctx, p, eng, now, plan, next, in, acts) }()
	}
	for _, w := range plan.Warnings {
		l.log.Warn("plan warning", "policy", p.Key(), "warning", w)
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
		acts = append(acts, Actuation{Resource: r, Outcome: out, Err: err})
		if l.exp != nil {
			l.exp.Actuations.WithLabelValues(p.TargetLabel(r.Target), r.Kind, string(out.Result)).Inc()
			if out.Applied != nil {
				if v, ok := numeric(p, r, out.Applied); ok {
					l.exp.Applied.WithLabelValues(p.TargetLabel(r.Target), r.Kind, r.Field).Set(v)
				}
			}
		}
	}
	return plan, errors.Join(errs...)
}
