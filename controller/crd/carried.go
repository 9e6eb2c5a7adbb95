package crd

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
)

// A restart, or a follower taking the lease, starts a loop without the
// floors its judgements replay. The status the previous process wrote
// holds each target's last verdict: the Source reads it (statusOf,
// verdictsOf) and hands it to the loop (Verdict, the loop's
// Config.Verdicts), which keeps it in force until it judges the floors
// itself; meanwhile the status keeps the impact figures it carried.

// statusOf decodes an object's status (zero when it has none).
func statusOf(u *unstructured.Unstructured) (v1alpha1.ScalingPolicyStatus, error) {
	var st v1alpha1.ScalingPolicyStatus
	raw, ok, err := unstructured.NestedMap(u.Object, "status")
	if err != nil || !ok {
		return st, err
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	return st, nil
}

// verdictsOf returns the targets' verdicts a status holds, by target name.
func verdictsOf(st v1alpha1.ScalingPolicyStatus) map[string]controller.Verdict {
	out := map[string]controller.Verdict{}
	for _, ts := range st.Targets {
		im := ts.Impact
		if im == nil || im.ComputedAt == nil {
			continue
		}
		v := controller.Verdict{StoodDown: im.StandDown, Why: controller.OriginalWhy(im.Reason), JudgedAt: im.ComputedAt.Time, WrittenAt: im.ComputedAt.Time}
		if st.LastPlanned != nil {
			v.WrittenAt = st.LastPlanned.Time
		}
		if q, err := strconv.ParseFloat(im.OperatingQuantile, 64); err == nil {
			v.Quantile = q
		}
		for name, w := range map[string]*v1alpha1.ImpactWindow{"7d": im.Last7d, "14d": im.Last14d} {
			if w == nil {
				continue
			}
			if v.Figures == nil {
				v.Figures = map[string]controller.Figures{}
			}
			f := controller.Figures{UnservedSaved: math.NaN(), ReplicaHoursPaid: value(w.ExtraReplicaHours), EqualCostRatio: value(w.EqualCostRatio),
				DaysBetter: int(w.DaysBetter), DaysWorse: int(w.DaysWorse)}
			if w.UnservedReactive != nil && w.UnservedPredictive != nil {
				f.UnservedSaved = *w.UnservedReactive - *w.UnservedPredictive
			}
			v.Figures[name] = f
		}
		out[ts.Name] = v
	}
	return out
}

// value is *p, NaN for nil.
func value(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// Verdict returns the last verdict on target of p that the status of the
// ScalingPolicy p came from holds: the loop's Config.Verdicts.
func (s *Source) Verdict(p *config.Policy, target string) (controller.Verdict, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.byPolicy[p]
	if e == nil {
		return controller.Verdict{}, false
	}
	v, ok := e.verdicts[target]
	return v, ok
}

// carriedImpact is a target's impact status while the loop carries its
// verdict over (r.Carried): the verdict and its reason from r, the
// figures from the status before (prev, nil when none).
func carriedImpact(r *controller.ImpactReport, prev *v1alpha1.Impact) *v1alpha1.Impact {
	st := impactStatus(r)
	if prev != nil {
		st.Last7d, st.Last14d = prev.Last7d, prev.Last14d
	}
	return st
}
