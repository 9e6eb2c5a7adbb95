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
	ImpactMinSpan = 3 * 24 * time.Hour
)

// forecastFloors plans with a PolicyPlanner and asserts the forecast floor
// of each plan (the floor the forecast asked for, before rules, owner
// values and any stand-down): what the daemon records and judges.
type forecastFloors struct{ p *PolicyPlanner }

func (f forecastFloors) Plan(now time.Time, observed forecast.Series) (int32, error) {
	if _, err := f.p.Plan(now, observed); err != nil {
		return 0, err
	}
	st, ok := f.p.state.Targets[f.p.Target]
	if !ok || !st.LastForecast.Equal(now) {
		return 0, nil // no forecast at this plan: no forecast floor
	}
	return int32(st.ForecastFloor), nil
}

// PolicyImpact is a target's impact report from its history alone, as the
// daemon would have made it had it run over trace: the policy's engine
// plans target's floors over the last ImpactSpan of trace with forecasts
// refitted every refit on the history before each plan (as the backtest's
// predictive strategy does), and the forecast floors are compared with the
// HPA alone (Compare) over the last 14 and 7 days. With less than
// ImpactMinSpan of history it returns nil reports and why.
func PolicyImpact(ctx context.Context, e *policy.Engine, target string, trace forecast.Series, refit time.Duration) (im7, im14 *Impact, why string, err error) {
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
	cfg := DefaultConfig(t.Capacity.PerPod)
	cfg.TargetUtilization = t.Capacity.TargetUtilization
	cfg.MinReplicas = int32(max(1, t.HPA.MinReplicas))
	cfg.MaxReplicas = int32(t.HPA.MaxReplicas)
	cfg.SyncPeriod = CompareSync
	cfg.PlanInterval = max(cfg.PlanInterval, CompareSync)
	cfg.Record = true
	fp := &ForecastPlanner{Sizing: Sizing{Capacity: cfg.Capacity, TargetUtilization: cfg.TargetUtilization},
		Lead: cfg.LeadTime(), Window: 5 * time.Minute, Refit: refit, Step: max(trace.Step, 5*time.Minute), Location: e.Policy().Location}
	pp, _, err := NewPolicyPlanner(policy.NewEngine(e.Policy()), t.Name, fp)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	f := NewFloors("predictive", forecastFloors{pp})
	f.DownPercent, f.Hold = 100, 0
	res, err := Run(ctx, cfg, demand, f)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	floors := res.Timeline.Floor
	cfg.Record = false
	c14, err := Compare(ctx, cfg, demand, floors)
	if err != nil {
		return nil, nil, "", fmt.Errorf("impact: %w", err)
	}
	im14, im7 = &c14, &c14
	if n := int(ImpactRecent / Minute); demand.Len() > n+60 {
		c7, err := Compare(ctx, cfg, demand.Slice(demand.Len()-n, demand.Len()), floors[len(floors)-n:])
		if err != nil {
			return nil, nil, "", fmt.Errorf("impact: %w", err)
		}
		im7 = &c7
	}
	return im7, im14, "", nil
}
