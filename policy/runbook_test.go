package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// The runbook conformance tests (runbook_*_test.go) drive the engine the
// way the daemon does: a tick every minute, the State of one tick passed
// to the next, and the live state (Current) updated with what each tick
// applied, so that change windows, hysteresis, stabilisation and the
// scale-down rates all show. At each step a runbook names, they check the
// value of every resource the step touches against the runbook's text
// (../shared/DESIGN.md, "The problem"), not against what the engine
// printed.

// timeline is one engine driven tick by tick.
type timeline struct {
	t       *testing.T
	e       *Engine
	st      State
	cur     Current
	at      time.Time
	tick    time.Duration
	demand  map[string]float64 // p90 demand by target
	obs     map[string]map[string]float64
	promote map[string]string
	last    Plan
	// applied counts the plan's resources applied, by kind/name/field.
	applied map[string]int
	// every, when set, is called with each tick's plan.
	every func(Plan)
}

func newTimeline(t *testing.T, e *Engine, start time.Time, demand map[string]float64) *timeline {
	t.Helper()
	tl := &timeline{t: t, e: e, at: start, tick: time.Minute, demand: demand,
		obs: map[string]map[string]float64{}, applied: map[string]int{},
		cur: Current{HPAs: map[string]HPAStatus{}, NodeGroups: map[string]int{}, Databases: map[string]string{},
			Caches: map[string]string{}, ReadReplicas: map[string]int{}, Pools: map[string]int{}}}
	tl.step()
	return tl
}

// forecasts is a flat forecast of each target's demand around at.
func (tl *timeline) forecasts(at time.Time) map[string]map[string]*forecast.Forecast {
	out := map[string]map[string]*forecast.Forecast{}
	for name, q := range tl.demand {
		n := 4 * 60
		f := &forecast.Forecast{Model: "test", Start: at.Add(-time.Hour), Step: time.Minute, Mean: make([]float64, n),
			Quantiles: map[float64][]float64{0.9: make([]float64, n)}}
		for i := range n {
			f.Mean[i], f.Quantiles[0.9][i] = q*0.8, q
		}
		out[name] = map[string]*forecast.Forecast{"demand": f}
	}
	return out
}

// step plans one tick at tl.at and applies what the plan applies.
func (tl *timeline) step() {
	in := Inputs{Forecasts: tl.forecasts(tl.at), Observed: tl.obs, Current: tl.cur, Promoted: tl.promote}
	p, next := tl.e.Plan(tl.at, tl.st, in)
	tl.st, tl.last = next, p
	for _, r := range p.Resources {
		if r.Apply {
			tl.applied[r.Kind+"/"+r.Name+"/"+r.Field]++
		}
	}
	// What the daemon applied is what it reads back next tick.
	tl.cur.Carry(p, func(r Resource) bool { return r.Apply })
	if tl.every != nil {
		tl.every(p)
	}
}

// to ticks up to and including at, and returns the plan there.
func (tl *timeline) to(at time.Time) Plan {
	tl.t.Helper()
	if at.Before(tl.at) {
		tl.t.Fatalf("timeline at %s cannot go back to %s", tl.at, at)
	}
	for tl.at.Before(at) {
		tl.at = tl.at.Add(tl.tick)
		if tl.at.After(at) {
			tl.at = at
		}
		tl.step()
	}
	return tl.last
}

// want is one value a runbook step names.
type want struct {
	target, kind, field string
	value               any
	// reason, when set, must be among the resource's reasons.
	reason string
}

func floorOf(target string, v int) want { return want{target, KindHPA, FieldMinReplicas, v, ""} }
func ceilOf(target string, v int) want  { return want{target, KindHPA, FieldMaxReplicas, v, ""} }
func cpuOf(target string, v int) want   { return want{target, KindHPA, FieldTargetCPU, v, ""} }

func (w want) because(r string) want { w.reason = r; return w }

// check asserts every value of a step in the plan.
func check(t *testing.T, step string, p Plan, ws ...want) {
	t.Helper()
	for _, w := range ws {
		r, ok := p.Find(w.target, w.kind, w.field)
		if !ok {
			t.Errorf("%s: no %s %s of %s in the plan", step, w.kind, w.field, w.target)
			continue
		}
		if fmt.Sprint(r.Desired) != fmt.Sprint(w.value) {
			t.Errorf("%s: %s %s of %s = %v, runbook says %v\n  reasons: %s", step, w.kind, w.field, w.target, r.Desired, w.value, strings.Join(r.Reasons, "; "))
		}
		if w.reason != "" && !hasReason(r, w.reason) {
			t.Errorf("%s: %s %s of %s: no reason containing %q in\n  %s", step, w.kind, w.field, w.target, w.reason, strings.Join(r.Reasons, "; "))
		}
	}
}

func resource(t *testing.T, p Plan, target, kind, field string) Resource {
	t.Helper()
	return find(t, p, target, kind, field)
}
