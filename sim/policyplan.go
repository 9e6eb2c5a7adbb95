package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/policy"
)

// PolicyPlanner plans one target's floor with prescale's policy engine, as
// the daemon would: at each decision it hands the engine the demand
// forecast (when Forecasts is set) and the last observed demand, and keeps
// the engine's State between decisions, so the policy's own limits
// (scale-down rate, stabilisation, cooldown, grace) apply. Without
// forecasts the floors come from the policy's schedule and event rules
// alone: the "schedule" strategy of a policy.
type PolicyPlanner struct {
	Engine *policy.Engine
	// Target is the policy target whose HPA floor is planned.
	Target string
	// Forecasts, when set, supplies the demand forecast; its Lead and
	// Window must cover the target's capacity.leadTime and window.
	Forecasts *ForecastPlanner

	state  policy.State
	target float64 // the plan's HPA CPU target, 0 when it plans none
	levels []float64
}

// Levels implements VerdictPlanner: the target's capacity.quantile, then its
// operating points (config.Capacity.Levels).
func (p *PolicyPlanner) Levels() []float64 { return p.levels }

// PlanVerdict implements VerdictPlanner as the daemon plans under a
// stand-down's verdict: stood down, the engine plans without the forecast
// floor (its rules and the owner's values still apply); at an operating
// point other than the owner's it sizes the forecast floor there. judged
// are the forecast floors of every level the engine computed at now (the
// daemon's ledger), zeros when it made no forecast floor at now.
func (p *PolicyPlanner) PlanVerdict(now time.Time, observed forecast.Series, level int, down bool) (int32, []int32, error) {
	in := p.inputs(now, observed)
	switch {
	case down:
		in.StoodDown = map[string]string{p.Target: "its forecast floors did not pay on its last 14 days"}
	case level > 0 && level < len(p.levels):
		in.OperatingPoint = map[string]float64{p.Target: p.levels[level]}
	}
	floor, err := p.plan(now, in)
	if err != nil {
		return 0, nil, err
	}
	judged := make([]int32, len(p.levels))
	if st, ok := p.state.Targets[p.Target]; ok && st.LastForecast.Equal(now) && len(st.LevelFloors) == len(judged) {
		for k, f := range st.LevelFloors {
			judged[k] = int32(f)
		}
	}
	return floor, judged, nil
}

// HPATarget implements TargetSetter: the CPU target the last plan set
// (a volatility rule's, or the lever's), 0 when it plans none.
func (p *PolicyPlanner) HPATarget() float64 { return p.target }

// NewPolicyPlanner returns a planner for target of the engine's policy
// (the first target when target is ""), and the target's configuration.
func NewPolicyPlanner(e *policy.Engine, target string, forecasts *ForecastPlanner) (*PolicyPlanner, *config.Target, error) {
	targets := e.Policy().Spec.Targets
	if len(targets) == 0 {
		return nil, nil, fmt.Errorf("policy %s has no target", e.Policy().Metadata.Name)
	}
	t := &targets[0]
	if target != "" {
		t = nil
		for i := range targets {
			if targets[i].Name == target {
				t = &targets[i]
			}
		}
		if t == nil {
			return nil, nil, fmt.Errorf("policy %s has no target %q", e.Policy().Metadata.Name, target)
		}
	}
	if forecasts != nil {
		forecasts.Lead = max(forecasts.Lead, t.Capacity.LeadTime.D())
		forecasts.Window = max(forecasts.Window, t.Capacity.Window.D())
		forecasts.Quantile = t.Capacity.Quantile
		forecasts.OperatingPoints = t.Capacity.OperatingPoints
	}
	return &PolicyPlanner{Engine: e, Target: t.Name, Forecasts: forecasts, levels: t.Capacity.Levels()}, t, nil
}

// Plan implements FloorPlanner.
func (p *PolicyPlanner) Plan(now time.Time, observed forecast.Series) (int32, error) {
	return p.plan(now, p.inputs(now, observed))
}

// inputs are the engine's inputs at now: the demand forecast (when
// Forecasts is set) and the last observed demand.
func (p *PolicyPlanner) inputs(now time.Time, observed forecast.Series) policy.Inputs {
	in := policy.Inputs{}
	if p.Forecasts != nil {
		fc, err := p.Forecasts.Forecast(now, observed)
		if err != nil {
			// The engine holds the last good floor for its grace period.
			fc = nil
		}
		if fc != nil {
			in.Forecasts = map[string]map[string]*forecast.Forecast{p.Target: {"demand": fc}}
		}
	}
	for i := observed.Len() - 1; i >= 0; i-- {
		if v := observed.Values[i]; !math.IsNaN(v) {
			in.Observed = map[string]map[string]float64{p.Target: {"demand": v}}
			break
		}
	}
	return in
}

// plan runs the engine on in, keeping its State, and returns the target's
// minReplicas and keeps its CPU target.
func (p *PolicyPlanner) plan(now time.Time, in policy.Inputs) (int32, error) {
	plan, next := p.Engine.Plan(now, p.state, in)
	p.state = next
	r, ok := plan.Find(p.Target, policy.KindHPA, policy.FieldMinReplicas)
	if !ok {
		return 0, fmt.Errorf("policy plan at %s has no minReplicas for %s", now.Format(time.RFC3339), p.Target)
	}
	p.target = 0
	if c, ok := plan.Find(p.Target, policy.KindHPA, policy.FieldTargetCPU); ok {
		if pct, ok := c.Desired.(int); ok && pct > 0 {
			p.target = float64(pct) / 100
		}
	}
	floor, ok := r.Desired.(int)
	if !ok {
		return 0, fmt.Errorf("policy plan at %s: minReplicas of %s is %T, not int", now.Format(time.RFC3339), p.Target, r.Desired)
	}
	return int32(floor), nil
}
