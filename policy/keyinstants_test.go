package policy

import (
	"strings"
	"testing"
	"time"
)

func TestConnectionBudgetWarn(t *testing.T) {
	doc := budgetPolicy(16, "warn")
	e := parsePolicy(t, doc)
	at := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	p, _ := e.Plan(at, State{}, Inputs{Forecasts: demand(at, 100, "api")})
	if c := find(t, p, "api", KindHPA, FieldMaxReplicas); c.Desired != 16 || !hasReason(c, "WARNING") {
		t.Errorf("warn: ceiling %v %q", c.Desired, c.Reasons)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "320 > 200") {
		t.Errorf("warnings %q", p.Warnings)
	}
	e = parsePolicy(t, budgetPolicy(8, "cap"))
	p, _ = e.Plan(at, State{}, Inputs{Forecasts: demand(at, 100, "api")})
	if c := find(t, p, "api", KindHPA, FieldMaxReplicas); c.Desired != 8 || len(p.Warnings) != 0 {
		t.Errorf("8 × 20 = 160 must fit: %v %q %q", c.Desired, c.Reasons, p.Warnings)
	}
}

func budgetPolicy(maxReplicas int, action string) string {
	return strings.NewReplacer("MAX", itoa(maxReplicas), "ACTION", action).Replace(`apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: budget}
spec:
  targets:
    - name: api
      signals: {demand: {query: "sum(rate(x[1m]))"}}
      capacity: {perPod: 100}
      hpa: {namespace: a, name: api, maxReplicas: MAX}
      database: pg
  databases:
    - name: pg
      identifier: pg
      tiers: [{class: small, maxConnections: 200}]
  rules:
    - name: budget
      connectionBudget: {database: pg, poolSize: 20, fraction: 1, action: ACTION}
`)
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmtInt(i/10) + string(rune('0'+i%10))
}

// A budget cap is not eased in: a floor of 14 held by stabilisation still
// drops to the budget's 10 at once.
func TestConnectionBudgetCapsAtOnce(t *testing.T) {
	e := parsePolicy(t, budgetPolicy(16, "cap"))
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := State{Targets: map[string]TargetState{"api": {Floor: 14, Ceiling: 16, LastChange: at.Add(-time.Minute),
		Recent: []Recommendation{{At: at.Add(-time.Minute), Floor: 14}}}}}
	p, _ := e.Plan(at, st, Inputs{Forecasts: demand(at, 30, "api")})
	floor := find(t, p, "api", KindHPA, FieldMinReplicas)
	ceil := find(t, p, "api", KindHPA, FieldMaxReplicas)
	if floor.Desired != 10 || ceil.Desired != 10 {
		t.Errorf("floor %v ceiling %v, want 10 and 10: %q %q", floor.Desired, ceil.Desired, floor.Reasons, ceil.Reasons)
	}
}
