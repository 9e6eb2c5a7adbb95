package policy

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy/calendar"
)

// What the runbooks ask beyond floors and tiers: a CPU target at a known
// event, connection pools sized to the database's budget, and read
// replicas added ahead of a peak.

// replicaWant is the read replica count an event step asks of a database.
type replicaWant struct {
	count int
	why   string
}

// eventUtilization returns the lowest CPU target an active event step
// plans for the target at at, and whether any of its event rules plans one
// at all (then the CPU target is part of the plan, back to the normal one
// between events).
func (e *Engine) eventUtilization(at time.Time, target string) (float64, string, bool) {
	var u float64
	var why string
	planned := false
	for i := range e.policy.Spec.Rules {
		r := &e.policy.Spec.Rules[i]
		if r.Event == nil || !applies(r, target) {
			continue
		}
		for _, st := range r.Event.Steps {
			planned = planned || st.TargetUtilization > 0
		}
		ef := e.eventState(r.Event, at)
		if !ef.Active || ef.TargetUtil <= 0 || (u > 0 && ef.TargetUtil >= u) {
			continue
		}
		u = ef.TargetUtil
		why = fmt.Sprintf("rule %s (%s %s, %s): CPU target %g%%", r.Name, r.Event.Event,
			ef.Occurrence.Start.In(e.policy.Location).Format("2006-01-02 15:04 MST"), offset(ef.Offset), u*100)
	}
	return u, why, planned
}

// planPools sizes the connection pool per pod of the targets of each
// connection budget rule with action pool: the largest pool, up to the
// rule's poolSize, such that the planned maxReplicas of all its targets
// times the pool fit the budget of the database's class now. The pool is
// sized for the ceiling, not the floor, because the HPA may scale up to the
// ceiling at any time; it is written (where the target names a
// connectionPool ConfigMap) before the replicas it allows.
func (e *Engine) planPools(tps []*targetPlan, in Inputs, plan *Plan) {
	for i := range e.policy.Spec.Rules {
		r := &e.policy.Spec.Rules[i]
		b := r.ConnectionBudget
		if b == nil || b.Action != "pool" {
			continue
		}
		d := e.databases[b.Database]
		if d == nil {
			continue
		}
		class := currentClass(d, in.Current.Databases)
		tier := d.Tiers[max(d.Tier(class), 0)]
		budget := int(math.Floor(b.Fraction * float64(tier.MaxConnections)))
		var members []*targetPlan
		pods := 0
		for _, tp := range tps {
			if applies(r, tp.t.Name) && tp.t.Database == b.Database {
				members = append(members, tp)
				pods += tp.ceiling
			}
		}
		if len(members) == 0 || pods == 0 {
			continue
		}
		size := b.PoolSize
		var why reasons
		if pods*b.PoolSize <= budget {
			why.add("rule %s: %d pods × %d connections = %d ≤ %d (%g × max_connections %d of %s): the full pool", r.Name,
				pods, b.PoolSize, pods*b.PoolSize, budget, b.Fraction, tier.MaxConnections, class)
		} else {
			size = max(budget/pods, b.MinPoolSize)
			why.add("rule %s: %d pods × %d connections = %d > %d (%g × max_connections %d of %s): pool %d per pod (%d × %d = %d)",
				r.Name, pods, b.PoolSize, pods*b.PoolSize, budget, b.Fraction, tier.MaxConnections, class,
				size, pods, size, pods*size)
		}
		for _, tp := range members {
			t := tp.t
			tp.pool = size
			cur, ok := in.Current.Pools[t.Name]
			if !ok {
				cur = b.PoolSize
			}
			rw := append(reasons(nil), why...)
			name := t.Name
			apply := false
			if c := t.ConnectionPool; c != nil {
				name = c.Namespace + "/" + c.ConfigMap + ":" + c.Key
				apply = tp.active && cur != size
				rw.add("written to ConfigMap %s/%s key %s (the application reads it; pods are not restarted)", c.Namespace, c.ConfigMap, c.Key)
			} else {
				rw.add("no connectionPool on target %s: planned and exported only", t.Name)
			}
			rw = append(rw, modeReason(t.HPA.Mode)...)
			plan.Resources = append(plan.Resources, Resource{Target: t.Name, Kind: KindConnectionPool, Name: name,
				Field: FieldPoolSize, Current: cur, Desired: size, Reasons: rw, Apply: apply})
		}
	}
}

// planReplicas plans each database's read replica count: the owner's
// count, or more while an event step asks for them (created at once, ahead
// of the peak); back down only after the database's hysteresis, inside a
// change window and outside market hours. The actuator removes only
// replicas prescale created.
func (e *Engine) planReplicas(at time.Time, tps []*targetPlan, in Inputs, next *State, plan *Plan) {
	for i := range e.policy.Spec.Databases {
		d := &e.policy.Spec.Databases[i]
		rr := d.ReadReplicas
		if rr == nil {
			continue
		}
		var names []string
		var why reasons
		want := rr.Count
		wantWhy := fmt.Sprintf("owner's %d read replicas", rr.Count)
		asked := false // a rule asks for more than the owner's
		for _, tp := range tps {
			if tp.t.Database != d.Name {
				continue
			}
			names = append(names, tp.t.Name)
			if w, ok := tp.replicaWant[d.Name]; ok && w.count > want {
				want, wantWhy, asked = w.count, w.why, true
			}
		}
		if len(names) == 0 {
			continue
		}
		if want > rr.Max {
			why.add("limit: readReplicas.max %d", rr.Max)
			want = rr.Max
		}
		why.add("%s", wantWhy)
		cur, ok := in.Current.ReadReplicas[d.Name]
		if !ok {
			cur = rr.Count
		}
		key := "replicas/" + d.Name
		st := next.Tiers[key]
		if want >= cur {
			st.NeededAt = at
		}
		desired := cur
		switch {
		case want > cur && !asked:
			// The owner's replicas are theirs to run: prescale creates
			// replicas only for a rule, never to make up the owner's count.
			why.add("%d live, below the owner's %d: prescale creates read replicas only when a rule asks", cur, want)
		case want > cur:
			desired = want
			why.add("%d → %d: created now, ahead of the need", cur, want)
		case want < cur:
			if st.NeededAt.IsZero() {
				st.NeededAt = at
			}
			if quiet := at.Sub(st.NeededAt); quiet < d.Hysteresis.D() {
				why.add("hysteresis: %d replicas last needed %s; removed only after %s quiet", cur,
					st.NeededAt.UTC().Format(time.RFC3339), d.Hysteresis)
				break
			}
			desired = want
			if c := e.calendars[d.Calendar]; c != nil && c.Trading != nil {
				if day := c.Trading.DayAt(at); day.Session(at) != calendar.Closed {
					why.add("%s %s session open: no replica removed during market hours", c.Trading.Name, day.Session(at))
					desired = cur
				}
			}
			if desired != cur && len(d.ChangeWindows) > 0 {
				if open, nextOpen := inWindow(d.ChangeWindows, at); !open {
					why.add("quiet for %s; waiting for a change window (next opens %s)", d.Hysteresis, nextOpen.In(e.policy.Location).Format("2006-01-02 15:04 MST"))
					desired = cur
				} else {
					why.add("quiet for %s, inside a change window: %d → %d (only replicas prescale created are removed)", d.Hysteresis, cur, want)
				}
			}
		}
		if *d.DryRun {
			why.add("dry-run: planned only, never applied")
		}
		if desired > cur {
			why.add("created as %s-prescale-N, tagged as prescale's", d.Identifier)
		}
		st.Replicas = desired
		next.Tiers[key] = st
		plan.Resources = append(plan.Resources, Resource{Target: strings.Join(names, ","), Kind: KindDatabase, Name: d.Name,
			Field: FieldReadReplicas, Current: cur, Desired: desired, Reasons: why,
			Apply: !*d.DryRun && desired != cur && allUsersActive(tps, KindDatabase, d.Name)})
	}
}

// snapshotFirst says whether a class change of d takes a manual snapshot
// first, with the reason.
func snapshotFirst(d *config.Database, kind string) (bool, string) {
	if kind != KindDatabase || !d.SnapshotBeforeChange {
		return false, ""
	}
	return true, fmt.Sprintf("a manual snapshot of %s first (snapshotBeforeChange); the class change waits until it is available", d.Identifier)
}
