package controller

import (
	"context"
	"maps"
	"math"
	"strings"
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
	// Impact is the target's last impact report, nil before the first.
	Impact *ImpactReport
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

// Horizons and step of the search for the next planned change: while the
// forecast covers the planning window (at most nextChangeHorizon), then
// on the rules' calendar alone up to calendarHorizon, so that a rule's
// 08:00 pre-market ramp shows at its time from the evening before.
const (
	nextChangeHorizon = 6 * time.Hour
	calendarHorizon   = 24 * time.Hour
	nextChangeStep    = 5 * time.Minute
)

// report builds the policy's Report. It plans ahead from the state after
// this tick, with this tick's inputs, every nextChangeStep up to
// nextChangeHorizon, to find each target's next floor change; a target with
// a demand forecast is searched only while the forecast covers the planning
// window (beyond it the plan would be the fail-static one of a forecast
// that never came, not a plan). Past that, up to calendarHorizon, the
// rules alone are planned (calendarChanges).
func (l *Loop) report(ctx context.Context, p *config.Policy, eng *policy.Engine, now time.Time, plan policy.Plan, state policy.State, in policy.Inputs, acts []Actuation) {
	r := Report{Policy: p, Plan: plan, Current: in.Current, Targets: map[string]TargetReport{}, Actuations: acts}
	pending := map[string]int{}
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		tr := TargetReport{MASE: math.NaN(), Coverage: math.NaN(), Promoted: in.Promoted[t.Name], Impact: l.impactReport(p, t.Name, now)}
		if ft := l.fits[fitKey{p.Key(), t.Name, "demand"}]; ft != nil {
			tr.Forecast, tr.Why, tr.MASE, tr.Coverage = ft.f != nil, ft.why, ft.mase, ft.coverage
			if tr.Promoted == "" && t.HPA.Mode == "shadow" && t.HPA.Promote != nil {
				if ft.scoredSince.IsZero() || ft.f == nil {
					tr.NotPromoted = "not scored yet"
				} else {
					_, tr.NotPromoted = promotion(t.HPA.Promote, ft.f.Start.Sub(ft.scoredSince), ft.mase, ft.coverage, l.ledgers[p.Metadata.Name+"/"+t.Name])
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
	// Targets whose forecast ran out before a change was found: searched
	// on the calendar next.
	onCalendar := map[string]int{}
	for at := now.Add(nextChangeStep); len(pending) > 0 && !at.After(now.Add(nextChangeHorizon)); at = at.Add(nextChangeStep) {
		for name := range pending {
			t := targetOf(p, name)
			if f := in.Forecasts[name]["demand"]; f != nil && f.Time(f.Len()).Before(at.Add(t.Capacity.LeadTime.D()+t.Capacity.Window.D())) {
				onCalendar[name] = pending[name]
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
				tr.Next = &NextChange{From: from, To: to, At: at, Reason: Why(res.Reasons)}
				r.Targets[name] = tr
				delete(pending, name)
			}
		}
	}
	maps.Copy(onCalendar, pending) // no change within nextChangeHorizon
	if len(onCalendar) > 0 && len(p.Spec.Rules) > 0 {
		l.calendarChanges(eng, now, state, in, onCalendar, r.Targets)
	}
	l.cfg.Report(ctx, r)
}

// calendarChanges finds, for the targets still pending (name → floor
// planned now), the first time within calendarHorizon that the rules
// alone (schedules, events: no forecast, the floors of forecasts dropped
// from the state) plan a floor above the one planned now. A rule's floor
// is a lower bound whatever the forecast will say, so the floor will be
// at least that high then; a fall cannot be foreseen without a forecast
// and is not reported. Changes found go into targets.
func (l *Loop) calendarChanges(eng *policy.Engine, now time.Time, st policy.State, in policy.Inputs, pending map[string]int, targets map[string]TargetReport) {
	cal := in
	cal.Forecasts = nil
	cal.StoodDown = nil
	st.Targets = maps.Clone(st.Targets)
	for name, ts := range st.Targets {
		ts.LastForecast, ts.ForecastFloor = time.Time{}, 0
		st.Targets[name] = ts
	}
	for at := now.Add(nextChangeStep); len(pending) > 0 && !at.After(now.Add(calendarHorizon)); at = at.Add(nextChangeStep) {
		ahead, next := eng.Plan(at, st, cal)
		st = next
		for name, from := range pending {
			res, ok := ahead.Find(name, policy.KindHPA, policy.FieldMinReplicas)
			if !ok {
				continue
			}
			if to, ok := res.Desired.(int); ok && to > from {
				tr := targets[name]
				tr.Next = &NextChange{From: from, To: to, At: at, Reason: ruleReason(res.Reasons)}
				targets[name] = tr
				delete(pending, name)
			}
		}
	}
}

// ruleReason is the last reason that names a rule or an event (what
// raised a calendar floor), else the last reason.
func ruleReason(reasons []string) string {
	for i := len(reasons) - 1; i >= 0; i-- {
		if strings.HasPrefix(reasons[i], "rule ") || strings.HasPrefix(reasons[i], "event ") {
			return reasons[i]
		}
	}
	return Why(reasons)
}

func targetOf(p *config.Policy, name string) *config.Target {
	for i := range p.Spec.Targets {
		if p.Spec.Targets[i].Name == name {
			return &p.Spec.Targets[i]
		}
	}
	return &config.Target{}
}

// Why is the reason a planned value reads by: the planner's last reason
// that is not the target's mode (a shadow plan ends with "mode shadow:
// recorded, not applied", which the status and reports show as the mode,
// and which would hide why the value is what it is).
func Why(reasons []string) string {
	for i := len(reasons) - 1; i >= 0; i-- {
		if !strings.HasPrefix(reasons[i], "mode ") {
			return reasons[i]
		}
	}
	if len(reasons) > 0 {
		return reasons[len(reasons)-1]
	}
	return ""
}
