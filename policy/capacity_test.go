package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
)

// base is a one-target policy whose fields the tests below vary.
const base = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: t}
spec:
  targets:
    - name: api
      signals:
        demand: {query: "sum(rate(req[1m]))"}
        latencyP95: {query: "p95", objective: 100ms}
      capacity: {perPod: 100, targetUtilization: 0.7, headroom: 0.1, quantile: 0.9, leadTime: 5m, window: 15m}
      hpa:
        namespace: a
        name: api
        minReplicas: 2
        maxReplicas: 50
        maxStepUp: 5
        scaleDown: {pods: 2, period: 5m, stabilization: 10m}
        cooldown: 3m
`

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// shaped is a forecast whose p90 is v(i) at minute i from t0−10m.
func shaped(v func(i int) float64) map[string]map[string]*forecast.Forecast {
	n := 120
	f := &forecast.Forecast{Model: "test", Start: t0.Add(-10 * time.Minute), Step: time.Minute,
		Mean: make([]float64, n), Quantiles: map[float64][]float64{0.5: make([]float64, n), 0.9: make([]float64, n)}}
	for i := range n {
		f.Quantiles[0.9][i] = v(i)
		f.Quantiles[0.5][i] = v(i) / 2
		f.Mean[i] = v(i) / 2
	}
	return map[string]map[string]*forecast.Forecast{"api": {"demand": f}}
}

func TestCapacityModel(t *testing.T) {
	e := parsePolicy(t, base)
	for _, c := range []struct {
		name     string
		forecast map[string]map[string]*forecast.Forecast
		observed map[string]float64
		replicas int
		want     int
		reason   string
	}{
		// ceil(1000 × 1.1 / (100 × 0.7)) = ceil(15.71) = 16, but the step
		// up from the owner's 2 is limited to 5: tested with current 20.
		{"flat", shaped(func(int) float64 { return 1000 }), nil, 0, 16, "ceil(1000 × 1.1 headroom / (100 per pod × 0.7 utilisation)) = 16"},
		// The window is [now+5m, now+20m] = minutes 15..30 of the forecast:
		// a peak at minute 25 counts, one at minute 40 does not.
		{"peak inside the window", shaped(func(i int) float64 { return map[bool]float64{true: 2000, false: 500}[i == 25] }), nil, 0, 32, "demand 2000"},
		{"peak after the window", shaped(func(i int) float64 { return map[bool]float64{true: 2000, false: 500}[i == 40] }), nil, 0, 8, "demand 500"},
		{"peak before the lead time", shaped(func(i int) float64 { return map[bool]float64{true: 2000, false: 500}[i == 12] }), nil, 0, 8, "demand 500"},
		// p95 200ms against 100ms at 1000 RPS on 10 pods (100 per pod):
		// learned = 100 × (0.1/0.2) / 0.7 = 71.4 per pod; ceil(1100/(71.4×0.7)) = 22.
		{"latency calibrates capacity", shaped(func(int) float64 { return 1000 }), map[string]float64{"latencyP95": 0.2, "demand": 1000}, 10, 22, "per-pod capacity 100 → 71.43 learned: p95 200ms above objective 100ms"},
		// p95 1s: learned 14.3 is bounded at 50% of 100.
		{"latency calibration bounded", shaped(func(int) float64 { return 1000 }), map[string]float64{"latencyP95": 1, "demand": 1000}, 10, 32, "(bounded at 50% of configured)"},
		{"latency under objective: configured", shaped(func(int) float64 { return 1000 }), map[string]float64{"latencyP95": 0.05, "demand": 1000}, 10, 16, "per pod × 0.7"},
		// Without a usable forecast the floor of 20 comes down only along
		// the scale-down rate (2 pods per 5m), never straight to the owner's 2.
		{"NaN forecast discarded", shaped(func(i int) float64 { return math.NaN() }), nil, 0, 18, "demand forecast discarded"},
		{"absurd forecast discarded", shaped(func(i int) float64 { return 1e15 }), nil, 0, 18, "demand forecast discarded"},
		{"no forecast: rules and owner's floor only", nil, nil, 0, 18, "no usable demand forecast"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := Inputs{Forecasts: c.forecast, Observed: map[string]map[string]float64{"api": c.observed},
				Current: Current{HPAs: map[string]HPAStatus{"api": {MinReplicas: 20, MaxReplicas: 50, Replicas: c.replicas}}}}
			// The previous floor is the expected one (20 where the floor
			// must come down), so the model's value shows through the limits.
			prev := c.want
			if prev == 18 {
				prev = 20
			}
			p, _ := e.Plan(t0, State{Targets: map[string]TargetState{"api": {Floor: prev, LastChange: t0.Add(-time.Hour)}}}, in)
			r := find(t, p, "api", KindHPA, FieldMinReplicas)
			if r.Desired != c.want {
				t.Errorf("floor %v, want %d: %q", r.Desired, c.want, r.Reasons)
			}
			if !hasReason(r, c.reason) {
				t.Errorf("no reason %q in %q", c.reason, r.Reasons)
			}
		})
	}
}

func TestQuantileChoice(t *testing.T) {
	f := shaped(func(int) float64 { return 1000 })["api"]["demand"]
	for _, c := range []struct {
		q     float64
		want  float64
		level string
	}{
		{0.9, 1000, "p90"},
		{0.8, 1000, "p90 (nearest at or above p80)"},
		{0.5, 500, "p50"},
		{0.95, 1000, "p90 (highest available; p95 wanted)"},
	} {
		v, level, ok := windowValue(f, c.q, t0, t0.Add(time.Minute))
		if !ok || v != c.want || level != c.level {
			t.Errorf("q%g: %v %q %v, want %v %q", c.q, v, level, ok, c.want, c.level)
		}
	}
	f.Quantiles = nil
	if _, level, _ := windowValue(f, 0.9, t0, t0.Add(time.Minute)); !strings.HasPrefix(level, "mean") {
		t.Errorf("no quantiles: level %q", level)
	}
	// A window beyond the forecast's end is not covered.
	if _, _, ok := windowValue(f, 0.9, t0.Add(2*time.Hour), t0.Add(3*time.Hour)); ok {
		t.Error("uncovered window accepted")
	}
}

func TestLimits(t *testing.T) {
	e := parsePolicy(t, base)
	flat := func(v float64) Inputs {
		return Inputs{Forecasts: shaped(func(int) float64 { return v })}
	}
	// 70 per pod at 70% with 10% headroom: demand d gives ceil(d×1.1/70).
	perFloor := func(n int) float64 { return float64(n) * 70 / 1.1 }
	for _, c := range []struct {
		name   string
		prev   TargetState
		in     Inputs
		want   int
		reason string
	}{
		{"owner's floor", TargetState{Floor: 2}, flat(0), 2, "limit: owner's minReplicas 2"},
		{"ceiling", TargetState{Floor: 48}, flat(perFloor(80)), 50, "limit: capped at the ceiling maxReplicas 50"},
		{"max step up", TargetState{Floor: 10}, flat(perFloor(30)), 15, "limit: max step up 5 from 10 → 15"},
		{"up is immediate within the step", TargetState{Floor: 10, LastChange: t0.Add(-time.Minute)}, flat(perFloor(13)), 13, "= 13"},
		{"stabilisation holds", TargetState{Floor: 20, LastChange: t0.Add(-time.Hour),
			Recent: []Recommendation{{t0.Add(-9 * time.Minute), 20}}}, flat(perFloor(10)), 20, "scale-down stabilisation 10m holds 20"},
		{"stabilisation expired: rate applies", TargetState{Floor: 20, LastChange: t0.Add(-time.Hour),
			Recent: []Recommendation{{t0.Add(-10 * time.Minute), 20}}}, flat(perFloor(10)), 18, "limit: scale-down rate 2 pods per 5m → 18"},
		{"cooldown after a change", TargetState{Floor: 20, LastChange: t0.Add(-2 * time.Minute)}, flat(perFloor(10)), 20, "limit: cooldown 3m"},
		{"rate: one step per period", TargetState{Floor: 20, LastChange: t0.Add(-4 * time.Minute), LastDecrease: t0.Add(-4 * time.Minute)}, flat(perFloor(10)), 20, "limit: scale-down rate (one step per 5m) holds 20"},
		{"small decrease within the rate", TargetState{Floor: 11, LastChange: t0.Add(-time.Hour)}, flat(perFloor(10)), 10, "= 10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, next := e.Plan(t0, State{Targets: map[string]TargetState{"api": c.prev}}, c.in)
			r := find(t, p, "api", KindHPA, FieldMinReplicas)
			if r.Desired != c.want {
				t.Errorf("floor %v, want %d: %q", r.Desired, c.want, r.Reasons)
			}
			if !hasReason(r, c.reason) {
				t.Errorf("no reason %q in %q", c.reason, r.Reasons)
			}
			if next.Targets["api"].Floor != c.want {
				t.Errorf("state floor %d", next.Targets["api"].Floor)
			}
			if c.want < c.prev.Floor && !next.Targets["api"].LastDecrease.Equal(t0) {
				t.Error("decrease not recorded")
			}
		})
	}
}

// A stabilisation window shorter than the lead time would shed the pods
// raised for a peak before it arrives: the lead time holds them.
func TestLeadTimeHoldsAShortStabilisation(t *testing.T) {
	e := parsePolicy(t, strings.Replace(base, "stabilization: 10m", "stabilization: 1m", 1))
	flat := Inputs{Forecasts: shaped(func(int) float64 { return 10 * 70 / 1.1 })}
	for _, c := range []struct {
		ago    time.Duration
		want   int
		reason string
	}{
		{4 * time.Minute, 20, "limit: lead time 5m holds 20 (highest recommendation in the window; scale-down stabilisation 1m is shorter)"},
		{5 * time.Minute, 18, "limit: scale-down rate 2 pods per 5m → 18"},
	} {
		prev := TargetState{Floor: 20, LastChange: t0.Add(-time.Hour), Recent: []Recommendation{{t0.Add(-c.ago), 20}}}
		p, _ := e.Plan(t0, State{Targets: map[string]TargetState{"api": prev}}, flat)
		r := find(t, p, "api", KindHPA, FieldMinReplicas)
		if r.Desired != c.want || !hasReason(r, c.reason) {
			t.Errorf("recommendation of 20 %v ago: floor %v, want %d with %q: %q", c.ago, r.Desired, c.want, c.reason, r.Reasons)
		}
	}
}

func TestOwnerFloorFromLiveHPA(t *testing.T) {
	e := parsePolicy(t, base)
	p, _ := e.Plan(t0, State{}, Inputs{Current: Current{HPAs: map[string]HPAStatus{"api": {OwnerMinReplicas: 6, MinReplicas: 6, MaxReplicas: 50}}}})
	if r := find(t, p, "api", KindHPA, FieldMinReplicas); r.Desired != 6 || !hasReason(r, "owner's minReplicas 6") {
		t.Errorf("floor %v %q: never below the owner's live minReplicas", r.Desired, r.Reasons)
	}
}

func TestMissingDataHoldsThenFallsBack(t *testing.T) {
	e := parsePolicy(t, base)
	in := Inputs{Forecasts: shaped(func(int) float64 { return 1000 })}
	st := State{Targets: map[string]TargetState{"api": {Floor: 16}}}
	_, st = e.Plan(t0, st, in)
	// Forecast gone 10 minutes later: the floor of 16 is held.
	p, st := e.Plan(t0.Add(10*time.Minute), st, Inputs{})
	if r := find(t, p, "api", KindHPA, FieldMinReplicas); r.Desired != 16 || !hasReason(r, "holding 16") {
		t.Errorf("within grace: %v %q", r.Desired, r.Reasons)
	}
	// After the grace period the forecast's floor is gone; the limits
	// bring the floor down gradually.
	p, _ = e.Plan(t0.Add(MissingDataGrace+time.Minute), st, Inputs{})
	if r := find(t, p, "api", KindHPA, FieldMinReplicas); r.Desired != 14 || !hasReason(r, "no usable demand forecast") {
		t.Errorf("after grace: %v %q", r.Desired, r.Reasons)
	}
}

func TestNodesFor(t *testing.T) {
	q := func(s string) config.Quantity {
		v, err := config.ParseQuantity(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	res := func(cpu, mem string) config.Resources { return config.Resources{CPU: q(cpu), Memory: q(mem)} }
	alloc, over := res("4", "16Gi"), res("500m", "1Gi")
	for _, c := range []struct {
		pods   int
		pod    config.Resources
		margin float64
		want   int
	}{
		{0, res("1", "1Gi"), 0.1, 0},
		// (4 − 0.5) × 0.9 = 3.15 cpu → 3 pods of 1 cpu per node.
		{9, res("1", "1Gi"), 0.1, 3},
		{10, res("1", "1Gi"), 0.1, 4},
		// Memory-bound: (16 − 1) × 0.9 = 13.5Gi → 3 pods of 4Gi per node.
		{7, res("100m", "4Gi"), 0.1, 3},
		// No packing margin: 3.5 cpu → 7 pods of 500m.
		{14, res("500m", "512Mi"), 0, 2},
	} {
		if got := NodesFor(c.pods, c.pod, alloc, over, c.margin); got != c.want {
			t.Errorf("NodesFor(%d, %v) = %d, want %d", c.pods, c.pod, got, c.want)
		}
	}
}

// TestPromotedShadowTargetActs: a shadow target with hpa.promote is
// applied once the daemon reports it promoted, and says why; a shadow
// target without promote, or one not reported, only records.
func TestPromotedShadowTargetActs(t *testing.T) {
	withPromote := strings.Replace(base, "        cooldown: 3m\n", "        cooldown: 3m\n        promote: {}\n", 1)
	in := func(promoted map[string]string) Inputs {
		return Inputs{Forecasts: shaped(func(int) float64 { return 1000 }), Promoted: promoted}
	}
	for _, c := range []struct {
		name     string
		doc      string
		promoted map[string]string
		apply    bool
		reason   string
	}{
		{"promoted", withPromote, map[string]string{"api": "MASE 0.62 ≤ 1 over 7d"}, true, "mode shadow, promoted: MASE 0.62 ≤ 1 over 7d"},
		{"not yet", withPromote, nil, false, "mode shadow: recorded, not applied"},
		{"no promote in the policy", base, map[string]string{"api": "MASE 0.62 ≤ 1 over 7d"}, false, "mode shadow: recorded, not applied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := parsePolicy(t, c.doc).Plan(t0, State{}, in(c.promoted))
			r := find(t, p, "api", KindHPA, FieldMinReplicas)
			if r.Apply != c.apply || !hasReason(r, c.reason) {
				t.Errorf("apply %v, want %v; reasons %q, want %q", r.Apply, c.apply, r.Reasons, c.reason)
			}
		})
	}
}
