package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/policy"
)

// MaxOperatingPoints bounds the quantiles a stand-down judges besides the
// owner's: each costs a replay of the span judged.
const MaxOperatingPoints = config.MaxOperatingPoints

// StrategyNames are the compared strategies, in report order.
var StrategyNames = []string{"reactive", "schedule", "predictive", "oracle"}

// Setup is a backtest's configuration beyond the trace. The zero value of
// every field but Config means its default.
type Setup struct {
	// Config is the cluster; the zero Config is DefaultConfig. A zero
	// Capacity is sized from PeakReplicas.
	Config Config
	// PeakReplicas sizes pods so that the trace's peak needs this many
	// (20 by default): c = peak demand / N.
	PeakReplicas int
	// MaxHold is the longest gap held at the last value (15 minutes by
	// default); longer gaps are left out of the replay's metrics.
	MaxHold time.Duration
	// Warmup is the span at the start that every strategy runs through
	// but no metric counts, so that the predictive and schedule strategies
	// are judged once they have history (DefaultWarmup, 3 days, by
	// default: the predictive floors' first verdict is then in force, as
	// a daemon's backfill puts it; at most a third of the trace).
	Warmup time.Duration
	// Location is the local time of the daily and weekly cycles.
	Location *time.Location
	// Quantile the predictive floor provisions for (0.9 by default).
	Quantile float64
	// OperatingPoints are further quantiles whose floors the stand-down
	// judges beside Quantile's, putting in force the one that pays best
	// (see StandDown); at most MaxOperatingPoints. Not with NoStandDown,
	// PerfectForecast or Policy.
	OperatingPoints []float64
	// FloorUtilization is the utilisation at which the schedule and
	// predictive floors size pods for their demand estimate (by default
	// the HPA's target). 1 means the floor only guarantees that the
	// estimate is served, leaving the HPA's headroom to the HPA.
	FloorUtilization float64
	// Window after the lead time that a floor covers (5 minutes by
	// default).
	Window time.Duration
	// Refit period of the predictive model (15 minutes by default).
	Refit time.Duration
	// History bounds the history each refit fits (28 days by default).
	History time.Duration
	// ForecastStep is the predictive model's grid: by default the trace's
	// step, but no finer than 5 minutes.
	ForecastStep time.Duration
	// PredictiveHPATarget, when set, is the HPA's target utilisation under
	// the predictive strategy only: with forecast floors covering the
	// ramps, the HPA's own headroom can be thinner. The floors are still
	// sized at FloorUtilization. 0 keeps the cluster's target, which is
	// the like-for-like comparison.
	PredictiveHPATarget float64
	// TargetCeiling enables the predictive strategy's second lever (see
	// ForecastPlanner.TargetCeiling); 0 leaves the HPA target alone.
	TargetCeiling float64
	// Reselect is how often the predictive model is chosen afresh by
	// validation; refits in between refit only the chosen models (6 hours
	// by default; negative: at every refit). See ForecastPlanner.
	Reselect time.Duration
	// Forecast replaces the predictive strategy's model (tests).
	Forecast Forecaster
	// PerfectForecast plans the predictive floors from the demand's own
	// future (PerfectForecast): a bound on what a better forecast could
	// gain, not a strategy. It cannot be combined with Policy.
	PerfectForecast bool
	// ForecastError, in (0, 1), scales the predictive forecast's error
	// against the demand it forecasts (ForecastPlanner.Truth): 0.5 plans
	// the floors from a forecast half as wrong, in log terms, as the real
	// one. A bound like PerfectForecast, not a strategy: it answers how
	// much better the forecast would have to be for the floors to reach a
	// goal. 0 (unset) or 1 is the real forecast; it cannot be combined
	// with PerfectForecast, Policy or Predictive.
	ForecastError float64
	// Policy, when set, plans the floors with prescale's policy engine for
	// its target Target (the first when ""): the schedule strategy from
	// the policy's rules alone, the predictive one from the forecast and
	// the rules. The target's capacity.perPod, targetUtilization and HPA
	// bounds then set up the cluster, and spec.timeZone the seasons.
	Policy *policy.Engine
	Target string
	// Predictive and Schedule, when set, plan the floors of those
	// strategies instead of the built-in planners or the policy.
	Predictive, Schedule FloorPlanner
	// Sweep is the HPA targets reactive's cost–unserved curve is drawn
	// over (DefaultSweep when empty; widened when a strategy lies beyond
	// it, see SweepCurve). NoSweep skips the curve.
	Sweep   []float64
	NoSweep bool
	// NoStandDown keeps the predictive floors whether or not they pay. By
	// default the predictive strategy judges its floors every day on its
	// last 14 days, as the daemon does, and stands down where they do not
	// beat a cooler HPA at equal cost (see StandDown). Not with a perfect
	// forecast, which is a bound.
	NoStandDown bool
}

// Report is a backtest's outcome.
type Report struct {
	// Demand is the replayed 1-minute demand.
	Demand forecast.Series
	// Capacity is the per-pod capacity used.
	Capacity float64
	// Config is the cluster as simulated.
	Config Config
	// Location is the local time of the trace's cycles (nil: UTC).
	Location *time.Location
	// Results per strategy, in StrategyNames order.
	Results []Result
	// Curve is reactive's cost–unserved curve over a sweep of HPA targets
	// (nil with Setup.NoSweep), and EqualCost each strategy's place on it,
	// in Results order (the oracle's is left zero).
	Curve     CostCurve
	EqualCost []EqualCost
	// StandDown is the predictive strategy's judge of its own floors, as
	// it ended (nil with Setup.NoStandDown).
	StandDown *StandDown
}

// Result returns the named strategy's result.
func (r *Report) Result(name string) (Result, bool) {
	for _, x := range r.Results {
		if x.Strategy == name {
			return x, true
		}
	}
	return Result{}, false
}

// Backtest replays trace through the simulated cluster under every
// strategy. The strategies run concurrently; each sees the same demand.
// Cancelling ctx stops them.
func Backtest(ctx context.Context, trace forecast.Series, setup Setup) (*Report, error) {
	maxHold := setup.MaxHold
	if maxHold == 0 {
		maxHold = 15 * time.Minute
	}
	demand, err := Resample(trace, maxHold)
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	cfg := setup.Config
	if cfg.SyncPeriod == 0 && cfg.TargetUtilization == 0 {
		cfg = DefaultConfig(0)
	}
	var target *config.Target
	if setup.Policy != nil {
		// Only the target is needed here; the planners are made below.
		if _, target, err = NewPolicyPlanner(setup.Policy, setup.Target, nil); err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
		cfg.Capacity = target.Capacity.PerPod
		cfg.TargetUtilization = target.Capacity.TargetUtilization
		cfg.MinReplicas = int32(max(1, target.HPA.MinReplicas))
		cfg.MaxReplicas = int32(target.HPA.MaxReplicas)
		if setup.Location == nil {
			setup.Location = setup.Policy.Policy().Location
		}
	}
	if cfg.Capacity == 0 {
		n := setup.PeakReplicas
		if n == 0 {
			n = 20
		}
		if cfg.Capacity, err = PeakCapacity(demand, n); err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
	}
	if cfg.EvalFrom.IsZero() {
		warm := setup.Warmup
		if warm == 0 {
			warm = DefaultWarmup
		}
		span := time.Duration(demand.Len()) * Minute
		warm = min(warm, span/3).Truncate(Minute)
		cfg.EvalFrom = demand.Start.Add(warm)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	size := Sizing{Capacity: cfg.Capacity, TargetUtilization: cfg.TargetUtilization}
	if setup.FloorUtilization > 0 {
		size.TargetUtilization = setup.FloorUtilization
	}
	window := setup.Window
	if window == 0 {
		window = 5 * time.Minute
	}
	step := setup.ForecastStep
	if step == 0 {
		step = max(trace.Step, 5*time.Minute)
	}
	sched := setup.Schedule
	if sched == nil {
		sched = &SchedulePlanner{Sizing: size, Lead: cfg.LeadTime(), Window: window, Location: setup.Location}
	}
	pred := setup.Predictive
	if setup.PerfectForecast {
		if setup.Policy != nil || pred != nil {
			return nil, fmt.Errorf("backtest: a perfect forecast replaces the built-in predictive planner; it cannot be combined with a policy or another planner")
		}
		pred = &PerfectForecast{Sizing: size, Demand: demand, Lead: cfg.LeadTime(), Window: window}
	}
	if e := setup.ForecastError; e != 0 {
		if !(e > 0 && e <= 1) {
			return nil, fmt.Errorf("backtest: forecast error scale %g: want a value in (0, 1], the share of the real forecast's error kept", e)
		}
		if e < 1 && (setup.PerfectForecast || setup.Policy != nil || pred != nil) {
			return nil, fmt.Errorf("backtest: a forecast error scale applies to the built-in predictive planner's forecast; it cannot be combined with a perfect forecast, a policy or another planner")
		}
	}
	predTarget := cfg.TargetUtilization
	if setup.PredictiveHPATarget > 0 {
		predTarget = setup.PredictiveHPATarget
	}
	if setup.TargetCeiling != 0 && !(setup.TargetCeiling > predTarget && setup.TargetCeiling <= 1) {
		return nil, fmt.Errorf("backtest: target ceiling %g must be in (%g, 1], above the predictive HPA target", setup.TargetCeiling, predTarget)
	}
	if len(setup.OperatingPoints) > 0 && (setup.NoStandDown || setup.PerfectForecast || setup.Policy != nil || setup.Predictive != nil) {
		return nil, fmt.Errorf("backtest: operating points are chosen by the built-in planner's stand-down: not with no stand-down, a perfect forecast, a policy or another planner")
	}
	if len(setup.OperatingPoints) > MaxOperatingPoints {
		return nil, fmt.Errorf("backtest: %d operating points, at most %d", len(setup.OperatingPoints), MaxOperatingPoints)
	}
	for _, q := range setup.OperatingPoints {
		if !(q > 0 && q < 1) {
			return nil, fmt.Errorf("backtest: operating point %g: a quantile must be in (0,1)", q)
		}
	}
	if pred == nil {
		fp := &ForecastPlanner{Sizing: size, Quantile: setup.Quantile, OperatingPoints: setup.OperatingPoints, Lead: cfg.LeadTime(), Window: window,
			Refit: setup.Refit, Reselect: setup.Reselect, Step: step, History: setup.History, Location: setup.Location, Model: setup.Forecast,
			TargetCeiling: setup.TargetCeiling, NormalTarget: predTarget}
		if e := setup.ForecastError; e > 0 && e < 1 {
			fp.Truth, fp.ErrorScale = demand, e // the bound reads the future
		}
		pred = fp
	}
	schedF, predF := NewFloors("schedule", sched), NewFloors("predictive", pred)
	schedF.Hold, predF.Hold = cfg.LeadTime()+window, cfg.LeadTime()+window
	if !setup.NoStandDown && !setup.PerfectForecast && (target == nil || target.Capacity.StandsDown()) {
		c := cfg
		if setup.PredictiveHPATarget > 0 {
			c.TargetUtilization = setup.PredictiveHPATarget
		}
		predF.StandDown = &StandDown{Cluster: c}
	}
	if setup.Policy != nil {
		// The engine applies the policy's own limits and grace: the
		// strategy passes its floors through unchanged.
		if setup.Schedule == nil {
			if schedF.Planner, _, err = NewPolicyPlanner(setup.Policy, target.Name, nil); err != nil {
				return nil, fmt.Errorf("backtest: %w", err)
			}
			schedF.DownPercent, schedF.Hold = 100, 0
		}
		if setup.Predictive == nil {
			fp := pred.(*ForecastPlanner)
			if predF.Planner, _, err = NewPolicyPlanner(setup.Policy, target.Name, fp); err != nil {
				return nil, fmt.Errorf("backtest: %w", err)
			}
			predF.DownPercent, predF.Hold = 100, 0
		}
	}
	strategies := []Strategy{Reactive{}, schedF, predF}

	rep := &Report{Demand: demand, Capacity: cfg.Capacity, Config: cfg, Location: setup.Location, Results: make([]Result, len(StrategyNames))}
	rep.StandDown = predF.StandDown
	errs := make([]error, len(StrategyNames))
	var wg sync.WaitGroup
	for i, s := range strategies {
		c := cfg
		if s.Name() == "predictive" && setup.PredictiveHPATarget > 0 {
			c.TargetUtilization = setup.PredictiveHPATarget
		}
		wg.Go(func() { rep.Results[i], errs[i] = Run(ctx, c, demand, s) })
	}
	rep.Results[3], errs[3] = RunOracle(cfg, demand)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
	}
	if !setup.NoSweep {
		if rep.Curve, err = SweepCurve(ctx, cfg, demand, setup.Sweep, rep.Results); err != nil {
			return nil, fmt.Errorf("backtest: %w", err)
		}
		rep.EqualCost = make([]EqualCost, len(rep.Results))
		for i, r := range rep.Results {
			if r.Strategy != "oracle" {
				rep.EqualCost[i] = rep.Curve.Place(r)
			}
		}
	}
	return rep, nil
}
