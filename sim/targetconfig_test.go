package sim

import (
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

// The judged cluster's pods and nodes take as long as the target's
// capacity.leadTime, the default lead time leaving DefaultConfig's.
func TestTargetConfigLeadTime(t *testing.T) {
	for _, tc := range []struct {
		lead               time.Duration
		metrics, pod, node time.Duration
	}{
		{5 * time.Minute, time.Minute, time.Minute, 3 * time.Minute},
		{15 * time.Minute, time.Minute, 210 * time.Second, 630 * time.Second},
		{3 * time.Minute, time.Minute, 30 * time.Second, 90 * time.Second},
		{time.Minute, 30 * time.Second, 8 * time.Second, 23 * time.Second},
	} {
		tg := &config.Target{}
		tg.Capacity.PerPod, tg.Capacity.TargetUtilization = 20, 0.6
		tg.Capacity.LeadTime = config.Duration(tc.lead)
		tg.HPA.MinReplicas, tg.HPA.MaxReplicas = 3, 40
		c := TargetConfig(tg)
		if c.MetricsLag != tc.metrics || c.PodStart != tc.pod || c.NodeStart != tc.node {
			t.Errorf("lead %v: metrics lag %v, pod start %v, node start %v; want %v, %v, %v", tc.lead, c.MetricsLag, c.PodStart, c.NodeStart, tc.metrics, tc.pod, tc.node)
		}
		if d := c.LeadTime() - tc.lead; d < -time.Second || d > time.Second {
			t.Errorf("lead %v: the cluster's lead time is %v", tc.lead, c.LeadTime())
		}
		if c.Capacity != 20 || c.TargetUtilization != 0.6 || c.MinReplicas != 3 || c.MaxReplicas != 40 {
			t.Errorf("lead %v: capacity %v at %v, replicas %d..%d; want the target's 20 at 0.6, 3..40", tc.lead, c.Capacity, c.TargetUtilization, c.MinReplicas, c.MaxReplicas)
		}
	}
}
