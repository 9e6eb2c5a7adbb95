package sim

import (
	"errors"
	"testing"
	"time"
)

// Cases worked by hand from "Horizontal Pod Autoscaling", Algorithm
// details, on kubernetes.io, and the v1.33 configurable-tolerance post.
func TestDesiredReplicas(t *testing.T) {
	tests := []struct {
		name    string
		current int32
		m       PodMetrics
		target  float64
		want    int32
		wantErr error
	}{
		// "if the current metric value is 200m, and the desired value is
		// 100m, the number of replicas will be doubled".
		{"doubles at twice the target", 4, PodMetrics{Ready: 4, Utilization: 0.2}, 0.1, 8, nil},
		// "If the current value is instead 50m, you'll halve the number".
		{"halves at half the target", 4, PodMetrics{Ready: 4, Utilization: 0.05}, 0.1, 2, nil},
		// 50 replicas at 90% against 75%: 50 × 90/75 = 60.
		{"blog example 50 at 90% of 75%", 50, PodMetrics{Ready: 50, Utilization: 0.90}, 0.75, 60, nil},
		// Ratio 1.08 is within the 10% tolerance: no change.
		{"within tolerance above", 10, PodMetrics{Ready: 10, Utilization: 0.756}, 0.7, 10, nil},
		// Ratio 0.92: within tolerance below.
		{"within tolerance below", 10, PodMetrics{Ready: 10, Utilization: 0.644}, 0.7, 10, nil},
		// Ratio 1.2 just outside: ceil(10 × 1.2) = 12.
		{"just outside tolerance", 10, PodMetrics{Ready: 10, Utilization: 0.84}, 0.7, 12, nil},
		// ceil rounds a fraction of a pod up: 3 × 1.5 = 4.5 → 5.
		{"rounds up", 3, PodMetrics{Ready: 3, Utilization: 0.75}, 0.5, 5, nil},
		// Scale down with a missing pod: it counts as using 100% of its
		// request (not of the target). 4 ready at 20% + 1 missing at 100%
		// = 180% over 5 pods = 36%, ratio 0.72 → ceil(3.6) = 4 (the ready
		// pods alone would say 2).
		{"missing pod counts as its full request on scale down", 5, PodMetrics{Ready: 4, Missing: 1, Utilization: 0.2}, 0.5, 4, nil},
		// Above a 100% target a missing pod counts at the target: 3 ready
		// at 60% + 1 missing at 150% = 330% over 4 = 82%, ratio 0.546…
		// → ceil(2.19) = 3.
		{"missing pod counts at a target above 100%", 4, PodMetrics{Ready: 3, Missing: 1, Utilization: 0.6}, 1.5, 3, nil},
		// The controller reads utilisation in whole percent, rounded down:
		// 77.09% is 77%, ratio 1.1 against 70%, within tolerance (a float
		// ratio of 1.1013 would scale 10 → 12).
		{"utilisation truncated to a whole percent", 10, PodMetrics{Ready: 10, Utilization: 0.7709}, 0.7, 10, nil},
		// 77.9% is 77% too; 78% (ratio 1.114) scales to ceil(11.14) = 12.
		{"whole percent just above tolerance", 10, PodMetrics{Ready: 10, Utilization: 0.78}, 0.7, 12, nil},
		// Scale up with unready pods: they count as 0%. 2 ready at ratio
		// 1.5 = 3 pod-targets over 4 pods = 0.75: the direction reverses,
		// so nothing changes (the plain formula would say 3).
		{"unready pods reverse a scale up", 4, PodMetrics{Ready: 2, Unready: 2, Utilization: 0.75}, 0.5, 4, nil},
		// Unready pods that leave the recomputed ratio within tolerance:
		// 3 ready at ratio 1.4 = 4.2 over 4 = 1.05: no change.
		{"unready pods absorb a scale up", 4, PodMetrics{Ready: 3, Unready: 1, Utilization: 0.7}, 0.5, 4, nil},
		// Unready pods that still leave a scale up: 2 ready at ratio 3 =
		// 6 over 3 = 2.0 → ceil(6) = 6.
		{"scale up through unready pods", 3, PodMetrics{Ready: 2, Unready: 1, Utilization: 1.5}, 0.5, 6, nil},
		// Unready pods are ignored on a scale down: 2 ready at ratio 0.5 =
		// 1 pod-target; with 2 unready the ratio stays 0.5 → ceil(1) = 1.
		{"unready pods ignored on scale down", 4, PodMetrics{Ready: 2, Unready: 2, Utilization: 0.25}, 0.5, 1, nil},
		{"no ready pod", 3, PodMetrics{Unready: 3}, 0.5, 3, ErrNoMetrics},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DesiredReplicas(tt.current, tt.m, tt.target, 0.1, 0.1)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DesiredReplicas = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestDesiredReplicasPerDirectionTolerance: the v1.33 post's example of a
// 5% scale-down tolerance and none for scale up.
func TestDesiredReplicasPerDirectionTolerance(t *testing.T) {
	// Ratio 1.02: no up tolerance, so ceil(50 × 1.02) = 51.
	if got, _ := DesiredReplicas(50, PodMetrics{Ready: 50, Utilization: 0.765}, 0.75, 0, 0.05); got != 51 {
		t.Errorf("up with zero tolerance = %d, want 51", got)
	}
	// Ratio 0.96: within the 5% down tolerance.
	if got, _ := DesiredReplicas(50, PodMetrics{Ready: 50, Utilization: 0.72}, 0.75, 0, 0.05); got != 50 {
		t.Errorf("down within 5%% = %d, want 50", got)
	}
	// Ratio 0.94: outside it, ceil(47) = 47.
	if got, _ := DesiredReplicas(50, PodMetrics{Ready: 50, Utilization: 0.705}, 0.75, 0, 0.05); got != 47 {
		t.Errorf("down outside 5%% = %d, want 47", got)
	}
}

// step is one Sync of an HPA scenario: at offset at, with the target
// reading util on all current pods, Sync must set want.
type step struct {
	at   time.Duration
	util float64
	want int32
}

func runSteps(t *testing.T, h *HPA, current int32, steps []step) {
	t.Helper()
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i, s := range steps {
		got, err := h.Sync(t0.Add(s.at), current, PodMetrics{Ready: current, Utilization: s.util})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.want {
			t.Fatalf("step %d at %v from %d: got %d replicas, want %d", i, s.at, current, got, s.want)
		}
		current = got
	}
}

func TestHPADefaultScaleUpRate(t *testing.T) {
	// Demand wants 20 pods at 2 → the larger of +100% and +4 per 15 s:
	// 2 → 6 (2+4 > 4), 6 → 12 (12 > 10), 12 → 20 (24 capped by the
	// recommendation). Utilisation is set so ready × util / 0.5 = 20.
	h := &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: DefaultBehavior()}
	runSteps(t, h, 2, []step{
		{0, 5.0, 6},
		{15 * time.Second, 20.0 / 6 * 0.5, 12},
		{30 * time.Second, 20.0 / 12 * 0.5, 20},
	})
}

func TestHPAScaleUpWithinOnePeriod(t *testing.T) {
	// Two syncs 5 s apart share one 15 s period: the second may not add
	// beyond the limit counted from the period's start (2 → 6 → 6).
	h := &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: DefaultBehavior()}
	runSteps(t, h, 2, []step{
		{0, 5.0, 6},
		{5 * time.Second, 20.0 / 6 * 0.5, 6},
		{15 * time.Second, 20.0 / 6 * 0.5, 12},
	})
}

func TestHPAScaleDownStabilization(t *testing.T) {
	// Load halves after one sync at 10 pods: the default 300 s window keeps
	// the earlier recommendation of 10 until it is older than 300 s.
	h := &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: DefaultBehavior()}
	steps := []step{{0, 0.5, 10}}
	for s := 15 * time.Second; s < 300*time.Second; s += 15 * time.Second {
		steps = append(steps, step{s, 0.25, 10})
	}
	steps = append(steps, step{300 * time.Second, 0.25, 5})
	runSteps(t, h, 10, steps)
}

func TestHPAScaleDownPolicies(t *testing.T) {
	// The documentation's example: scale down by at most 4 pods or 10%
	// per 60 s, whichever allows more. From 80 the 10% policy gives 72;
	// within the same minute nothing more; a minute later 10% of 72
	// removes 8 (int(64.8) = 64), then int(57.6) = 57.
	b := DefaultBehavior()
	b.ScaleDown = ScalingRules{
		Select: SelectMax,
		Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 4, Period: 60 * time.Second},
			{Type: PercentPolicy, Value: 10, Period: 60 * time.Second},
		},
		Tolerance: 0.1,
	}
	h := &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: b}
	low := 10.0 / 80 * 0.5 // asks for 10 pods at 80
	runSteps(t, h, 80, []step{
		{0, low, 72},
		{30 * time.Second, low, 72},
		{60 * time.Second, low, 64},
		{120 * time.Second, low, 57},
	})
	// With selectPolicy Min the smaller change wins: 4 pods per minute.
	b.ScaleDown.Select = SelectMin
	h = &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: b}
	runSteps(t, h, 80, []step{{0, low, 76}, {60 * time.Second, low, 72}})
	// Disabled: never scales down.
	b.ScaleDown.Select = SelectDisabled
	h = &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: b}
	runSteps(t, h, 80, []step{{0, low, 80}})
}

func TestHPABounds(t *testing.T) {
	tests := []struct {
		name     string
		min, max int32
		current  int32
		util     float64
		want     int32
	}{
		// Below minReplicas the controller jumps to it, with no rate limit:
		// this is how a raised floor takes effect at once.
		{"raised floor applies at once", 30, 100, 2, 0.5, 30},
		{"above max comes down at once", 1, 10, 40, 0.5, 10},
		{"scale up capped by max", 1, 10, 8, 5.0, 10},
		{"scale down stops at min", 6, 100, 10, 0.05, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &HPA{Min: tt.min, Max: tt.max, Target: 0.5, Behavior: DefaultBehavior()}
			h.Behavior.ScaleDown.Stabilization = 0
			runSteps(t, h, tt.current, []step{{0, tt.util, tt.want}})
		})
	}
}

func TestHPANoMetricsHoldsScale(t *testing.T) {
	h := &HPA{Min: 1, Max: 10, Target: 0.5, Behavior: DefaultBehavior()}
	got, err := h.Sync(time.Unix(0, 0), 4, PodMetrics{Unready: 4})
	if !errors.Is(err, ErrNoMetrics) || got != 4 {
		t.Fatalf("Sync with no ready pod = %d, %v; want 4, ErrNoMetrics", got, err)
	}
}

func TestHPAFirstSyncHoldsCurrentForTheDownWindow(t *testing.T) {
	// The controller records the replicas it finds at its first sync as a
	// recommendation (recordInitialRecommendation): load that asks for 5
	// from the very first sync still waits out the 300 s window at 10.
	h := &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: DefaultBehavior()}
	var steps []step
	for s := time.Duration(0); s < 300*time.Second; s += 15 * time.Second {
		steps = append(steps, step{s, 0.25, 10})
	}
	steps = append(steps, step{300 * time.Second, 0.25, 5})
	runSteps(t, h, 10, steps)
}

func TestSyncProposalMatchesSync(t *testing.T) {
	// The fidelity test drives SyncProposal with the controller's own
	// proposals; it must decide as Sync does from the metrics.
	a := &HPA{Min: 2, Max: 20, Target: 0.7, Behavior: DefaultBehavior()}
	b := &HPA{Min: 2, Max: 20, Target: 0.7, Behavior: DefaultBehavior()}
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	cur := int32(3)
	for i, u := range []float64{0.7, 1.4, 1.4, 0.9, 0.3, 0.3, 0.2, 2.5, 0.7} {
		now := t0.Add(time.Duration(i) * 40 * time.Second)
		m := PodMetrics{Ready: cur, Utilization: u}
		got, err := a.Sync(now, cur, m)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := DesiredReplicas(cur, m, 0.7, 0.1, 0.1)
		if want := b.SyncProposal(now, cur, rec); got != want {
			t.Fatalf("sync %d: Sync = %d, SyncProposal = %d", i, got, want)
		}
		cur = got
	}
}
