package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
)

var newYork = mustLoc("America/New_York")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// et is a wall-clock time in New York.
func et(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, newYork)
}

func loadExample(t *testing.T, name string) *Engine {
	t.Helper()
	ps, err := config.LoadFile("../deploy/examples/" + name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return NewEngine(ps[0])
}

func parsePolicy(t *testing.T, doc string) *Engine {
	t.Helper()
	ps, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return NewEngine(ps[0])
}

// flat is a forecast of constant mean m and p90 q from start for a day.
func flat(start time.Time, m, q float64) *forecast.Forecast {
	n := 24 * 60
	f := &forecast.Forecast{Model: "test", Start: start, Step: time.Minute, Mean: make([]float64, n),
		Quantiles: map[float64][]float64{0.9: make([]float64, n)}}
	for i := range n {
		f.Mean[i], f.Quantiles[0.9][i] = m, q
	}
	return f
}

// demand gives every named target the same flat demand forecast around at.
func demand(at time.Time, q float64, targets ...string) map[string]map[string]*forecast.Forecast {
	out := map[string]map[string]*forecast.Forecast{}
	for _, t := range targets {
		out[t] = map[string]*forecast.Forecast{"demand": flat(at.Add(-time.Hour), q*0.8, q)}
	}
	return out
}

func find(t *testing.T, p Plan, target, kind, field string) Resource {
	t.Helper()
	r, ok := p.Find(target, kind, field)
	if !ok {
		t.Fatalf("no %s %s %s in plan %+v", target, kind, field, p.Resources)
	}
	return r
}

func hasReason(r Resource, sub string) bool {
	for _, x := range r.Reasons {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}
