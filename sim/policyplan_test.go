package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/policy"
)

func loadEngine(t *testing.T) *policy.Engine {
	t.Helper()
	ps, err := config.Load("../testdata/sim/nyc_taxi_policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return policy.NewEngine(ps[0])
}

// TestPolicyPlannerRules: without forecasts the floor is the policy's
// schedule rule (weekday 07:00-10:00 New York, 12 pods, ramped over the
// 30 minutes before) and otherwise no floor above the owner's.
func TestPolicyPlannerRules(t *testing.T) {
	p, target, err := NewPolicyPlanner(loadEngine(t), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if target.Name != "dispatch" || target.Capacity.PerPod != 2000 {
		t.Fatalf("target %s perPod %v, want dispatch, 2000", target.Name, target.Capacity.PerPod)
	}
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		at   time.Time
		want int32
	}{
		{time.Date(2026, 3, 4, 6, 0, 0, 0, ny), 2},   // Wednesday, before the ramp
		{time.Date(2026, 3, 4, 8, 0, 0, 0, ny), 12},  // in the window
		{time.Date(2026, 3, 7, 8, 0, 0, 0, ny), 2},   // Saturday
		{time.Date(2026, 3, 4, 9, 59, 0, 0, ny), 12}, // still in the window
	}
	for _, tt := range tests {
		// A fresh planner each time: the engine's limits would otherwise
		// bring the floor down gradually between cases.
		p, _, _ := NewPolicyPlanner(p.Engine, "", nil)
		got, err := p.Plan(tt.at, forecast.Series{})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%v: floor %d, want %d", tt.at, got, tt.want)
		}
	}
	if _, _, err := NewPolicyPlanner(loadEngine(t), "nope", nil); err == nil {
		t.Errorf("unknown target accepted")
	}
}

// TestPolicyPlannerForecast: with a forecast, the engine's capacity model
// sizes the floor: ceil(q / (perPod × targetUtilization)) = ceil(7000 /
// 1400) = 5 on a quiet Wednesday night.
func TestPolicyPlannerForecast(t *testing.T) {
	flat := func(s forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		q := make([]float64, o.Horizon)
		for i := range q {
			q[i] = 7000
		}
		return &forecast.Forecast{Model: "flat", Start: s.Time(s.Len()), Step: s.Step, Mean: q, Quantiles: map[float64][]float64{0.9: q}}, nil
	}
	fp := &ForecastPlanner{MinHistory: time.Hour, Model: flat}
	p, _, err := NewPolicyPlanner(loadEngine(t), "dispatch", fp)
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 3, 4, 2, 0, 0, 0, ny)
	obs := forecast.Series{Start: at.Add(-3 * time.Hour), Step: Minute, Values: make([]float64, 179)}
	got, err := p.Plan(at, obs)
	if err != nil {
		t.Fatal(err)
	}
	if got != 5 {
		t.Errorf("floor %d, want 5", got)
	}
	if fp.Lead != 5*Minute || fp.Window != 5*Minute || fp.Quantile != 0.9 {
		t.Errorf("forecast lead %v window %v quantile %v, want the policy's 5m, 5m, 0.9", fp.Lead, fp.Window, fp.Quantile)
	}
}

// TestBacktestWithPolicy: the policy sets the cluster up (pod capacity,
// HPA bounds) and plans both floored strategies.
func TestBacktestWithPolicy(t *testing.T) {
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	s = s.Slice(0, 4*48)
	// NoStandDown: four days are too few to judge the floors fairly (a
	// stand-down after the first day would hide the policy's floors).
	rep, err := Backtest(context.Background(), s, Setup{Policy: loadEngine(t), Warmup: 36 * time.Hour, NoStandDown: true,
		Forecast: func(h forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
			return forecast.Auto(h, o)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Capacity != 2000 || rep.Config.MaxReplicas != 60 || rep.Config.MinReplicas != 2 {
		t.Errorf("capacity %v, replicas %d..%d; want the policy's 2000, 2..60", rep.Capacity, rep.Config.MinReplicas, rep.Config.MaxReplicas)
	}
	for _, name := range []string{"schedule", "predictive"} {
		r, _ := rep.Result(name)
		if r.FloorChanges == 0 {
			t.Errorf("%s: the policy never changed the floor", name)
		}
		if r.FloorErrors > 0 {
			t.Errorf("%s: %d floor errors, last %v", name, r.FloorErrors, r.LastFloorError)
		}
	}
}

// TestPolicyStandDownKeepsRules: a policy's forecast floors that do not pay
// stand down, and the policy's rules and the owner's values still apply
// (as in the daemon), rather than every floor: on a weekday morning after
// the first judgement the floor is the morning-rush rule's 12, neither the
// absurd forecast's 43 nor the owner's 2.
func TestPolicyStandDownKeepsRules(t *testing.T) {
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	s = s.Slice(0, 7*48) // Tuesday 2014-07-01 to Monday 07-07, New York
	cfg := DefaultConfig(0)
	cfg.Record = true
	huge := func(h forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		q := make([]float64, o.Horizon)
		for i := range q {
			q[i] = 60000 // 43 pods of 2,000 at 70%, far above the trace's peak
		}
		qs := map[float64][]float64{}
		for _, l := range o.Quantiles {
			qs[l] = q
		}
		return &forecast.Forecast{Model: "huge", Start: h.Time(h.Len()), Step: h.Step, Mean: q, Quantiles: qs}, nil
	}
	rep, err := Backtest(context.Background(), s, Setup{Config: cfg, Policy: loadEngine(t), Warmup: 36 * time.Hour, Forecast: huge, NoSweep: true})
	if err != nil {
		t.Fatal(err)
	}
	down, why, _, n := rep.StandDown.Status()
	if !down || n == 0 {
		t.Fatalf("after %d judgements: stood down %v (%s), want floors that buy nothing stood down", n, down, why)
	}
	// The policy's default operating points are judged beside its p90, as
	// the daemon judges them.
	if !strings.Contains(why, "at no operating point (p90, p30, p50, p70)") {
		t.Errorf("why %q: want every level of the policy judged", why)
	}
	r, _ := rep.Result("predictive")
	ny, _ := time.LoadLocation("America/New_York")
	for _, at := range []time.Time{
		time.Date(2014, 7, 4, 8, 30, 0, 0, ny), // Friday, in the rule's window
		time.Date(2014, 7, 7, 9, 0, 0, 0, ny),  // Monday
	} {
		m := int(at.Sub(r.Timeline.Start) / time.Minute)
		if got := r.Timeline.Floor[m]; got != 12 {
			t.Errorf("%s: floor %d, want the rule's 12 (stood down: no forecast floor, the rules still apply)", at.Format("Mon 15:04"), got)
		}
	}
	night := int(time.Date(2014, 7, 5, 3, 0, 0, 0, ny).Sub(r.Timeline.Start) / time.Minute)
	if got := r.Timeline.Floor[night]; got > 2 {
		t.Errorf("Saturday 03:00: floor %d, want at most the owner's 2", got)
	}
}
