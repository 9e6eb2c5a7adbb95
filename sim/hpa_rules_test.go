package sim

import (
	"testing"
	"time"
)

// TestDesiredReplicasMissingOnScaleUp: on a scale up, pods that do not
// report the metric yet count as using 0% of the target (the controller's
// conservative assumption), not 100%. 4 ready pods at ratio 2 = 8
// pod-targets over 6 pods → desired ceil(8) = 8; counting the 2 missing
// at 100% would give 10.
func TestDesiredReplicasMissingOnScaleUp(t *testing.T) {
	got, err := DesiredReplicas(4, PodMetrics{Ready: 4, Missing: 2, Utilization: 1.0}, 0.5, 0.1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if got != 8 {
		t.Errorf("DesiredReplicas = %d, want 8 (missing pods at 0%% on a scale up)", got)
	}
}

// TestHPAPercentScaleUpRoundsUp: a percent scale-up policy allows
// ceil(start × (1 + percent/100)) pods, as Kubernetes computes it
// (calculateScaleUpLimitWithScalingRules): 3 × 1.5 = 4.5 → 5, and 5 × 1.5 =
// 7.5 → 8 one period later. Truncating would give 4 and 6.
func TestHPAPercentScaleUpRoundsUp(t *testing.T) {
	b := DefaultBehavior()
	b.ScaleUp.Policies = []ScalingPolicy{{Type: PercentPolicy, Value: 50, Period: time.Minute}}
	h := &HPA{Min: 1, Max: 100, Target: 0.5, Behavior: b}
	runSteps(t, h, 3, []step{
		{0, 5.0, 5},
		{30 * time.Second, 5.0, 5}, // same period: no more
		{61 * time.Second, 5.0, 8},
	})
}
