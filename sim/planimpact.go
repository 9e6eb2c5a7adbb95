package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/policy"
)

// Impact windows: a target's floors are judged on the last 14 days of its
// history, as the daemon keeps, and also reported over the last 7.
const (
	ImpactSpan    = 14 * 24 * time.Hour
	ImpactRecent  = 7 * 24 * time.Hour
	ImpactMinSpan = 24 * time.Hour
)

// forecastFloors plans with a PolicyPlanner and asserts the forecast floor
// of each plan (the floor the forecast asked for, before rules, owner
// values and any stand-down): what the daemon records and judges. It
// keeps, by minute of the replay from start, the floors of each of the
// target's quantile levels (the owner's, then the operating points).
type forecastFloors struct {
	p      *PolicyPlanner
	start  time.Time
	levels [][]int32
}

func (f *forecastFloors) Plan(now time.Time, observed forecast.Series) (int32, error) {
	if _, err := f.p.Plan(now, observed); err != nil {
		return 0, err
	}
	st, ok := f.p.state.Targets[f.p.Target]
	if !ok || !st.LastForecast.Equal(now) {
		return 0, nil // no forecast at this plan: no forecast floor
	}
	if m := int(now.Sub(f.start) / Minute); m >= 0 && len(st.LevelFloors) == len(f.levels) {
		for k, v := range st.LevelFloors {
			for len(f.levels[k]) <= m {
				f.levels[k] = append(f.levels[k], -1) // not planned: the last plan holds
			}
			f.levels[k][m] = int32(v)
		}
	}
	return int32(st.ForecastFloor), nil
}

// perMinute returns each level's floor in every one of n minutes, a plan
// holding until the next (0 before the first).
func (f *forecastFloors) perMinute(n int) [][]int32 {
	out := make([][]int32, len(f.levels))
	for k, rec := range f.levels {
		out[k] = make([]int32, n)
		held := int32(0)
		for m := range n {
			if m < len(rec) && rec[m] >= 0 {
				held = rec[m]
			}
			out[k][m] = held
		}
	}
	return out
}

// TargetImpact is a target's impact report, as the daemon judges its
// floors: the operating point in force (the quantile whose floors paid
// best, see ChooseLevel) with its comparisons over the last 14 and 7
// days, and whether the target stands down and why.
type TargetImpact struct {
	Last7d, Last14d *Impact
	Quantile        float64
	StoodDown       bool
	Why             string
}

// PolicyImpact is a target's impact report from its history alone, as the
// daemon would have made it had it run over trace: the policy's engine
// plans target's floors over the last ImpactSpan of trace with forecasts
// refitted every refit on the history before each plan (as the backtest's
// predictive strategy does), at each of the target's quantile levels, and
// the floors are compared with the HPA alone (CompareLevels) over the last
// 14 days, the best paying by margin chosen, and compared again over the
// last 7 (where it loses there, it stands down: RecentVerdict). With less
// than ImpactMinSpan of history it returns a nil report and why.
func PolicyImpact(ctx context.Context, e *policy.Engine, target string, trace forecast.Series, refit time.Duration, margin float64) (*TargetImpact, string, error) {
	ti, _, why, err := PolicyImpactFloors(ctx, e, target, trace, refit, margin)
	return ti, why, err
}

// ReplayedFloors are the forecast floors PolicyImpactFloors judged: by
// level (the target's capacity.quantile, then its operating points:
// Levels), the floor of each minute of Demand (the span judged, the last
// ImpactSpan of the trace at most, by minute), 0 before the forecast's
// first plan (it plans after MinHistory of the span).
type ReplayedFloors struct {
	Demand forecast.Series
	Levels []float64
	Floors [][]int32
}

// ForecastMinHistory is how much history the replayed forecast needs
// before its first floor (ForecastPlanner.MinHistory's default).
const ForecastMinHistory = 48 * time.Hour

// JudgeMinSpan is the least span of floors a stand-down judges (one daily
// cycle): before it, floors stand at the target's lowest operating point
// (StandDown.MinSpan's default, and the daemon's).
const JudgeMinSpan = 24 * time.Hour

// DefaultWarmup is the backtest's default warmup (Setup.Warmup): the
// demand history behind a target's first verdict, the forecast's
// ForecastMinHistory and JudgeMinSpan of floors. A daemon installed on a
// target whose history (Prometheus keeps 15 days by default) reaches that
// far starts with a verdict in force: its backfill replays and judges the
// floors of that history before acting. So the metrics count from there,
// and measure the daemon as it runs; only a target with less history runs
// its first day unjudged at the lowest operating point, and --warmup 48h
// shows that day.
const DefaultWarmup = ForecastMinHistory + JudgeMinSpan

// PolicyImpactFloors is PolicyImpact, also returning the floors it
// replayed and judged, for a caller that keeps them (the daemon seeds a
// target's floor ledger with them: controller's backfill).
func PolicyImpactFloors(ctx context.Context, e *policy.Engine, target string, trace forecast.Series, refit time.Duration, margin float64) (*TargetImpact, *ReplayedFloors, string, error) {
	demand, err := Resample(trace, 15*time.Minute)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	if n := int(ImpactSpan / Minute); demand.Len() > n {
		demand = demand.Slice(demand.Len()-n, demand.Len())
	}
	if span := time.Duration(demand.Len()) * Minute; span < ImpactMinSpan {
		return nil, nil, fmt.Sprintf("%s of history, fewer than the %s the impact report needs", config.FormatDuration(span.Truncate(time.Minute)), config.FormatDuration(ImpactMinSpan)), nil
	}
	_, t, err := NewPolicyPlanner(e, target, nil)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	cfg := TargetConfig(t) // as the daemon judges
	cfg.SyncPeriod = CompareSync
	cfg.PlanInterval = max(cfg.PlanInterval, CompareSync)
	fp := &ForecastPlanner{Sizing: Sizing{Capacity: cfg.Capacity, TargetUtilization: cfg.TargetUtilization},
		Lead: cfg.LeadTime(), Window: 5 * time.Minute, Refit: refit, Step: max(trace.Step, 5*time.Minute), Location: e.Policy().Location}
	// The replayed engine plans target alone: a target's forecast floors
	// depend on its own forecast and capacity only (the connection
	// budgets, node groups and rules that bind the other targets act
	// after them), and planning every target of a policy of n at each
	// replayed minute made each target's replay n times as costly.
	one := *e.Policy()
	one.Spec.Targets = []config.Target{*t}
	pp, _, err := NewPolicyPlanner(policy.NewEngine(&one), t.Name, fp)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	levels := t.Capacity.Levels()
	ff := &forecastFloors{p: pp, start: demand.Start, levels: make([][]int32, len(levels))}
	f := NewFloors("predictive", ff)
	f.DownPercent, f.Hold = 100, 0
	if _, err := Run(ctx, cfg, demand, f); err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	all := ff.perMinute(demand.Len())
	var replays Replays // the 7-day comparison reuses the 14-day one's days
	ims, err := replays.CompareLevels(ctx, cfg, demand, all)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	k, pays, why := ChooseLevel(ims, levels, margin)
	if !t.Capacity.StandsDown() {
		// As the daemon: judged and reported, the owner's floors stay.
		_, w := ims[0].Pays(margin)
		k, pays, why = 0, true, "capacity.standDown is false, so the floors stay at the owner's quantile whatever the judgement: "+w
	}
	ti := &TargetImpact{Last14d: &ims[k], Last7d: &ims[k], Quantile: levels[k], StoodDown: !pays, Why: why}
	c7, ok, err := replays.CompareRecent(ctx, cfg, demand, all[k])
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	if ok {
		ti.Last7d = &c7
		if t.Capacity.StandsDown() {
			pays, why := RecentVerdict(!ti.StoodDown, ti.Why, c7)
			ti.StoodDown, ti.Why = !pays, why
		}
	}
	return ti, &ReplayedFloors{Demand: demand, Levels: levels, Floors: all}, "", nil
}
