package sim

import (
	"time"

	"github.com/prescale/prescale/config"
)

// TargetConfig is the simulated cluster a target's floors are judged on
// (the daemon's stand-down, plan's impact report): DefaultConfig with the
// target's capacity per pod, utilisation target and HPA bounds, and pods
// and nodes as slow as its capacity.leadTime says capacity is to become
// ready. The lead time is the metrics lag plus the node and pod start
// (LeadTime): beyond the defaults' 5 minutes the node and pod start grow
// in proportion (15m: a pod in 3.5 minutes, a node in 10.5), below it they
// shrink. Judged on pods that start in a minute, a target whose capacity
// takes a quarter of an hour would see the HPA alone keep up and its
// floors stand down for nothing.
func TargetConfig(t *config.Target) Config {
	cfg := DefaultConfig(t.Capacity.PerPod)
	if u := t.Capacity.TargetUtilization; u > 0 {
		cfg.TargetUtilization = u
	}
	cfg.MinReplicas = int32(max(1, t.HPA.MinReplicas))
	cfg.MaxReplicas = int32(t.HPA.MaxReplicas)
	if lead := t.Capacity.LeadTime.D(); lead > 0 {
		cfg.MetricsLag = min(cfg.MetricsLag, lead/2)
		starts := cfg.PodStart + cfg.NodeStart
		f := float64(lead-cfg.MetricsLag) / float64(starts)
		cfg.PodStart = max(time.Second, time.Duration(float64(cfg.PodStart)*f).Round(time.Second))
		cfg.NodeStart = max(time.Second, time.Duration(float64(cfg.NodeStart)*f).Round(time.Second))
	}
	return cfg
}
