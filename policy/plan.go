package policy

import (
	"fmt"
	"strings"
	"time"
)

// Resource kinds and fields in a Plan.
const (
	KindHPA       = "hpa"
	KindNodeGroup = "nodegroup"
	KindDatabase  = "database"
	KindCache     = "cache"

	FieldMinReplicas = "minReplicas"
	FieldMaxReplicas = "maxReplicas"
	FieldMinSize     = "minSize"
	// FieldTargetCPU is the HPA's CPU utilisation target in percent,
	// planned only for targets with a volatility rule that lowers it.
	FieldTargetCPU     = "targetCPUUtilizationPercentage"
	FieldInstanceClass = "instanceClass"
	FieldNodeType      = "nodeType"
	// FieldReadReplicas is a database's read replica count.
	FieldReadReplicas = "readReplicas"

	// KindConnectionPool is a target's connection pool size per pod.
	KindConnectionPool = "connectionPool"
	FieldPoolSize      = "poolSize"
)

// Plan is what prescale wants at one instant.
type Plan struct {
	At        time.Time  `json:"at"`
	Resources []Resource `json:"resources"`
	// Warnings need a person's attention (a connection budget that cannot
	// be met, a forecast that was discarded). They also appear among the
	// reasons of the resource concerned.
	Warnings []string `json:"-"`
}

// Resource is one planned value of one resource.
type Resource struct {
	// Target is the policy target; for shared node groups, databases and
	// caches, the targets using it joined by commas.
	Target string `json:"target"`
	Kind   string `json:"kind"`
	// Name is the resource's name: namespace/name for an HPA, the node
	// group, database or cache name of the policy.
	Name  string `json:"name"`
	Field string `json:"field"`
	// Current and Desired are ints for replicas and sizes, strings for classes.
	Current any      `json:"current"`
	Desired any      `json:"desired"`
	Reasons []string `json:"reasons"`
	// Snapshot: a manual snapshot is taken before this class change
	// (the database's snapshotBeforeChange).
	Snapshot bool `json:"snapshot,omitempty"`
	// Apply is false when the plan must not be acted on (mode observe or
	// shadow, dry-run, or no change).
	Apply bool `json:"-"`
}

// Changed reports whether the desired value differs from the current one.
func (r Resource) Changed() bool { return fmt.Sprint(r.Current) != fmt.Sprint(r.Desired) }

// Find returns the resource of the given target, kind and field.
func (p Plan) Find(target, kind, field string) (Resource, bool) {
	for _, r := range p.Resources {
		if r.Kind == kind && r.Field == field && (r.Target == target || containsName(r.Target, target)) {
			return r, true
		}
	}
	return Resource{}, false
}

func containsName(list, name string) bool {
	for _, n := range strings.Split(list, ",") {
		if n == name {
			return true
		}
	}
	return false
}

// reasons accumulates the explanation of one planned value, in order.
type reasons []string

func (r *reasons) add(format string, args ...any) { *r = append(*r, fmt.Sprintf(format, args...)) }
