package sim

import (
	"errors"
	"math"
	"time"
)

// PolicyType says how a ScalingPolicy limits change: by a number of pods or
// by a percentage of the replicas at the start of its period.
type PolicyType int

const (
	// PodsPolicy allows Value pods of change per period.
	PodsPolicy PolicyType = iota
	// PercentPolicy allows Value percent of change per period.
	PercentPolicy
)

// ScalingPolicy is one entry of an HPA behaviour's policies list
// (autoscaling/v2 HPAScalingPolicy).
type ScalingPolicy struct {
	Type   PolicyType
	Value  int32
	Period time.Duration
}

// SelectPolicy chooses among several policies, as selectPolicy does.
type SelectPolicy int

const (
	// SelectMax picks the policy allowing the largest change (the default).
	SelectMax SelectPolicy = iota
	// SelectMin picks the policy allowing the smallest change.
	SelectMin
	// SelectDisabled turns scaling in this direction off.
	SelectDisabled
)

// ScalingRules is one direction of an HPA behaviour (HPAScalingRules).
type ScalingRules struct {
	// Stabilization is the window over which recommendations are smoothed:
	// scaling up takes the smallest recommendation in the window, scaling
	// down the largest.
	Stabilization time.Duration
	Select        SelectPolicy
	Policies      []ScalingPolicy
	// Tolerance is the fraction of the target within which no scaling
	// happens in this direction (0.1 by default; configurable per
	// direction since Kubernetes 1.33, KEP-4951).
	Tolerance float64
}

// Behavior is an HPA's spec.behavior.
type Behavior struct {
	ScaleUp, ScaleDown ScalingRules
}

// DefaultBehavior is what Kubernetes applies when spec.behavior is left out:
// scale up by the larger of 100% or 4 pods per 15 s with no stabilisation,
// scale down by up to 100% per 15 s after a 300 s stabilisation window,
// 10% tolerance both ways.
func DefaultBehavior() Behavior {
	return Behavior{
		ScaleUp: ScalingRules{
			Stabilization: 0,
			Select:        SelectMax,
			Policies: []ScalingPolicy{
				{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
				{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
			},
			Tolerance: 0.1,
		},
		ScaleDown: ScalingRules{
			Stabilization: 300 * time.Second,
			Select:        SelectMax,
			Policies: []ScalingPolicy{
				{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
			},
			Tolerance: 0.1,
		},
	}
}

// PodMetrics is what the HPA sees of the scale target's pods at one sync.
type PodMetrics struct {
	// Ready pods that report the metric.
	Ready int32
	// Missing are ready pods that do not report it yet (just started).
	Missing int32
	// Unready pods (pending or starting).
	Unready int32
	// Utilization is the mean metric of the Ready pods as a fraction of
	// their request (1.0 = 100%).
	Utilization float64
}

// ErrNoMetrics is returned when no ready pod reports the metric; the HPA
// then leaves the scale alone.
var ErrNoMetrics = errors.New("no metrics for any ready pod")

// DesiredReplicas is Kubernetes' replica calculator for a utilisation
// target (ReplicaCalculator.GetResourceReplicas): desired = ceil(ready ×
// utilisation / target), unchanged within the tolerances. Like the
// controller, it reads utilisation as a whole percentage of the request,
// rounded down (metricsclient.GetResourceUtilizationRatio), against a
// target in whole percent. When pods are missing metrics or not ready, it
// recomputes conservatively as the controller does: a missing pod counts as
// using 100% of its request (or the target, when the target is above 100%)
// on a scale down and 0% on a scale up, unready pods 0% on a scale up, and
// if that reverses the direction or lands within tolerance nothing changes.
func DesiredReplicas(current int32, m PodMetrics, target, upTolerance, downTolerance float64) (int32, error) {
	if m.Ready <= 0 {
		return current, ErrNoMetrics
	}
	within := func(ratio float64) bool {
		return ratio >= 1-downTolerance && ratio <= 1+upTolerance
	}
	targetPct := math.Round(target * 100)
	// ratioOf is the usage ratio of a mean utilisation, truncated to a
	// whole percent (the epsilon absorbs float error such as 0.7×100 =
	// 69.99…, which the controller's integer millicores never have).
	ratioOf := func(util float64) float64 { return math.Floor(util*100+1e-9) / targetPct }
	ratio := ratioOf(m.Utilization)
	scaleUpWithUnready := m.Unready > 0 && ratio > 1
	if !scaleUpWithUnready && m.Missing == 0 {
		// Unready pods are simply left out (a scale down or no change).
		if within(ratio) {
			return current, nil
		}
		return int32(math.Ceil(ratio * float64(m.Ready))), nil
	}
	// Recompute with the conservative assumptions over the pods counted.
	sum := m.Utilization * float64(m.Ready)
	n := m.Ready
	switch {
	case ratio < 1:
		sum += float64(m.Missing) * max(1, targetPct/100) // 100% of request each
		n += m.Missing
	case ratio > 1:
		n += m.Missing // 0% each
	}
	if scaleUpWithUnready {
		n += m.Unready // 0% each
	}
	newRatio := ratioOf(sum / float64(n))
	if within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current, nil
	}
	desired := int32(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1 && desired > current) || (newRatio > 1 && desired < current) {
		return current, nil
	}
	return desired, nil
}

// HPA is one HorizontalPodAutoscaler's controller state: its
// recommendations and scale events, which the behaviour policies and
// stabilisation windows read. It is driven by Sync, once per sync period,
// with the simulated time passed in.
type HPA struct {
	Min, Max int32
	// Target utilisation as a fraction of the pods' request.
	Target   float64
	Behavior Behavior

	started    bool
	recs       []timedRecommendation
	upEvents   []scaleEvent
	downEvents []scaleEvent
}

type timedRecommendation struct {
	replicas int32
	at       int64 // UnixNano: compared at every sync, cheaper than time.Time
}

type scaleEvent struct {
	change int32
	at     int64 // UnixNano
}

// Sync runs one reconcile of the HPA at time now with the scale target at
// current replicas, and returns the replicas it sets. It follows
// HorizontalController.reconcileAutoscaler: outside [Min, Max] the scale is
// brought back at once; otherwise the metric recommendation is stabilised
// and rate-limited by the behaviour. A change is recorded as a scale event.
// An error from the metrics (no ready pod reports) leaves the scale as is.
func (h *HPA) Sync(now time.Time, current int32, m PodMetrics) (int32, error) {
	h.recordInitial(now, current)
	if current > h.Max || current < h.Min {
		return h.SyncProposal(now, current, current), nil
	}
	rec, err := DesiredReplicas(current, m, h.Target, h.Behavior.ScaleUp.Tolerance, h.Behavior.ScaleDown.Tolerance)
	if err != nil {
		return current, err
	}
	return h.SyncProposal(now, current, rec), nil
}

// SyncProposal is Sync given the replica calculator's proposal instead of
// the pods' metrics: what the controller does with a recommendation (bring
// the scale within [Min, Max], or stabilise and rate-limit the proposal,
// and record the change). The fidelity test drives it with the proposals
// the real controller logged.
func (h *HPA) SyncProposal(now time.Time, current, proposal int32) int32 {
	h.recordInitial(now, current)
	var desired int32
	switch {
	case current > h.Max:
		desired = h.Max
	case current < h.Min:
		desired = h.Min
	default:
		desired = h.normalize(now, current, proposal)
	}
	if desired != current {
		h.storeEvent(now, desired-current)
	}
	return desired
}

// recordInitial is recordInitialRecommendation: the first sync of an HPA
// records the current replicas as a recommendation, so that the scale-down
// stabilisation window holds them for its length after the controller
// starts (or the HPA is created).
func (h *HPA) recordInitial(now time.Time, current int32) {
	if !h.started {
		h.started = true
		h.recs = append(h.recs, timedRecommendation{current, now.UnixNano()})
	}
}

// normalize is normalizeDesiredReplicasWithBehaviors: stabilise, then
// apply the rate limits and [Min, Max].
func (h *HPA) normalize(now time.Time, current, rec int32) int32 {
	stabilized := h.stabilize(now, current, rec)
	return h.limitRate(now, current, stabilized)
}

// stabilize is stabilizeRecommendationWithBehaviors: a scale up goes no
// higher than the smallest recommendation within the up window, a scale
// down no lower than the largest within the down window.
func (h *HPA) stabilize(now time.Time, current, rec int32) int32 {
	t := now.UnixNano()
	upCut := t - int64(h.Behavior.ScaleUp.Stabilization)
	downCut := t - int64(h.Behavior.ScaleDown.Stabilization)
	up, down := rec, rec
	keep := h.recs[:0]
	for _, r := range h.recs {
		inUp, inDown := r.at > upCut, r.at > downCut
		if inUp {
			up = min(up, r.replicas)
		}
		if inDown {
			down = max(down, r.replicas)
		}
		// Kubernetes overwrites a sample older than both windows; dropping
		// every such sample is equivalent and keeps the list short.
		if inUp || inDown {
			keep = append(keep, r)
		}
	}
	h.recs = append(keep, timedRecommendation{rec, t})
	out := current
	if out < up {
		out = up
	}
	if out > down {
		out = down
	}
	return out
}

// limitRate is convertDesiredReplicasWithBehaviorRate.
func (h *HPA) limitRate(now time.Time, current, desired int32) int32 {
	switch {
	case desired > current:
		limit := scaleUpLimit(now, current, h.upEvents, h.downEvents, h.Behavior.ScaleUp)
		if limit < current {
			limit = current
		}
		allowed := min(h.Max, limit)
		if desired > allowed {
			return allowed
		}
	case desired < current:
		limit := scaleDownLimit(now, current, h.upEvents, h.downEvents, h.Behavior.ScaleDown)
		if limit > current {
			limit = current
		}
		allowed := max(h.Min, limit)
		if desired < allowed {
			return allowed
		}
	}
	return desired
}

// scaleUpLimit is calculateScaleUpLimitWithScalingRules: each policy
// allows growth from the replicas at the start of its period.
func scaleUpLimit(now time.Time, current int32, up, down []scaleEvent, r ScalingRules) int32 {
	if r.Select == SelectDisabled {
		return current
	}
	result := int32(math.MinInt32)
	pick := func(a, b int32) int32 { return max(a, b) }
	if r.Select == SelectMin {
		result = math.MaxInt32
		pick = func(a, b int32) int32 { return min(a, b) }
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.Period, up) + changeInPeriod(now, p.Period, down)
		var proposed int32
		switch p.Type {
		case PodsPolicy:
			proposed = start + p.Value
		case PercentPolicy:
			// Rounded up so that a small target still grows.
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit is calculateScaleDownLimitWithBehaviors.
func scaleDownLimit(now time.Time, current int32, up, down []scaleEvent, r ScalingRules) int32 {
	if r.Select == SelectDisabled {
		return current
	}
	result := int32(math.MaxInt32)
	pick := func(a, b int32) int32 { return min(a, b) }
	if r.Select == SelectMin {
		result = math.MinInt32
		pick = func(a, b int32) int32 { return max(a, b) }
	}
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.Period, up) + changeInPeriod(now, p.Period, down)
		var proposed int32
		switch p.Type {
		case PodsPolicy:
			proposed = start - p.Value
		case PercentPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}

// changeInPeriod sums the replica changes of events within period of now
// (getReplicasChangePerPeriod).
func changeInPeriod(now time.Time, period time.Duration, events []scaleEvent) int32 {
	cut := now.UnixNano() - int64(period)
	var n int32
	for _, e := range events {
		if e.at > cut {
			n += e.change
		}
	}
	return n
}

// storeEvent records a scale event and forgets events older than the
// longest policy period, which no limit reads any more.
func (h *HPA) storeEvent(now time.Time, change int32) {
	longest := func(r ScalingRules) time.Duration {
		var d time.Duration
		for _, p := range r.Policies {
			d = max(d, p.Period)
		}
		return d
	}
	prune := func(ev []scaleEvent, keepFor time.Duration) []scaleEvent {
		cut := now.UnixNano() - int64(keepFor)
		out := ev[:0]
		for _, e := range ev {
			if e.at > cut {
				out = append(out, e)
			}
		}
		return out
	}
	keepFor := max(longest(h.Behavior.ScaleUp), longest(h.Behavior.ScaleDown))
	h.upEvents = prune(h.upEvents, keepFor)
	h.downEvents = prune(h.downEvents, keepFor)
	if change > 0 {
		h.upEvents = append(h.upEvents, scaleEvent{change, now.UnixNano()})
	} else {
		h.downEvents = append(h.downEvents, scaleEvent{-change, now.UnixNano()})
	}
}
