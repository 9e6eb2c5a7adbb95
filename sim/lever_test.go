package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// targetAt is a Strategy with no floor that sets the HPA's target to u
// from at on (the second lever).
type targetAt struct {
	at  time.Time
	u   float64
	now time.Time
}

func (*targetAt) Name() string { return "lever" }

func (s *targetAt) Floor(now time.Time, _ forecast.Series) (int32, error) {
	s.now = now
	return 0, nil
}

func (s *targetAt) HPATarget() float64 {
	if s.now.Before(s.at) {
		return 0
	}
	return s.u
}

// TestRunAppliesTheHPATarget: a strategy that raises the HPA's target from
// the cluster's 50% to 80% at minute 30 on a steady demand of 8 (pods of
// capacity 1) makes the HPA hold ceil(8/0.8) = 10 pods instead of
// 8/0.5 = 16, once its scale-down stabilisation (5 minutes) has passed.
func TestRunAppliesTheHPATarget(t *testing.T) {
	demand := steps([2]float64{120, 8})
	cfg := testConfig(0)
	cfg.Record = true
	res, err := Run(context.Background(), cfg, demand, &targetAt{at: t0.Add(30 * Minute), u: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	tl := res.Timeline
	if got := tl.Replicas[29]; got != 16 {
		t.Errorf("replicas before the lever %d, want 16 (8 at 50%%)", got)
	}
	if got := tl.Replicas[119]; got != 10 {
		t.Errorf("replicas with the target at 80%% %d, want 10 (ceil(8/0.8))", got)
	}
	if res.UnservedFraction != 0 {
		t.Errorf("unserved %v on a steady demand, want 0", res.UnservedFraction)
	}
	base, err := Run(context.Background(), cfg, demand, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	if !(res.ReplicaHours < base.ReplicaHours) {
		t.Errorf("replica-hours with the lever %v, want fewer than the HPA alone's %v", res.ReplicaHours, base.ReplicaHours)
	}
}

// TestForecastPlannerLever: the built-in planner's lever follows the
// policy's rule (config.HPA.MaxTargetUtilization). With the normal target
// 0.5 and the ceiling 0.8, a window quantile up to 0.8/0.5 = 1.6 times the
// quantile over the lead time before it raises the target to 0.8; a larger
// rise keeps the normal target (0 from HPATarget: the cluster's own).
func TestForecastPlannerLever(t *testing.T) {
	for _, c := range []struct {
		name         string
		near, window float64
		want         float64
	}{
		{"flat", 10, 10, 0.8},
		{"a rise the ceiling absorbs", 10, 16, 0.8},
		{"a larger rise", 10, 17, 0},
		{"a fall", 10, 4, 0.8},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Forecast from t0+2h: steps 0 and 1 (2:00-2:10) are the lead
			// time of the decision at 2:00, steps 2 on its window.
			fake := func(s forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
				q := make([]float64, o.Horizon)
				for i := range q {
					q[i] = c.window
					if i < 2 {
						q[i] = c.near
					}
				}
				return &forecast.Forecast{Start: s.Time(s.Len()), Step: s.Step, Mean: q, Quantiles: map[float64][]float64{0.9: q}}, nil
			}
			p := &ForecastPlanner{Sizing: Sizing{Capacity: 1, TargetUtilization: 0.5}, Quantile: 0.9,
				Lead: 10 * Minute, Window: 5 * Minute, Step: 5 * Minute, MinHistory: time.Hour, Model: fake,
				TargetCeiling: 0.8, NormalTarget: 0.5}
			floor, err := p.Plan(t0.Add(2*time.Hour), steps([2]float64{120, 5}))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.HPATarget(); got != c.want {
				t.Errorf("HPA target %v, want %v", got, c.want)
			}
			// The floor is sized at the normal target whatever the lever.
			if want := int32(math.Ceil(c.window / 0.5)); floor != want {
				t.Errorf("floor %d, want %d", floor, want)
			}
		})
	}
}
