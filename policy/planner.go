package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/forecast"
)

// TargetPlanner plans one target's floor tick after tick from its observed
// demand alone, as the daemon does: it refits the demand forecast on its
// own schedule (not every tick), calls Engine.Plan with the State it
// keeps, and returns the planned minReplicas. Its Plan method has the
// shape of the backtest simulator's sim.FloorPlanner, so `prescale
// backtest --policy` can replay a policy through the engine:
//
//	sim.NewFloors("predictive", &policy.TargetPlanner{Engine: e, Target: "api"})
//
// A TargetPlanner is not safe for concurrent use; use one per simulation.
type TargetPlanner struct {
	Engine *Engine
	// Target is the policy target planned; empty means the first.
	Target string
	// Refit is the forecast's refit period. Default 15m.
	Refit time.Duration
	// Step is the grid the history is averaged onto before fitting, to
	// keep fits cheap. Default 5m; it should divide a day.
	Step time.Duration
	// History bounds the history fitted. Default 28 days.
	History time.Duration
	// Forecast is the model; nil means forecast.Auto.
	Forecast func(forecast.Series, forecast.Options) (*forecast.Forecast, error)

	state State
	fc    *forecast.Forecast
	fitAt time.Time
	// Last is the last plan, for callers that want its reasons.
	Last Plan
}

// Plan returns the target's planned floor at now, judged from observed
// (the demand known at now, nothing after it).
func (p *TargetPlanner) Plan(now time.Time, observed forecast.Series) (int32, error) {
	if p.Engine == nil || len(p.Engine.policy.Spec.Targets) == 0 {
		return 0, fmt.Errorf("target planner: no engine or no target")
	}
	if p.Target == "" {
		p.Target = p.Engine.policy.Spec.Targets[0].Name
	}
	var target *struct{ lead, window time.Duration }
	for _, t := range p.Engine.policy.Spec.Targets {
		if t.Name == p.Target {
			target = &struct{ lead, window time.Duration }{t.Capacity.LeadTime.D(), t.Capacity.Window.D()}
		}
	}
	if target == nil {
		return 0, fmt.Errorf("target planner: policy %s has no target %q", p.Engine.policy.Metadata.Name, p.Target)
	}
	refit, step, history := p.Refit, p.Step, p.History
	if refit <= 0 {
		refit = 15 * time.Minute
	}
	if step <= 0 {
		step = 5 * time.Minute
	}
	if history <= 0 {
		history = 28 * 24 * time.Hour
	}
	fit := p.Forecast
	if fit == nil {
		fit = forecast.Auto
	}
	var fitErr error
	if p.fc == nil || now.Sub(p.fitAt) >= refit {
		hist := Resample(observed, step, now.Add(-history), now)
		if hist.Observed() >= 2 {
			end := now.Add(refit + target.lead + target.window + step)
			h := int(end.Sub(hist.Time(hist.Len()))/step) + 1
			q := p.Engine.quantiles()
			fc, err := fit(hist, forecast.Options{Horizon: max(h, 1), Quantiles: q, Location: p.Engine.policy.Location})
			if err != nil {
				fitErr = fmt.Errorf("target planner %s at %s: %w", p.Target, now.Format(time.RFC3339), err)
			} else {
				p.fc, p.fitAt = fc, now
			}
		}
	}
	in := Inputs{Forecasts: map[string]map[string]*forecast.Forecast{}, Observed: map[string]map[string]float64{}}
	if p.fc != nil {
		in.Forecasts[p.Target] = map[string]*forecast.Forecast{"demand": p.fc}
	}
	if n := observed.Len(); n > 0 && !math.IsNaN(observed.Values[n-1]) {
		in.Observed[p.Target] = map[string]float64{"demand": observed.Values[n-1]}
	}
	plan, next := p.Engine.Plan(now, p.state, in)
	p.state, p.Last = next, plan
	r, ok := plan.Find(p.Target, KindHPA, FieldMinReplicas)
	if !ok {
		return 0, fmt.Errorf("target planner: no floor planned for %s", p.Target)
	}
	// A failed refit still returns the engine's floor (which holds the last
	// forecast's floor for the grace period), with the error for the record.
	return int32(r.Desired.(int)), fitErr
}

// quantiles are the provisioning quantiles of the policy's targets.
func (e *Engine) quantiles() []float64 {
	seen := map[float64]bool{}
	var qs []float64
	for _, t := range e.policy.Spec.Targets {
		if q := t.Capacity.Quantile; !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	return qs
}

// Resample averages s onto a grid of the given step aligned on the Unix
// epoch, over complete buckets inside [from, to). Buckets without samples
// are gaps (NaN). A step finer than the series' keeps the series' values.
func Resample(s forecast.Series, step time.Duration, from, to time.Time) forecast.Series {
	if s.Len() == 0 || s.Step <= 0 {
		return forecast.Series{Step: step}
	}
	if step < s.Step {
		step = s.Step
	}
	start := s.Start
	if from.After(start) {
		start = from
	}
	start = start.Truncate(step)
	if start.Before(s.Start) || start.Before(from) {
		start = start.Add(step)
	}
	end := s.End().Add(s.Step)
	if to.Before(end) {
		end = to
	}
	end = end.Truncate(step)
	n := int(end.Sub(start) / step)
	if n <= 0 {
		return forecast.Series{Start: start, Step: step}
	}
	out := forecast.Series{Start: start, Step: step, Values: make([]float64, n)}
	sums := make([]float64, n)
	counts := make([]int, n)
	first := int(start.Sub(s.Start) / s.Step)
	for i := max(first, 0); i < s.Len(); i++ {
		t := s.Time(i)
		if !t.Before(end) {
			break
		}
		b := int(t.Sub(start) / step)
		if b < 0 || math.IsNaN(s.Values[i]) {
			continue
		}
		sums[b] += s.Values[i]
		counts[b]++
	}
	for b := range out.Values {
		if counts[b] == 0 {
			out.Values[b] = math.NaN()
		} else {
			out.Values[b] = sums[b] / float64(counts[b])
		}
	}
	return out
}
