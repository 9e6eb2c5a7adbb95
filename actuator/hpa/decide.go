package hpa

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Annotations prescale keeps on the HPAs it manages. The owner's values
// live on the object itself, so they survive a restart of prescale and
// disappear with the object: a recreated HPA starts fresh.
const (
	// AnnotationPaused set to "true" by a person stops all changes.
	AnnotationPaused = "prescale.io/paused"
	// AnnotationOwnerMin and AnnotationOwnerMax hold the owner's
	// minReplicas and maxReplicas from before prescale's first change.
	AnnotationOwnerMin = "prescale.io/owner-min-replicas"
	AnnotationOwnerMax = "prescale.io/owner-max-replicas"
	// AnnotationOwnerTarget holds the owner's target utilisation of the
	// resource metric prescale changes, as "cpu=70".
	AnnotationOwnerTarget = "prescale.io/owner-target-utilization"
	// AnnotationApplied holds what prescale last wrote, as "min=10,max=40",
	// so that a change someone else made since is recognised as the
	// owner's new intent rather than overwritten as stale.
	AnnotationApplied = "prescale.io/applied"
	// AnnotationManagedBy names the prescale deployment (its Lease) that
	// changed the HPA, so that after a restart it finds the HPAs it must
	// hand back when their target left the policy while it was down, and
	// leaves those of other shards alone.
	AnnotationManagedBy = "prescale.io/managed-by"
)

// Live is what prescale reads from an HPA.
type Live struct {
	MinReplicas, MaxReplicas int
	// Target is the current target utilisation of the managed resource
	// metric; 0 when the HPA has no such metric.
	Target int
	// Annotations of the object.
	Annotations map[string]string
}

// Want is the plan for one HPA, before the owner's bounds.
type Want struct {
	// MinReplicas is the planned floor.
	MinReplicas int
	// MaxReplicas is a ceiling a rule asks for; it is used only when
	// RaiseMax is set and it is above the owner's maxReplicas. prescale
	// never lowers the owner's maxReplicas.
	MaxReplicas int
	RaiseMax    bool
	// Ceiling is the policy's limit on the floor (its hpa.maxReplicas);
	// 0 means none.
	Ceiling int
	// Target is the target utilisation a rule asks for on Resource; 0
	// means the owner's.
	Target int
	// Resource is the resource metric Target applies to ("cpu").
	Resource string
	// KeepMin, KeepMax and KeepTarget leave a field at its live value
	// (within the owner's bounds): for a caller that acts on one planned
	// field at a time and must not undo the others.
	KeepMin, KeepMax, KeepTarget bool
}

// Owner is the owner's values of an HPA.
type Owner struct {
	MinReplicas, MaxReplicas int
	// Target is the owner's target utilisation; 0 when unknown or unset.
	Target int
}

// Decision is what prescale writes to an HPA.
type Decision struct {
	Owner                    Owner
	MinReplicas, MaxReplicas int
	// Target is the target utilisation to write; 0 leaves metrics alone.
	Target int
	Notes  []string
}

// Decide is the HPA rule, free of I/O: take the owner's values from the
// annotations (or from the live object before the first change, or when
// someone else changed the field since prescale last wrote it), then the
// floor is the plan's, never below the owner's minReplicas and never above
// the policy ceiling; maxReplicas stays the owner's unless a rule raises
// it; and the floor never exceeds maxReplicas.
func Decide(live Live, w Want) Decision {
	owner, notes := ownerValues(live, w.Resource)
	d := Decision{Owner: owner, Notes: notes}

	d.MinReplicas = w.MinReplicas
	if w.KeepMin {
		d.MinReplicas = live.MinReplicas
	}
	if w.Ceiling > 0 && d.MinReplicas > w.Ceiling {
		d.Notes = append(d.Notes, fmt.Sprintf("bound: planned floor %d above the policy ceiling %d", d.MinReplicas, w.Ceiling))
		d.MinReplicas = w.Ceiling
	}
	if d.MinReplicas < owner.MinReplicas {
		d.Notes = append(d.Notes, fmt.Sprintf("never below the owner's minReplicas %d", owner.MinReplicas))
		d.MinReplicas = owner.MinReplicas
	}

	d.MaxReplicas = owner.MaxReplicas
	if w.KeepMax {
		d.MaxReplicas = max(live.MaxReplicas, owner.MaxReplicas)
	}
	if w.RaiseMax && w.MaxReplicas > owner.MaxReplicas {
		d.MaxReplicas = w.MaxReplicas
		d.Notes = append(d.Notes, fmt.Sprintf("rule raises maxReplicas above the owner's %d", owner.MaxReplicas))
	}
	if d.MinReplicas > d.MaxReplicas {
		d.Notes = append(d.Notes, fmt.Sprintf("bound: floor %d above maxReplicas %d", d.MinReplicas, d.MaxReplicas))
		d.MinReplicas = max(d.MaxReplicas, owner.MinReplicas)
		d.MaxReplicas = max(d.MaxReplicas, d.MinReplicas)
	}

	switch {
	case w.KeepTarget:
	case w.Target > 0 && live.Target == 0:
		d.Notes = append(d.Notes, fmt.Sprintf("the HPA has no %s utilisation metric: target %d%% not set", w.Resource, w.Target))
	case w.Target > 0:
		d.Target = w.Target
	case owner.Target > 0 && live.Annotations[AnnotationOwnerTarget] != "":
		d.Target = owner.Target // a rule's target ended: back to the owner's
	}
	return d
}

// ownerValues reads the owner's values from the annotations, recognising
// changes someone else made since prescale's last write.
func ownerValues(live Live, resource string) (Owner, []string) {
	a := live.Annotations
	o := Owner{MinReplicas: live.MinReplicas, MaxReplicas: live.MaxReplicas, Target: live.Target}
	minText, maxText := a[AnnotationOwnerMin], a[AnnotationOwnerMax]
	if minText == "" || maxText == "" {
		return o, nil // first change: the live values are the owner's
	}
	var notes []string
	applied := parseApplied(a[AnnotationApplied])
	min, okMin := replicaCount(minText)
	max, okMax := replicaCount(maxText)
	if !okMin || !okMax || max < 1 || min > max {
		// Someone edited prescale's record by hand, or a tool mangled it:
		// never write those numbers (a negative floor, a maxReplicas past
		// int32). The live values are at least the owner's (prescale only
		// raises them), so taking them as the owner's never drops a floor
		// below what the owner set; the next write records them.
		notes = append(notes, fmt.Sprintf("annotations %s=%q and %s=%q are not replica counts (0 <= min <= max, 1 <= max <= %d): ignored, the live minReplicas %d and maxReplicas %d taken as the owner's",
			AnnotationOwnerMin, minText, AnnotationOwnerMax, maxText, math.MaxInt32, live.MinReplicas, live.MaxReplicas))
	} else {
		o.MinReplicas, o.MaxReplicas = min, max
		if v, ok := applied["min"]; ok && v != live.MinReplicas {
			notes = append(notes, fmt.Sprintf("minReplicas changed by someone else from %d to %d: taken as the owner's", v, live.MinReplicas))
			o.MinReplicas = live.MinReplicas
		}
		if v, ok := applied["max"]; ok && v != live.MaxReplicas {
			notes = append(notes, fmt.Sprintf("maxReplicas changed by someone else from %d to %d: taken as the owner's", v, live.MaxReplicas))
			o.MaxReplicas = live.MaxReplicas
		}
	}
	text := a[AnnotationOwnerTarget]
	k, _, _ := strings.Cut(text, "=")
	switch t, ok := parseTarget(text, resource); {
	case ok:
		o.Target = t
		if v, ok := applied["target"]; ok && v != live.Target && live.Target > 0 {
			o.Target = live.Target
		}
	case text != "" && (resource == "" || k == resource):
		// As above: the live target is the one in force, and the next
		// write records it.
		notes = append(notes, fmt.Sprintf("annotation %s=%q is not a utilisation target (%s=1..%d): ignored, the live target %d taken as the owner's",
			AnnotationOwnerTarget, text, k, math.MaxInt32, live.Target))
	default:
		o.Target = 0
	}
	return o, notes
}

// replicaCount parses an annotation holding a replica count, which the
// API stores as an int32 and never negative.
func replicaCount(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= math.MaxInt32
}

// parseApplied parses "min=10,max=40,target=60".
func parseApplied(s string) map[string]int {
	out := map[string]int{}
	for len(s) > 0 {
		var part string
		part, s, _ = strings.Cut(s, ",")
		k, v, ok := strings.Cut(part, "=")
		if n, err := strconv.Atoi(v); ok && err == nil {
			out[k] = n
		}
	}
	return out
}

func formatApplied(d Decision) string {
	s := fmt.Sprintf("min=%d,max=%d", d.MinReplicas, d.MaxReplicas)
	if d.Target > 0 {
		s += fmt.Sprintf(",target=%d", d.Target)
	}
	return s
}

// parseTarget parses "cpu=70" for the given resource ("" matches any): a
// positive utilisation an HPA can hold (an int32).
func parseTarget(s, resource string) (int, bool) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || (resource != "" && k != resource) {
		return 0, false
	}
	n, ok := replicaCount(v)
	return n, ok && n > 0
}
