package policy

import (
	"testing"
	"time"
)

// BenchmarkPlanPricing is one tick of the pricing example (two targets,
// calendars, five rules, a node group, a database and a cache).
func BenchmarkPlanPricing(b *testing.B) {
	ps := loadExampleB(b, "pricing-trading-hours.yaml")
	at := et(2026, 3, 10, 9, 45)
	in := Inputs{Forecasts: demand(at, 3000, "gateway", "calculator"),
		Observed: map[string]map[string]float64{"gateway": {"vix": 23}, "calculator": {"vix": 23}}}
	var st State
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_, st = ps.Plan(at.Add(time.Duration(i%60)*time.Second), st, in)
	}
}

func loadExampleB(b *testing.B, name string) *Engine {
	t := &testing.T{}
	e := loadExample(t, name)
	if e == nil {
		b.Fatal("example did not load")
	}
	return e
}
