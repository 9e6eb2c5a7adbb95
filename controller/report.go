package controller

import (
	"context"
	"math"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy"
)

// Report is one policy's outcome at one tick, for Config.Report: what the
// ScalingPolicy status and its Events are written from.
type Report struct {
	Policy *config.Policy
	Plan   policy.Plan
	// Current is the live state the plan was made from.
	Current policy.Current
	// Targets by name.
	Targets map[string]TargetReport
	// Actuations are the changes applied (or tried) at this tick.
	Actuations []Actuation
}

// TargetReport is one target's forecast state and planned floors.
type TargetReport struct {
	// Forecast is true when the target has a usable demand forecast; Why
	// says why not.
	Forecast bool
	Why      string
	// MASE and Coverage are the rolling scores of the demand forecasts,
	// NaN until one could be scored.
	MASE, Coverage float64
	// Promoted is why a shadow target with hpa.promote is applied as
	// active; NotPromoted why it is not yet.
	Promoted, NotPromoted string
	// Next is the next change of the floor the plan foresees, nil when
	// none within the horizon NextChange searches.
	Next *NextChange
}

// NextChange is a change of a target's planned minReplicas ahead.
type NextChange struct {
	From, To int
	At       time.Time
	Reason   string
}

// Actuation is one change applied at a tick, and how it ended.
type Actuation struct {
	Resource policy.Resource
	Outcome  Outcome
	Err      error
}

// Horizon and step of the search for the next planned change.
const (
	nextChangeHorizon = 6 * time.Hour
	nextChangeStep    = 5 * time.Minute
)

// report builds the policy's Report. It plans ahead from the state after
// this tick, with this tick's inputs, every nextChangeStep up to
// nextChangeHorizon, to find each target's next floor change; a target with
// a demand forecast is searched only while the forecast covers the planning
// window (beyond it the plan would be the fail-static one of a forecast
// that never came, not a plan).
func (l *Loop) report(ctx context.Context, p *config.Policy, eng *policy.Engine, now time.Time, plan policy.Plan, state policy.State, in policy.Inputs, acts []Actuation) {
	r := Report{Policy: p, Plan: plan, Current: in.Current, Targets: map[string]TargetReport{}, Actuations: acts}
	pending := map[string]int{}
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		tr := TargetReport{MASE: math.NaN(), Coverage: math.NaN(), Promoted: in.Promoted[t.Name]}
		if ft := l.fits[fitKey{p.Metadata.Name, t.Name, "demand"}]; ft != nil {
			tr.Forecast, tr.Why, tr.MASE, tr.Coverage = ft.f != nil, ft.why, ft.mase, ft.coverage
			if tr.Promoted == "" && t.HPA.Mode == "shadow" && t.HPA.Promote != nil {
				if ft.scoredSince.IsZero() || ft.f == nil {
					tr.NotPromoted = "not scored yet"
				} else {
					_, tr.NotPromoted = promotion(t.HPA.Promote, ft.f.Start.Sub(ft.scoredSince), ft.mase, ft.coverage)
				}
			}
		}
		if !tr.Forecast && tr.Why == "" {
			tr.Why = "not fetched yet"
		}
		r.Targets[t.Name] = tr
		if res, ok := plan.Find(t.Name, policy.KindHPA, policy.FieldMinReplicas); ok {
			if v, ok := res.Desired.(int); ok {
				pending[t.Name] = v
			}
		}
	}
	st := state
	for at := now.Add(nextChangeStep); len(pending) > 0 && !at.After(now.Add(nextChangeHorizon)); at = at.Add(nextChangeStep) {
		for name := range pending {
			t := targetOf(p, name)
			if f := in.Forecasts[name]["demand"]; f != nil && f.Time(f.Len()).Before(at.Add(t.Capacity.LeadTime.D()+t.Capacity.Window.D())) {
				delete(pending, name)
			}
		}
		if len(pending) == 0 {
			break
		}
		ahead, next := eng.Plan(at, st, in)
		st = next
		for name, from := range pending {
			res, ok := ahead.Find(name, policy.KindHPA, policy.FieldMinReplicas)
			if !ok {
				continue
			}
			if to, ok := res.Desired.(int); ok && to != from {
				tr := r.Targets[name]
				why := ""
				if len(res.Reasons) > 0 {
					why = res.Reasons[len(res.Reasons)-1]
				}
				tr.Next = &NextChange{From: from, To: to, At: at, Reason: why}
				r.Targets[name] = tr
				delete(pending, name)
			}
		}
	}
	l.cfg.Report(ctx, r)
}

func targetOf(p *config.Policy, name string) *config.Target {
	for i := range p.Spec.Targets {
		if p.Spec.Targets[i].Name == name {
			return &p.Spec.Targets[i]
		}
	}
	return &config.Target{}
}
