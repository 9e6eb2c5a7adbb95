package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// BudgetActions are the actions of a connection budget rule; the first is
// the default.
var BudgetActions = []string{"cap", "warn", "pool"}

// KindName says what the target's scaler is: "HPA" or "ScaledObject".
func (h HPA) KindName() string {
	if h.ScaledObject != "" {
		return "ScaledObject"
	}
	return "HPA"
}

// Object is the name of the object prescale writes the floor to: the HPA's
// or the ScaledObject's.
func (h HPA) Object() string {
	if h.ScaledObject != "" {
		return h.ScaledObject
	}
	return h.Name
}

func (v *validator) warnf(path, format string, args ...any) {
	v.p.Warnings = append(v.p.Warnings, Problem{File: v.p.File, Pos: v.p.PosOf(path), Field: path, Message: "warning: " + fmt.Sprintf(format, args...)})
}

// scaleTarget checks that a target names exactly one object to write its
// floor to: an HPA or a KEDA ScaledObject (whose HPA KEDA owns).
func (v *validator) scaleTarget(hp string, h *HPA) {
	switch {
	case h.Name != "" && h.ScaledObject != "":
		v.errf(hp+".scaledObject", "set one of name (an HPA) and scaledObject (a KEDA ScaledObject), not both: KEDA owns the HPA of its ScaledObject (%q, %q)", h.Name, h.ScaledObject)
	case h.Name == "" && h.ScaledObject == "":
		v.errf(hp+".name", "required: the HorizontalPodAutoscaler to manage (or scaledObject: a KEDA ScaledObject)")
	}
}

// connectionPool checks a target's pool ConfigMap reference.
func (v *validator) connectionPool(path string, t *Target) {
	c := t.ConnectionPool
	if c == nil {
		return
	}
	cp := path + ".connectionPool"
	if c.Namespace == "" {
		c.Namespace = t.HPA.Namespace
	}
	if c.ConfigMap == "" {
		v.errf(cp+".configMap", "required: the ConfigMap the application reads its pool size from")
	}
	if c.Key == "" {
		v.errf(cp+".key", "required: the ConfigMap key holding the pool size per pod")
	}
	if t.Database == "" {
		v.errf(cp, "target %q has no database to size a pool for", t.Name)
	}
}

// databaseReplicas checks a database's read replica bounds.
func (v *validator) databaseReplicas(path string, d *Database) {
	r := d.ReadReplicas
	if r == nil {
		return
	}
	rp := path + ".readReplicas"
	if d.Provider != "rds" {
		v.errf(rp, "read replicas apply to rds databases only")
	}
	if r.Count < 0 {
		v.errf(rp+".count", "must not be negative, got %d", r.Count)
	}
	if r.Max <= 0 {
		v.errf(rp+".max", "required and positive: the most read replicas a rule may ask for")
	} else if r.Count > r.Max {
		v.errf(rp+".count", "the owner's %d replicas are above max %d", r.Count, r.Max)
	}
	if r.Max > 15 {
		v.errf(rp+".max", "RDS allows at most 15 read replicas per source, got %d", r.Max)
	}
	// prescale names its replicas IDENTIFIER-prescale-N (actuator/aws
	// ReplicaName); RDS identifiers are at most 63 characters.
	if name := fmt.Sprintf("%s-prescale-%d", d.Identifier, r.Max); r.Max > 0 && len(name) > 63 {
		v.errf(rp, "read replica name %s is %d characters, above RDS's 63: shorten the identifier", name, len(name))
	}
}

// stepRunbook checks an event step's CPU target and read replica count.
func (v *validator) stepRunbook(stp string, st EventStep, applies []string, targets map[string]*Target, dbs map[string]*Database) {
	if st.TargetUtilization != 0 {
		v.fraction(stp+".targetUtilization", st.TargetUtilization, true, false)
	}
	if st.ReadReplicas == nil {
		return
	}
	n := *st.ReadReplicas
	if n < 0 {
		v.errf(stp+".readReplicas", "must not be negative, got %d", n)
		return
	}
	found := false
	for _, tn := range applies {
		t := targets[tn]
		if t == nil || t.Database == "" {
			continue
		}
		d := dbs[t.Database]
		if d == nil {
			continue
		}
		found = true
		switch {
		case d.ReadReplicas == nil:
			v.errf(stp+".readReplicas", "database %q has no readReplicas limits (set its readReplicas.max)", d.Name)
		case n > d.ReadReplicas.Max:
			v.errf(stp+".readReplicas", "%d read replicas are above the limit of database %q (readReplicas.max %d)", n, d.Name, d.ReadReplicas.Max)
		}
	}
	if !found {
		v.errf(stp+".readReplicas", "none of the rule's targets has a database")
	}
}

// runbookRules checks what only shows across rules: an event floor the
// connection budget of the target's database cannot hold (a warning: the
// budget caps the floor at run time, or the pool shrinks, but the owner
// should know before the event).
func (v *validator) runbookRules(targets map[string]*Target, dbs map[string]*Database) {
	rules := v.p.Spec.Rules
	for i := range rules {
		b := rules[i].ConnectionBudget
		if b == nil || b.PoolSize <= 0 || b.Fraction <= 0 {
			continue
		}
		d := dbs[b.Database]
		if d == nil || len(d.Tiers) == 0 {
			continue
		}
		ti := max(d.Tier(d.Current), 0)
		tier := d.Tiers[ti]
		if tier.MaxConnections <= 0 {
			continue
		}
		budget := int(math.Floor(b.Fraction * float64(tier.MaxConnections)))
		pool := b.PoolSize
		if b.Action == "pool" && b.MinPoolSize > 0 {
			pool = b.MinPoolSize
		}
		maxPods := budget / pool
		for j := range rules {
			e := rules[j].Event
			if e == nil {
				continue
			}
			for k, st := range e.Steps {
				if st.MinReplicas <= maxPods {
					continue
				}
				for _, tn := range ruleTargets(&rules[j], targets) {
					t := targets[tn]
					if t == nil || t.Database != b.Database || !ruleApplies(&rules[i], tn) {
						continue
					}
					v.warnf(fmt.Sprintf("spec.rules[%d].event.steps[%d].minReplicas", j, k),
						"floor %d for target %q is above what connection budget rule %q allows on %s %s: %d pods × %d connections > %d (%g × max_connections %d)",
						st.MinReplicas, tn, rules[i].Name, d.Name, tier.Class, st.MinReplicas, pool, budget, b.Fraction, tier.MaxConnections)
				}
			}
		}
	}
}

func ruleTargets(r *Rule, targets map[string]*Target) []string {
	if len(r.Targets) > 0 {
		return r.Targets
	}
	return slices.Sorted(maps.Keys(targets))
}

func ruleApplies(r *Rule, target string) bool {
	return len(r.Targets) == 0 || slices.Contains(r.Targets, target)
}
