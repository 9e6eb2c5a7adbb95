package config

import (
	"fmt"
	"math"
	"strings"
)

func (v *validator) target(path string, t *Target) {
	sg := &t.Signals
	if sg.Demand == nil {
		v.errf(path+".signals.demand", "required: the demand query the capacity model sizes for")
	} else {
		v.query(path+".signals.demand.query", sg.Demand.Query, true)
		defaultDur(&sg.Demand.Step, DefaultSignalStep)
	}
	if l := sg.LatencyP95; l != nil {
		v.query(path+".signals.latencyP95.query", l.Query, true)
		defaultDur(&l.Step, DefaultSignalStep)
		if l.Objective <= 0 {
			v.errf(path+".signals.latencyP95.objective", "required and positive, e.g. 100ms")
		}
		if l.MinCapacityFraction == 0 {
			l.MinCapacityFraction = DefaultMinCapacityFrac
		}
		v.fraction(path+".signals.latencyP95.minCapacityFraction", l.MinCapacityFraction, true, false)
	}
	if c := sg.DBConnections; c != nil {
		v.query(path+".signals.dbConnections.query", c.Query, true)
		defaultDur(&c.Step, DefaultSignalStep)
	}
	if c := sg.CacheHitRatio; c != nil {
		v.query(path+".signals.cacheHitRatio.query", c.Query, true)
		defaultDur(&c.Step, DefaultSignalStep)
		if c.Baseline == 0 {
			c.Baseline = DefaultCacheBaseline
		}
		v.fraction(path+".signals.cacheHitRatio.baseline", c.Baseline, true, true)
	}
	extra := map[string]bool{}
	for i := range sg.Extra {
		e := &sg.Extra[i]
		ep := fmt.Sprintf("%s.signals.extra[%d]", path, i)
		switch {
		case e.Name == "":
			v.errf(ep+".name", "required")
		case extra[e.Name] || oneOf(e.Name, []string{"demand", "latencyP95", "dbConnections", "cacheHitRatio"}):
			v.errf(ep+".name", "duplicate signal name %q", e.Name)
		}
		extra[e.Name] = true
		v.query(ep+".query", e.Query, true)
		defaultDur(&e.Step, DefaultSignalStep)
	}

	c := &t.Capacity
	cp := path + ".capacity"
	if c.PerPod <= 0 {
		v.errf(cp+".perPod", "required and positive: the demand one pod serves at 100%% utilisation")
	}
	if c.TargetUtilization == 0 {
		c.TargetUtilization = DefaultTargetUtilization
	}
	v.fraction(cp+".targetUtilization", c.TargetUtilization, true, false)
	if c.Headroom < 0 || c.Headroom > 10 {
		v.errf(cp+".headroom", "must be between 0 and 10, got %g", c.Headroom)
	}
	if c.Quantile == 0 {
		c.Quantile = DefaultQuantile
	}
	v.fraction(cp+".quantile", c.Quantile, true, true)
	v.operatingPoints(cp, c)
	defaultDur(&c.LeadTime, DefaultLeadTime)
	v.positive(cp+".leadTime", c.LeadTime)
	defaultDur(&c.Window, DefaultWindow)
	v.positive(cp+".window", c.Window)
	ahead, what := c.LeadTime+c.Window, "capacity.leadTime + window"
	if v.tierLead > c.LeadTime {
		ahead, what = v.tierLead+c.Window, "a database's or cache's leadTime + capacity.window"
	}
	for _, s := range []struct {
		path string
		step *Duration
	}{{".signals.demand", stepOf(sg.Demand)}, {".signals.latencyP95", stepOfLatency(sg.LatencyP95)},
		{".signals.dbConnections", stepOf(sg.DBConnections)}, {".signals.cacheHitRatio", stepOfCache(sg.CacheHitRatio)}} {
		if s.step != nil {
			v.forecastSteps(path+s.path, *s.step, ahead, what)
		}
	}
	for i := range sg.Extra {
		v.forecastSteps(fmt.Sprintf("%s.signals.extra[%d]", path, i), sg.Extra[i].Step, ahead, what)
	}

	h := &t.HPA
	hp := path + ".hpa"
	v.scaleTarget(hp, h)
	if h.Namespace == "" {
		// As a ScalingPolicy object's: the policy's own namespace, so
		// that `prescale validate` and the daemon read one document alike.
		h.Namespace = v.p.Metadata.Namespace
	}
	if h.Namespace == "" {
		v.errf(hp+".namespace", "required (or the policy's metadata.namespace)")
	}
	if h.Mode == "" {
		h.Mode = DefaultMode
	}
	if !oneOf(h.Mode, Modes) {
		v.errf(hp+".mode", "must be one of %s, got %q", strings.Join(Modes, ", "), h.Mode)
	}
	if h.MinReplicas == 0 {
		h.MinReplicas = DefaultMinReplicas
	}
	if h.MinReplicas < 0 {
		v.errf(hp+".minReplicas", "must be at least 1, got %d", h.MinReplicas)
	}
	v.replicas(hp+".minReplicas", h.MinReplicas)
	v.replicas(hp+".maxReplicas", h.MaxReplicas)
	if h.MaxReplicas <= 0 {
		v.errf(hp+".maxReplicas", "required and positive: the ceiling")
	} else if h.MinReplicas > h.MaxReplicas {
		v.errf(hp+".minReplicas", "floor %d is above the ceiling maxReplicas %d", h.MinReplicas, h.MaxReplicas)
	}
	if h.MaxStepUp == 0 {
		h.MaxStepUp = DefaultMaxStepUp
	}
	if h.MaxStepUp < 0 {
		v.errf(hp+".maxStepUp", "must be positive, got %d", h.MaxStepUp)
	}
	sd := &h.ScaleDown
	if sd.Pods < 0 {
		v.errf(hp+".scaleDown.pods", "must not be negative, got %d", sd.Pods)
	}
	if sd.Percent < 0 || sd.Percent > 100 {
		v.errf(hp+".scaleDown.percent", "must be between 0 and 100, got %g", sd.Percent)
	}
	if sd.Pods == 0 && sd.Percent == 0 {
		sd.Pods = DefaultScaleDownPods
	}
	defaultDur(&sd.Period, DefaultScaleDownPeriod)
	if sd.Period <= 0 {
		v.errf(hp+".scaleDown.period", "must be positive, got %s", sd.Period)
	}
	defaultDur(&sd.Stabilization, DefaultStabilization)
	v.positive(hp+".scaleDown.stabilization", sd.Stabilization)
	defaultDur(&h.Cooldown, DefaultCooldown)
	v.positive(hp+".cooldown", h.Cooldown)
	v.targetLever(hp, h, c)
	if pr := h.Promote; pr != nil {
		pp := hp + ".promote"
		if h.Mode != "shadow" {
			v.errf(pp, "only a shadow target can be promoted; this one is %s", h.Mode)
		}
		defaultDur(&pr.After, DefaultPromoteAfter)
		if pr.After <= 0 {
			v.errf(pp+".after", "must be positive, got %s", pr.After)
		}
		if pr.MaxMASE == 0 {
			pr.MaxMASE = DefaultPromoteMaxMASE
		}
		if !(pr.MaxMASE > 0) || math.IsInf(pr.MaxMASE, 0) {
			v.errf(pp+".maxMASE", "must be a positive number, got %g", pr.MaxMASE)
		}
		if pr.MinCoverage == 0 {
			pr.MinCoverage = max(0.5, t.Capacity.Quantile-0.05)
		}
		v.fraction(pp+".minCoverage", pr.MinCoverage, true, false)
		if !(pr.MinGainPerCost >= 0 && pr.MinGainPerCost <= MaxPromoteGainPerCost) {
			v.errf(pp+".minGainPerCost", "must be between 0 (not required) and %g, got %g", MaxPromoteGainPerCost, pr.MinGainPerCost)
		}
	}
}
