// Package v1alpha1 is the ScalingPolicy custom resource (prescale.io/v1alpha1,
// namespaced): its names, its status, and its CustomResourceDefinition,
// generated from the Go types.
//
// The spec is the policy file's spec, the same Go types (config.Spec) and
// the same decoder and validation: the CRD's schema is generated from
// those types, so a field added to the files appears in the CRD when the
// generator runs (go run ./internal/crdgen), and a test fails while the
// committed YAML is not current. The status is defined here.
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The resource's names.
const (
	Group    = "prescale.io"
	Version  = "v1alpha1"
	Kind     = "ScalingPolicy"
	ListKind = "ScalingPolicyList"
	Plural   = "scalingpolicies"
	Singular = "scalingpolicy"
)

// GroupVersion is prescale.io/v1alpha1.
var GroupVersion = schema.GroupVersion{Group: Group, Version: Version}

// Resource is the ScalingPolicy resource, for the dynamic client.
var Resource = GroupVersion.WithResource(Plural)

// Condition types of a ScalingPolicy.
const (
	// Accepted is True when the daemon decoded and validated the policy's
	// current generation and put it in force; False with the problems,
	// one per line, as the message, when it rejected an edit (the last
	// good version, if any, stays in force).
	ConditionAccepted = "Accepted"
	// Ready is True once the daemon has planned the policy in force at
	// least once with forecasts for every target; False names the
	// targets without a usable forecast and why.
	ConditionReady = "Ready"
	// Promoted is True when every shadow target with hpa.promote has met
	// its accuracy bar and is applied as active; False says which have
	// not, and why. Absent when no target has hpa.promote.
	ConditionPromoted = "Promoted"
)

// Reasons of conditions and Events.
const (
	ReasonValid          = "Valid"
	ReasonInvalid        = "Invalid"
	ReasonOutOfNamespace = "OutOfNamespace"
	ReasonPlanned        = "Planned"
	ReasonNoForecast     = "NoForecast"
	ReasonMetBar         = "MetBar"
	ReasonBelowBar       = "BelowBar"
	// ReasonApplied is the Event reason of a change prescale applied,
	// ReasonApplyFailed of one that failed, ReasonRejected of an edit it
	// refused and ReasonRestored of an HPA handed back to its owner.
	ReasonApplied     = "Applied"
	ReasonApplyFailed = "ApplyFailed"
	ReasonRejected    = "Rejected"
	ReasonAccepted    = "Accepted"
)

// ScalingPolicyStatus is what the daemon reports on a ScalingPolicy.
type ScalingPolicyStatus struct {
	// ObservedGeneration is the generation the Accepted condition is about.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Accepted, Ready, Promoted.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Mode sums up the targets' modes: observe, shadow or active when they
	// all share one, else mixed (a promoted shadow target counts as active).
	Mode string `json:"mode,omitempty"`
	// TargetCount is the number of targets of the policy in force.
	TargetCount int32 `json:"targetCount,omitempty"`
	// Promoted is how many of the targets with hpa.promote are promoted,
	// as "N/M"; empty when none has hpa.promote.
	Promoted string `json:"promoted,omitempty"`
	// NextChange is the soonest planned floor change of any target, as
	// "TARGET minReplicas FROM→TO at TIME"; empty when none is planned
	// within the forecasts' horizon.
	NextChange string `json:"nextChange,omitempty"`
	// LastPlanned is when the daemon last planned this policy.
	LastPlanned *metav1.Time `json:"lastPlanned,omitempty"`
	// Targets are the per-target floors, plans and forecast scores.
	Targets []TargetStatus `json:"targets,omitempty"`
}

// TargetStatus is one target's state.
type TargetStatus struct {
	// Name is the target's name in the policy.
	Name string `json:"name"`
	// HPA is the HorizontalPodAutoscaler managed, namespace/name.
	HPA string `json:"hpa,omitempty"`
	// Mode is the target's mode (observe, shadow, active); a shadow target
	// applied as active after promotion reads "shadow (promoted)".
	Mode string `json:"mode,omitempty"`
	// CurrentFloor is the HPA's minReplicas now, as read at the last tick.
	CurrentFloor *int32 `json:"currentFloor,omitempty"`
	// OwnerFloor is the owner's minReplicas: prescale never plans below it.
	OwnerFloor *int32 `json:"ownerFloor,omitempty"`
	// DesiredFloor is the floor the plan wants now (in shadow, what it
	// would set).
	DesiredFloor *int32 `json:"desiredFloor,omitempty"`
	// Reason is what bound the desired floor (the plan's last reason).
	Reason string `json:"reason,omitempty"`
	// NextChange is the next planned change of the floor, when one is
	// planned within the forecasts' horizon.
	NextChange *PlannedChange `json:"nextChange,omitempty"`
	// MASE is the rolling mean absolute scaled error of the demand
	// forecasts (below 1 beats the seasonal naive forecast); absent until
	// one could be scored.
	MASE *float64 `json:"mase,omitempty"`
	// Coverage is the rolling share of demand samples at or under the
	// forecast's provisioning quantile; absent until one could be scored.
	Coverage *float64 `json:"coverage,omitempty"`
	// Promoted says why a shadow target with hpa.promote is (or is not yet)
	// applied as active.
	Promoted string `json:"promoted,omitempty"`
	// Impact is the target's impact report (availability gained, cost
	// paid) from its own recent history, when one has been computed.
	Impact *Impact `json:"impact,omitempty"`
}

// PlannedChange is a floor change the plan foresees.
type PlannedChange struct {
	// Field is the HPA field: minReplicas.
	Field string `json:"field"`
	From  int32  `json:"from"`
	To    int32  `json:"to"`
	// At is when the plan changes it.
	At metav1.Time `json:"at"`
	// Reason is why, the plan's reason at that time.
	Reason string `json:"reason,omitempty"`
}

// Impact is a target's impact report: its forecast floors replayed on its
// own recent demand under the HPA, against the HPA alone at the owner's
// target and against the HPA alone run cooler until it spends the same
// replica-hours (equal cost), over the last 7 and 14 days of the history
// the daemon keeps (less while it has less). The 14 days are what the
// stand-down judges.
type Impact struct {
	// Last7d and Last14d are the figures over the last 7 and 14 days.
	Last7d  *ImpactWindow `json:"last7d,omitempty"`
	Last14d *ImpactWindow `json:"last14d,omitempty"`
	// StandDown is true when the floors do not pay and the target stands
	// down; Reason says why (or why they pay).
	StandDown bool   `json:"standDown,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// OperatingQuantile is the forecast quantile the floors are sized at,
	// as a string ("0.5"): capacity.quantile, or the lower operating
	// point (capacity.operatingPoints) that paid best.
	OperatingQuantile string `json:"operatingQuantile,omitempty"`
	// ComputedAt is when the report was made (once a day per target).
	ComputedAt *metav1.Time `json:"computedAt,omitempty"`
}

// ImpactWindow is the impact report's figures over one span of history.
type ImpactWindow struct {
	// Window is the span of history replayed: 7d, 14d, or less while the
	// daemon has less history.
	Window string `json:"window,omitempty"`
	// UnservedReactive and UnservedPredictive are the fractions of demand
	// unserved with the HPA alone and with prescale's floors.
	UnservedReactive   *float64 `json:"unservedReactive,omitempty"`
	UnservedPredictive *float64 `json:"unservedPredictive,omitempty"`
	// ExtraReplicaHours is the cost of the floors: replica-hours above
	// the HPA alone.
	ExtraReplicaHours *float64 `json:"extraReplicaHours,omitempty"`
	// UnservedAtEqualCost is the fraction of demand the HPA alone leaves
	// unserved when run cooler until it spends the floors' replica-hours.
	UnservedAtEqualCost *float64 `json:"unservedAtEqualCost,omitempty"`
	// EqualCostRatio is UnservedPredictive over UnservedAtEqualCost: below
	// 1 the floors serve more than a cooler HPA for the same replica-hours;
	// absent when the cooler HPA leaves nothing unserved.
	EqualCostRatio *float64 `json:"equalCostRatio,omitempty"`
	// GainPerCost is availability gained per unit of cost: the share of
	// the HPA alone's unserved demand the floors saved, over the share of
	// its replica-hours they added (what hpa.promote.minGainPerCost bars
	// over 14 days); absent when the floors added no replica-hours.
	GainPerCost *float64 `json:"gainPerCost,omitempty"`
	// DaysBetter and DaysWorse count the UTC days of the window on which
	// the floors left less, and more, of the day's demand unserved than
	// the HPA alone run cooler at equal replica-hours (days on which both
	// left nothing measurable count as neither): floors under the margin
	// over the window, but at least half of it, still pay when they win on
	// significantly more days than they lose.
	DaysBetter int32 `json:"daysBetter,omitempty"`
	DaysWorse  int32 `json:"daysWorse,omitempty"`
}
