package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestPlanNeverBelowOwnerAfterStepLimit: the owner raised minReplicas to 12
// while the last planned floor was 2 and maxStepUp is 5. The step-up limit
// alone would plan 7; the plan (what the daemon exports and writes) must
// still never go below the owner's value.
func TestPlanNeverBelowOwnerAfterStepLimit(t *testing.T) {
	e := parsePolicy(t, base) // maxStepUp 5
	st := State{Targets: map[string]TargetState{"api": {Floor: 2, Ceiling: 50}}}
	in := Inputs{Forecasts: shaped(func(int) float64 { return 100 }),
		Current: Current{HPAs: map[string]HPAStatus{"api": {OwnerMinReplicas: 12, MinReplicas: 12, MaxReplicas: 50}}}}
	p, next := e.Plan(t0, st, in)
	floor := find(t, p, "api", KindHPA, FieldMinReplicas)
	if floor.Desired != any(12) {
		t.Errorf("floor %d with the owner's minReplicas 12, want 12: %q", floor.Desired, floor.Reasons)
	}
	if next.Targets["api"].Floor != 12 {
		t.Errorf("state floor %d, want 12", next.Targets["api"].Floor)
	}
}

// TestPlanOwnerFloorWalk drives the engine through random ticks (demand,
// owner changes, elapsed time) and checks at each that the planned floor
// is never below the owner's minReplicas nor above the planned ceiling,
// and that the ceiling is never below the owner's minReplicas.
func TestPlanOwnerFloorWalk(t *testing.T) {
	e := parsePolicy(t, base)
	rng := rand.New(rand.NewPCG(16, 7))
	var st State
	at := t0
	owner, min := 2, 2
	for i := range 2000 {
		if rng.IntN(10) == 0 {
			owner = 1 + rng.IntN(30)
		}
		d := float64(rng.IntN(6000))
		in := Inputs{Forecasts: shaped(func(int) float64 { return d }),
			Current: Current{HPAs: map[string]HPAStatus{"api": {OwnerMinReplicas: owner, MinReplicas: max(min, owner), MaxReplicas: 50}}}}
		// The forecast must cover the window around the tick.
		for _, f := range in.Forecasts["api"] {
			f.Start = at.Add(-10 * time.Minute)
		}
		var p Plan
		p, st = e.Plan(at, st, in)
		floor := find(t, p, "api", KindHPA, FieldMinReplicas)
		ceil := find(t, p, "api", KindHPA, FieldMaxReplicas)
		f, c := floor.Desired.(int), ceil.Desired.(int)
		if f < owner || f > c || c < owner {
			t.Fatalf("tick %d (owner %d, demand %.0f): floor %d ceiling %d\n%s\n%s", i, owner, d, f, c,
				strings.Join(floor.Reasons, "\n"), strings.Join(ceil.Reasons, "\n"))
		}
		min = f
		at = at.Add(time.Duration(1+rng.IntN(10)) * time.Minute)
	}
}

// TestConnectionBudgetSharedWithDefaultFraction: two targets on one
// database of max_connections 200, pool 20, fraction left out (default 0.8):
// the budget is floor(0.8 × 200) = 160 connections, 8 pods, shared in
// proportion to the ceilings (20 and 20): 4 each, and 8 × 20 ≤ 160.
func TestConnectionBudgetSharedWithDefaultFraction(t *testing.T) {
	doc := `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: budget}
spec:
  targets:
    - name: api
      signals: {demand: {query: "sum(rate(x[1m]))"}}
      capacity: {perPod: 100}
      hpa: {namespace: a, name: api, maxReplicas: 20}
      database: pg
    - name: worker
      signals: {demand: {query: "sum(rate(y[1m]))"}}
      capacity: {perPod: 100}
      hpa: {namespace: a, name: worker, maxReplicas: 20}
      database: pg
  databases:
    - name: pg
      identifier: pg
      tiers: [{class: small, maxConnections: 200}]
  rules:
    - name: budget
      connectionBudget: {database: pg, poolSize: 20, action: cap}
`
	e := parsePolicy(t, doc)
	if f := e.Policy().Spec.Rules[0].ConnectionBudget.Fraction; f != 0.8 {
		t.Fatalf("fraction %v, want the default 0.8", f)
	}
	at := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	p, _ := e.Plan(at, State{}, Inputs{Forecasts: demand(at, 100, "api", "worker")})
	const budget, pool = 160, 20 // floor(0.8 × 200)
	total := 0
	for _, tn := range []string{"api", "worker"} {
		c := find(t, p, tn, KindHPA, FieldMaxReplicas)
		f := find(t, p, tn, KindHPA, FieldMinReplicas)
		if c.Desired != any(budget/pool/2) {
			t.Errorf("%s: ceiling %d, want %d (half of %d pods): %q", tn, c.Desired, budget/pool/2, budget/pool, c.Reasons)
		}
		if f.Desired.(int) > c.Desired.(int) {
			t.Errorf("%s: floor %d above ceiling %d", tn, f.Desired, c.Desired)
		}
		total += c.Desired.(int)
	}
	if total*pool > budget {
		t.Errorf("%d pods × %d = %d connections, over the budget %d", total, pool, total*pool, budget)
	}
	if !strings.Contains(fmt.Sprint(p.Warnings, find(t, p, "api", KindHPA, FieldMaxReplicas).Reasons), "> 160 (0.8 × max_connections 200") {
		t.Errorf("reasons do not state the budget 0.8 × 200 = 160: %q", find(t, p, "api", KindHPA, FieldMaxReplicas).Reasons)
	}
}
