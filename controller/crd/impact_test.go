package crd

import (
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/sim"
)

// A target's impact report reaches the ScalingPolicy status on the real
// API server, through the CRD's schema (a field the schema lacks would be
// pruned): both windows' figures to 4 significant digits, the stand-down
// and its reason, and when it was made; a gain per cost the floors paid
// nothing for (infinite) is left out rather than written as garbage.
func TestImpactInStatus(t *testing.T) {
	ns := kubetest.Namespace(t)
	createWorkload(t, ns, "web", 2, 60)
	r := newRig(t, "prescale-system")
	create(t, policyYAML(ns, ""))
	waitFor(t, "the policy in force", func() bool { return len(r.src.Policies()) == 1 })

	r.tick(t)
	if ts := status(t, ns, "web").Targets; len(ts) != 1 || ts[0].Impact != nil {
		t.Fatalf("before any report the target status is %+v, want no impact", ts)
	}

	at := r.now.Add(-3 * time.Hour).Truncate(time.Second)
	to := r.now.Truncate(time.Minute)
	im14 := &sim.Impact{From: to.Add(-14 * 24 * time.Hour), To: to,
		Reactive:   sim.Result{UnservedFraction: 0.012345678, ReplicaHours: 1000},
		Predictive: sim.Result{UnservedFraction: 0.00123456, ReplicaHours: 1250},
		EqualCost:  sim.EqualCost{ReactiveUnserved: 0.0061728}, DayWins: 11, DayLosses: 2}
	// 7 days with floors that saved demand at no cost.
	im7 := &sim.Impact{From: to.Add(-7 * 24 * time.Hour), To: to,
		Reactive:   sim.Result{UnservedFraction: 0.002, ReplicaHours: 500},
		Predictive: sim.Result{UnservedFraction: 0.001, ReplicaHours: 500},
		EqualCost:  sim.EqualCost{ReactiveUnserved: 0.002}}
	why := "floors leave 0.123% unserved against 0.617% for the HPA alone run cooler at equal replica-hours (1250 replica-h)"
	r.inject = func(rep *controller.Report) {
		tr := rep.Targets["web"]
		tr.Impact = &controller.ImpactReport{Last7d: im7, Last14d: im14, StoodDown: true, Why: why, At: at, Quantile: 0.9}
		rep.Targets["web"] = tr
	}
	r.tick(t)
	ts := status(t, ns, "web").Targets
	if len(ts) != 1 || ts[0].Impact == nil {
		t.Fatalf("target status %+v: no impact written", ts)
	}
	got := ts[0].Impact
	if got.OperatingQuantile != "0.9" || !got.StandDown || got.Reason != why || got.ComputedAt == nil || !got.ComputedAt.Time.Equal(at) {
		t.Errorf("impact at p%s, stand-down %v, reason %q, computed at %v; want 0.9, true, %q, %v", got.OperatingQuantile, got.StandDown, got.Reason, got.ComputedAt, why, at)
	}
	check := func(name string, w *v1alpha1.ImpactWindow, window string, want map[string]float64, absent ...string) {
		t.Helper()
		if w == nil {
			t.Fatalf("%s: no window", name)
		}
		if w.Window != window {
			t.Errorf("%s: window %q, want %q", name, w.Window, window)
		}
		fields := map[string]*float64{"unservedReactive": w.UnservedReactive, "unservedPredictive": w.UnservedPredictive,
			"extraReplicaHours": w.ExtraReplicaHours, "unservedAtEqualCost": w.UnservedAtEqualCost,
			"equalCostRatio": w.EqualCostRatio, "gainPerCost": w.GainPerCost}
		for k, v := range want {
			if fields[k] == nil || math.Abs(*fields[k]-v) > 1e-12*math.Abs(v) {
				t.Errorf("%s: %s = %v, want %v", name, k, ptr(fields[k]), v)
			}
		}
		for _, k := range absent {
			if fields[k] != nil {
				t.Errorf("%s: %s = %v, want it absent", name, k, *fields[k])
			}
		}
	}
	// 14 days: saved 0.011111 of 0.012346 (90%) for 25% more replica-hours:
	// 3.6 gained per unit of cost; 0.2 of a cooler HPA's unserved.
	check("last14d", got.Last14d, "14d", map[string]float64{"unservedReactive": 0.01235, "unservedPredictive": 0.001235,
		"extraReplicaHours": 250, "unservedAtEqualCost": 0.006173, "equalCostRatio": 0.2, "gainPerCost": 3.6})
	check("last7d", got.Last7d, "7d", map[string]float64{"unservedReactive": 0.002, "unservedPredictive": 0.001,
		"extraReplicaHours": 0, "equalCostRatio": 0.5}, "gainPerCost")
	// The day-by-day count, through the schema (a field it lacked would
	// be pruned to 0).
	if w := got.Last14d; w.DaysBetter != 11 || w.DaysWorse != 2 {
		t.Errorf("last14d: %d days better, %d worse; want 11 and 2", w.DaysBetter, w.DaysWorse)
	}
	if w := got.Last7d; w.DaysBetter != 0 || w.DaysWorse != 0 {
		t.Errorf("last7d: %d days better, %d worse; want none", w.DaysBetter, w.DaysWorse)
	}
}

func ptr(p *float64) any {
	if p == nil {
		return "absent"
	}
	return *p
}
