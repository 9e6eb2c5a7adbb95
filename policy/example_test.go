package policy_test

import (
	"fmt"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/policy"
)

// The daemon and the simulator call Plan every tick, passing back the
// State it returned.
func ExampleEngine_Plan() {
	ps, err := config.Parse([]byte(`apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: demo}
spec:
  targets:
    - name: api
      signals: {demand: {query: 'sum(rate(http_requests_total[2m]))'}}
      capacity: {perPod: 100, targetUtilization: 0.5}
      hpa: {namespace: shop, name: api, minReplicas: 2, maxReplicas: 20}
`), "demo.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	engine := policy.NewEngine(ps[0])
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	// A forecast of 420 requests/s (p90) for the next hour.
	f := &forecast.Forecast{Model: "example", Start: now, Step: time.Minute,
		Mean: make([]float64, 60), Quantiles: map[float64][]float64{0.9: make([]float64, 60)}}
	for i := range f.Mean {
		f.Mean[i], f.Quantiles[0.9][i] = 350, 420
	}
	var state policy.State
	plan, state := engine.Plan(now, state, policy.Inputs{
		Forecasts: map[string]map[string]*forecast.Forecast{"api": {"demand": f}},
	})
	r, _ := plan.Find("api", policy.KindHPA, policy.FieldMinReplicas)
	fmt.Println(r.Field, r.Current, "→", r.Desired)
	for _, why := range r.Reasons {
		fmt.Println("-", why)
	}
	fmt.Println("remembered floor:", state.Targets["api"].Floor)
	// Output:
	// minReplicas 2 → 9
	// - forecast p90 demand 420 over [now+5m, now+20m] (model example)
	// - capacity model: ceil(420 / (100 per pod × 0.5 utilisation)) = 9
	// - mode shadow: recorded, not applied
	// remembered floor: 9
}
