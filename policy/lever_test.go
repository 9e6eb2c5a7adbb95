package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// leverEngine is base with the CPU target's ceiling at 85% and a volatility
// rule that lowers it to 60% above a VIX of 25.
func leverEngine(t *testing.T) *Engine {
	doc := strings.Replace(base, "        cooldown: 3m\n", "        cooldown: 3m\n        maxTargetUtilization: 0.85\n", 1)
	doc = strings.Replace(doc, "        latencyP95:", "        extra: [{name: vix, query: vix}]\n        latencyP95:", 1) +
		`  rules:
    - name: volatile
      volatility: {signal: vix, above: 25, below: 22, targetUtilization: 0.6}
`
	return parsePolicy(t, doc)
}

// TestTargetLever checks the second lever against its definition
// (config.HPA.MaxTargetUtilization): with the forecast quantile flat or
// falling over the lead time and window the CPU target is raised to the
// ceiling, 85%; before a rise larger than the ceiling's extra capacity
// (85/70 = 1.214×) it stays at capacity.targetUtilization, 70%; a rule
// that lowers the target wins; without a forecast floor it is 70%.
func TestTargetLever(t *testing.T) {
	e := leverEngine(t)
	// The near span is [t0, t0+5m] = forecast minutes 10..14, the window
	// [t0+5m, t0+20m] = minutes 15..29 (see shaped).
	step := func(before, after float64) map[string]map[string]*forecast.Forecast {
		return shaped(func(i int) float64 {
			if i < 15 {
				return before
			}
			return after
		})
	}
	for _, c := range []struct {
		name      string
		forecast  map[string]map[string]*forecast.Forecast
		vix       float64
		stoodDown bool
		want      int
		reason    string
	}{
		{"flat: raised", step(1000, 1000), 10, false, 85, "CPU target raised to 85%"},
		{"falling: raised", step(1000, 500), 10, false, 85, "CPU target raised to 85%"},
		{"rise within the ceiling's headroom: raised", step(1000, 1200), 10, false, 85, "no rise above 1000 × 0.85/0.7"},
		{"rise beyond it: normal", step(1000, 1300), 10, false, 70, "forecast rise ahead (1300 over the window against 1000 until then)"},
		{"volatility rule lowers it: the rule wins", step(1000, 1000), 30, false, 60, "rule volatile"},
		{"no forecast: normal", nil, 10, false, 70, "no usable demand forecast"},
		{"stood down: normal", step(1000, 1000), 10, true, 70, "the forecast floors stand down"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := Inputs{Forecasts: c.forecast, Observed: map[string]map[string]float64{"api": {"vix": c.vix}},
				Current: Current{HPAs: map[string]HPAStatus{"api": {MinReplicas: 16, MaxReplicas: 50, Replicas: 16, TargetCPUPercent: 70}}}}
			if c.stoodDown {
				in.StoodDown = map[string]string{"api": "test"}
			}
			p, _ := e.Plan(t0, State{Targets: map[string]TargetState{"api": {Floor: 16, LastChange: t0.Add(-time.Hour)}}}, in)
			r := find(t, p, "api", KindHPA, FieldTargetCPU)
			if r.Desired != c.want {
				t.Errorf("CPU target %v%%, want %d%%: %q", r.Desired, c.want, r.Reasons)
			}
			if !hasReason(r, c.reason) {
				t.Errorf("no reason %q in %q", c.reason, r.Reasons)
			}
			// The floor is sized at capacity.targetUtilization whatever the
			// lever does: ceil(1000 × 1.1 / (100 × 0.7)) = 16 on a flat 1000.
			if c.name == "flat: raised" {
				if f := find(t, p, "api", KindHPA, FieldMinReplicas); f.Desired != 16 {
					t.Errorf("floor %v with the lever, want 16 (sized at 70%%)", f.Desired)
				}
			}
		})
	}
}

// TestTargetLeverOffByDefault: without hpa.maxTargetUtilization the plan
// has no CPU target to change (no rule plans one either).
func TestTargetLeverOffByDefault(t *testing.T) {
	e := parsePolicy(t, base)
	p, _ := e.Plan(t0, State{}, Inputs{Forecasts: shaped(func(int) float64 { return 1000 })})
	if r, ok := p.Find("api", KindHPA, FieldTargetCPU); ok {
		t.Errorf("CPU target planned without the lever: %+v", r)
	}
}
