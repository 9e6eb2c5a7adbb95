package crd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/policy"
)

// rewriteAfter: an unchanged status is written again after this long, so
// that lastPlanned says the daemon is alive without a write every tick.
const rewriteAfter = 5 * time.Minute

// judged returns e's status after its last judgement: the Accepted
// condition, and the summary of the version in force. Called under s.mu.
func (s *Source) judged(e *entry) v1alpha1.ScalingPolicyStatus {
	st := e.status
	st.Conditions = append([]metav1.Condition(nil), st.Conditions...)
	st.ObservedGeneration = e.generation
	now := metav1.NewTime(s.now())
	c := metav1.Condition{Type: v1alpha1.ConditionAccepted, ObservedGeneration: e.generation, LastTransitionTime: now}
	if len(e.problems) == 0 {
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonValid
		c.Message = fmt.Sprintf("generation %d is in force", e.generation)
	} else {
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonInvalid
		for _, p := range e.problems {
			if strings.Contains(p, "in its own namespace only") || strings.Contains(p, "cluster-level resources come only") {
				c.Reason = v1alpha1.ReasonOutOfNamespace
			}
		}
		kept := "no version is in force"
		if e.policy != nil {
			kept = fmt.Sprintf("generation %d stays in force", e.accepted)
		}
		c.Message = fmt.Sprintf("generation %d rejected, %s:\n%s", e.generation, kept, strings.Join(e.problems, "\n"))
		if len(c.Message) > 30000 {
			c.Message = c.Message[:29997] + "..."
		}
	}
	meta.SetStatusCondition(&st.Conditions, c)
	if e.policy == nil {
		st.Mode, st.TargetCount, st.Promoted, st.NextChange, st.Targets = "", 0, "", "", nil
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: v1alpha1.ReasonInvalid, Message: "no version of the policy is in force", LastTransitionTime: now})
		return st
	}
	st.Mode = modeOf(e.policy, nil)
	st.TargetCount = int32(len(e.policy.Spec.Targets))
	// Targets stay as last written until the next tick, but not those the
	// version in force no longer has.
	var kept []v1alpha1.TargetStatus
	for _, ts := range st.Targets {
		if slices.ContainsFunc(e.policy.Spec.Targets, func(t config.Target) bool { return t.Name == ts.Name }) {
			kept = append(kept, ts)
		}
	}
	st.Targets = kept
	if meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady) == nil {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionUnknown,
			Reason: "NotPlannedYet", Message: "waiting for the daemon's first tick with this policy", LastTransitionTime: now})
	}
	return st
}

// modeOf sums up the targets' modes; promoted shadow targets count as active.
func modeOf(p *config.Policy, promoted map[string]bool) string {
	mode := ""
	for _, t := range p.Spec.Targets {
		m := t.HPA.Mode
		if m == "shadow" && promoted[t.Name] {
			m = "active"
		}
		switch mode {
		case "":
			mode = m
		case m:
		default:
			return "mixed"
		}
	}
	return mode
}

// Report writes the outcome of a tick to the ScalingPolicy the policy came
// from (policies from files are left alone): an Event per change applied
// or failed, and the status. It is the controller's Config.Report.
func (s *Source) Report(ctx context.Context, r controller.Report) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	e := s.byPolicy[r.Policy]
	if e == nil || e.policy != r.Policy {
		s.mu.Unlock()
		return
	}
	st := s.planned(e, r)
	s.mu.Unlock()
	for _, a := range r.Actuations {
		res := a.Resource
		what := fmt.Sprintf("%s: %s %s %s %v → %v", res.Target, res.Kind, res.Name, res.Field, res.Current, res.Desired)
		if a.Err != nil {
			s.event(ctx, e.ref(), corev1.EventTypeWarning, v1alpha1.ReasonApplyFailed, fmt.Sprintf("%s failed: %v", what, a.Err))
			continue
		}
		why := ""
		if len(res.Reasons) > 0 {
			why = " (" + res.Reasons[len(res.Reasons)-1] + ")"
		}
		s.event(ctx, e.ref(), corev1.EventTypeNormal, v1alpha1.ReasonApplied, fmt.Sprintf("%s: %s%s", what, a.Outcome.Result, why))
	}
	s.writeStatus(ctx, e, st)
}

// planned is e's status after a tick. Called under s.mu.
func (s *Source) planned(e *entry, r controller.Report) v1alpha1.ScalingPolicyStatus {
	st := s.judged(e)
	p := r.Policy
	now := metav1.NewTime(s.now())
	st.LastPlanned = &now
	promoted := map[string]bool{}
	var withPromote, nPromoted int
	var notReady, notPromoted []string
	var soonest *v1alpha1.PlannedChange
	soonestTarget := ""
	prev := map[string]*v1alpha1.Impact{}
	for _, ts := range st.Targets {
		prev[ts.Name] = ts.Impact
	}
	st.Targets = nil
	for _, t := range p.Spec.Targets {
		tr := r.Targets[t.Name]
		ts := v1alpha1.TargetStatus{Name: t.Name, HPA: t.HPA.Namespace + "/" + t.HPA.Name, Mode: t.HPA.Mode, Impact: impactStatus(tr.Impact)}
		if tr.Impact != nil && tr.Impact.Carried {
			ts.Impact = carriedImpact(tr.Impact, prev[t.Name])
		}
		if t.HPA.Promote != nil && t.HPA.Mode == "shadow" {
			withPromote++
			if tr.Promoted != "" {
				nPromoted++
				promoted[t.Name] = true
				ts.Mode, ts.Promoted = "shadow (promoted)", tr.Promoted
			} else {
				ts.Promoted = "not yet: " + tr.NotPromoted
				notPromoted = append(notPromoted, t.Name+": "+tr.NotPromoted)
			}
		}
		cur := r.Current.HPAs[t.Name]
		if res, ok := r.Plan.Find(t.Name, policy.KindHPA, policy.FieldMinReplicas); ok {
			if v, ok := res.Current.(int); ok {
				ts.CurrentFloor = i32(v)
			}
			if v, ok := res.Desired.(int); ok {
				ts.DesiredFloor = i32(v)
			}
			ts.Reason = controller.Why(res.Reasons)
		}
		owner := t.HPA.MinReplicas
		if cur.MinReplicas > 0 && cur.OwnerMinReplicas == 0 {
			owner = cur.MinReplicas
		}
		ts.OwnerFloor = i32(cur.OwnerMinOr(owner))
		if !math.IsNaN(tr.MASE) {
			ts.MASE = round(tr.MASE)
		}
		if !math.IsNaN(tr.Coverage) {
			ts.Coverage = round(tr.Coverage)
		}
		if n := tr.Next; n != nil {
			ts.NextChange = &v1alpha1.PlannedChange{Field: policy.FieldMinReplicas, From: int32(n.From), To: int32(n.To),
				At: metav1.NewTime(n.At), Reason: n.Reason}
			if soonest == nil || n.At.Before(soonest.At.Time) {
				soonest, soonestTarget = ts.NextChange, t.Name
			}
		}
		if !tr.Forecast {
			notReady = append(notReady, t.Name+": "+tr.Why)
		}
		st.Targets = append(st.Targets, ts)
	}
	st.Mode = modeOf(p, promoted)
	st.Promoted = ""
	if withPromote > 0 {
		st.Promoted = fmt.Sprintf("%d/%d", nPromoted, withPromote)
	}
	st.NextChange = ""
	if soonest != nil {
		loc := p.Location
		if loc == nil {
			loc = time.UTC
		}
		st.NextChange = fmt.Sprintf("%s %d→%d at %s", soonestTarget, soonest.From, soonest.To, soonest.At.In(loc).Format("2006-01-02 15:04 MST"))
	}
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonPlanned,
		Message: "planned with a usable demand forecast for every target", LastTransitionTime: now, ObservedGeneration: e.accepted}
	if len(notReady) > 0 {
		sort.Strings(notReady)
		ready.Status, ready.Reason = metav1.ConditionFalse, v1alpha1.ReasonNoForecast
		ready.Message = "planned from rules and owner values only (fail-static) for: " + strings.Join(notReady, "; ")
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	if withPromote == 0 {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionPromoted)
	} else {
		pc := metav1.Condition{Type: v1alpha1.ConditionPromoted, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonMetBar,
			Message:            fmt.Sprintf("%d of %d shadow targets with hpa.promote met their bar and are applied", nPromoted, withPromote),
			LastTransitionTime: now, ObservedGeneration: e.accepted}
		if len(notPromoted) > 0 {
			pc.Status, pc.Reason = metav1.ConditionFalse, v1alpha1.ReasonBelowBar
			pc.Message += "; not yet: " + strings.Join(notPromoted, "; ")
		}
		meta.SetStatusCondition(&st.Conditions, pc)
	}
	return st
}

func i32(v int) *int32 { x := int32(v); return &x }

// round keeps 3 significant decimals: a status that changes at every
// tick in the 10th digit would be written at every tick.
func round(v float64) *float64 { x := math.Round(v*1000) / 1000; return &x }

// writeStatus writes st as the object's status when it changed (or after
// rewriteAfter), replacing the whole status. Called under s.wmu.
func (s *Source) writeStatus(ctx context.Context, e *entry, st v1alpha1.ScalingPolicyStatus) {
	key := st
	key.LastPlanned = nil
	b, _ := json.Marshal(key)
	s.mu.Lock()
	skip := string(b) == e.written && (st.LastPlanned == nil || st.LastPlanned.Sub(e.lastWrite) < rewriteAfter)
	s.mu.Unlock()
	if skip {
		return
	}
	patch, err := json.Marshal([]map[string]any{{"op": "add", "path": "/status", "value": st}})
	if err != nil {
		s.log.Error("status not written", "policy", e.namespace+"/"+e.name, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = s.dyn.Resource(v1alpha1.Resource).Namespace(e.namespace).Patch(ctx, e.name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: "prescale"}, "status")
	if err != nil {
		s.log.Warn("status not written", "policy", e.namespace+"/"+e.name, "err", err)
		return
	}
	s.mu.Lock()
	e.written = string(b)
	e.status = st
	if st.LastPlanned != nil {
		e.lastWrite = st.LastPlanned.Time
	}
	s.mu.Unlock()
}
