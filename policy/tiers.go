package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy/calendar"
)

// planTiers plans each database's and cache's class: the smallest tier of
// the ladder that holds the forecast load and connections over its lead
// time, or a rule's tier, moved one rung at a time, only inside a change
// window (unless a rule allows otherwise), never down before the
// hysteresis period, and never below the owner's class.
func (e *Engine) planTiers(at time.Time, tps []*targetPlan, in Inputs, next *State, plan *Plan) {
	for i := range e.policy.Spec.Databases {
		e.planTier(at, &e.policy.Spec.Databases[i], KindDatabase, FieldInstanceClass, tps, in, in.Current.Databases, next, plan)
	}
	for i := range e.policy.Spec.Caches {
		e.planTier(at, &e.policy.Spec.Caches[i], KindCache, FieldNodeType, tps, in, in.Current.Caches, next, plan)
	}
}

func (e *Engine) planTier(at time.Time, d *config.Database, kind, field string, tps []*targetPlan, in Inputs,
	live map[string]string, next *State, plan *Plan) {
	var names []string
	var why reasons
	load, conns := 0.0, 0.0
	haveLoad, haveConns := false, false
	want := tierWant{index: d.Tier(d.Current)}
	from, to := at.Add(d.LeadTime.D()), time.Time{}
	for _, tp := range tps {
		ref := tp.t.Database
		wants := tp.dbWant
		if kind == KindCache {
			ref, wants = tp.t.Cache, tp.cacheWant
		}
		if ref != d.Name {
			continue
		}
		names = append(names, tp.t.Name)
		to = from.Add(tp.t.Capacity.Window.D())
		q := tp.t.Capacity.Quantile
		if v, level, ok := windowValue(in.Forecasts[tp.t.Name]["demand"], q, from, to); ok {
			l := v * d.LoadPerDemand
			// A falling cache hit ratio sends more reads to the database.
			if kind == KindDatabase && tp.t.Signals.CacheHitRatio != nil {
				base := tp.t.Signals.CacheHitRatio.Baseline
				if h, ok := in.Observed[tp.t.Name]["cacheHitRatio"]; ok && h < base && h >= 0 {
					up := (1 - h) / (1 - base)
					why.add("%s: cache hit ratio %.3g below baseline %.3g: database load × %.3g", tp.t.Name, h, base, up)
					l *= up
				}
			}
			load += l
			haveLoad = true
			why.add("%s: forecast %s demand %.4g over [now+%s, +%s] × %g → load %.4g", tp.t.Name, level, v,
				d.LeadTime, tp.t.Capacity.Window, d.LoadPerDemand, l)
		}
		if kind == KindDatabase {
			if v, level, ok := windowValue(in.Forecasts[tp.t.Name]["dbConnections"], q, from, to); ok {
				conns += v
				haveConns = true
				why.add("%s: forecast %s connections %.4g", tp.t.Name, level, v)
			}
		}
		if w, ok := wants[d.Name]; ok && w.index > want.index {
			want = w
		}
	}
	if len(names) == 0 {
		return
	}
	base := d.Tier(d.Current)
	cur := d.Tier(currentClass(d, live))
	need := base
	if haveLoad || haveConns {
		need = -1
		for i, t := range d.Tiers {
			okLoad := !haveLoad || t.Capacity == 0 || load <= t.Capacity
			okConn := !haveConns || t.MaxConnections == 0 || conns <= d.ConnectionFraction*float64(t.MaxConnections)
			if okLoad && okConn {
				need = i
				break
			}
		}
		if need < 0 {
			need = len(d.Tiers) - 1
			w := fmt.Sprintf("%s %s: forecast load %.4g / connections %.4g exceed the top tier %s", kind, d.Name, load, conns, d.Tiers[need].Class)
			plan.Warnings = append(plan.Warnings, w)
			why.add("WARNING: %s", w)
		} else if need > base {
			t := d.Tiers[need]
			var fits []string
			if t.Capacity > 0 {
				fits = append(fits, fmt.Sprintf("capacity %g", t.Capacity))
			}
			if t.MaxConnections > 0 {
				fits = append(fits, fmt.Sprintf("max connections %d × %g", t.MaxConnections, d.ConnectionFraction))
			}
			if len(fits) > 0 {
				why.add("forecast needs %s (%s)", t.Class, strings.Join(fits, ", "))
			} else {
				why.add("forecast needs %s", t.Class)
			}
		}
	}
	switch {
	case !haveLoad && !haveConns:
		why.add("no usable demand forecast: the owner's class %s and the rules only", d.Current)
	case need <= base:
		why.add("the forecast fits the owner's class %s", d.Current)
	}
	target := max(need, base)
	outside := false
	if want.why != "" && want.index >= target {
		target = want.index
		outside = want.outside
		why.add("%s", want.why)
	}

	key := kind + "/" + d.Name
	st := next.Tiers[key]
	if target >= cur {
		st.NeededAt = at
	}
	desired := cur
	switch {
	case target > cur:
		desired = cur + 1
		if target > cur+1 {
			why.add("one rung at a time: %s now, %s next", d.Tiers[cur].Class, d.Tiers[desired].Class)
		}
	case target < cur:
		if st.NeededAt.IsZero() {
			// No memory of when the tier was last needed (a fresh start):
			// the quiet period starts now.
			st.NeededAt = at
		}
		if quiet := at.Sub(st.NeededAt); quiet < d.Hysteresis.D() {
			why.add("hysteresis: %s last needed %s; one rung down only after %s quiet", d.Tiers[cur].Class,
				st.NeededAt.UTC().Format(time.RFC3339), d.Hysteresis)
		} else {
			desired = cur - 1
			why.add("quiet for %s: one rung down to %s", d.Hysteresis, d.Tiers[desired].Class)
		}
	}
	if c := e.calendars[d.Calendar]; desired != cur && !outside && c != nil && c.Trading != nil {
		if day := c.Trading.DayAt(at); day.Session(at) != calendar.Closed {
			why.add("%s %s session open: no class change during market hours (waiting for %s)", c.Trading.Name,
				day.Session(at), day.PostMarket.In(c.Trading.Location).Format("15:04 MST"))
			desired = cur
		}
	}
	if desired != cur && len(d.ChangeWindows) > 0 && !outside {
		if open, nextOpen := inWindow(d.ChangeWindows, at); !open {
			why.add("waiting for a change window (next opens %s)", nextOpen.In(e.policy.Location).Format("2006-01-02 15:04 MST"))
			if target > cur && !want.event.IsZero() && want.index == target && nextOpen.After(want.event) {
				w := fmt.Sprintf("%s %s: the next change window opens %s, after the event it is for starts (%s): %s arrives late; add a window before the event or allow the step outside windows",
					kind, d.Name, nextOpen.In(e.policy.Location).Format("2006-01-02 15:04 MST"), want.event.In(e.policy.Location).Format("2006-01-02 15:04 MST"), d.Tiers[target].Class)
				plan.Warnings = append(plan.Warnings, "WARNING: "+w)
				why.add("WARNING: %s", w)
			}
			desired = cur
		} else {
			why.add("inside a change window")
		}
	} else if desired != cur && outside {
		why.add("rule allows the change outside the change windows")
	}
	if len(why) == 0 {
		why.add("owner's class %s", d.Current)
	}
	if *d.DryRun {
		why.add("dry-run: planned only, never applied")
	}
	snap := false
	if desired != cur {
		var w string
		if snap, w = snapshotFirst(d, kind); snap {
			why.add("%s", w)
		}
	}
	st.Class = d.Tiers[desired].Class
	next.Tiers[key] = st
	plan.Resources = append(plan.Resources, Resource{Target: strings.Join(names, ","), Kind: kind, Name: d.Name, Field: field,
		Current: d.Tiers[cur].Class, Desired: d.Tiers[desired].Class, Reasons: why, Snapshot: snap,
		Apply: !*d.DryRun && desired != cur && allUsersActive(tps, kind, d.Name)})
}

// inWindow reports whether at lies in one of the windows, and otherwise
// when the next one opens.
func inWindow(ws []config.Window, at time.Time) (bool, time.Time) {
	var nextOpen time.Time
	for _, w := range ws {
		if w.Parsed == nil {
			continue
		}
		if f := w.Parsed.Next(at.Add(-w.Duration.D())); !f.IsZero() && !f.After(at) {
			return true, time.Time{}
		}
		if n := w.Parsed.Next(at); nextOpen.IsZero() || n.Before(nextOpen) {
			nextOpen = n
		}
	}
	return false, nextOpen
}

// allUsersActive reports whether every target using the database or cache
// is in mode active: a shadow target's forecast must not move a real tier.
func allUsersActive(tps []*targetPlan, kind, name string) bool {
	for _, tp := range tps {
		ref := tp.t.Database
		if kind == KindCache {
			ref = tp.t.Cache
		}
		if ref == name && !tp.active {
			return false
		}
	}
	return true
}
