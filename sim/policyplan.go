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
	return &PolicyPlanner{Engine: e, Target: t.Name, Forecasts: forecasts}, t, nil
}

// Plan implements FloorPlanner.
func (p *PolicyPlanner) Plan(now time.Time, observed forecast.Series) (int32, error) {
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
