package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prescale/prescale/policy/calendar"
)

// Sessions a schedule rule may follow.
var sessionNames = []string{"pre-market", "regular", "post-market"}

func (v *validator) rule(path string, r *Rule, targets map[string]*Target, calendars map[string]*Calendar,
	dbs, caches map[string]*Database, loc *time.Location) {
	for i, t := range r.Targets {
		if targets[t] == nil {
			v.errf(fmt.Sprintf("%s.targets[%d]", path, i), "unknown target %q", t)
		}
	}
	applies := r.Targets
	if len(applies) == 0 {
		for n := range targets {
			applies = append(applies, n)
		}
	}
	kinds := 0
	for _, set := range []bool{r.Schedule != nil, r.Event != nil, r.Volatility != nil, r.ConnectionBudget != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		v.errf(path, "set exactly one of schedule, event, volatility, connectionBudget (got %d)", kinds)
		return
	}
	tradingCal := func(p, name string, required bool) {
		if name == "" {
			if required {
				v.errf(p, "required: the trading calendar")
			}
			return
		}
		if calendars[name] == nil {
			v.errf(p, "unknown calendar %q", name)
		}
	}
	switch {
	case r.Schedule != nil:
		s := r.Schedule
		sp := path + ".schedule"
		l := v.zone(sp+".timeZone", s.TimeZone, loc)
		if (s.Cron == "") == (len(s.Sessions) == 0) {
			v.errf(sp, "set exactly one of cron (with duration) and sessions")
		}
		if s.Cron != "" {
			if c, err := calendar.ParseCron(s.Cron, l); err != nil {
				v.errf(sp+".cron", "%v", err)
			} else {
				s.Parsed = c
			}
			if s.Duration <= 0 {
				v.errf(sp+".duration", "required and positive with cron")
			}
		}
		for i, n := range s.Sessions {
			if !oneOf(n, sessionNames) {
				v.errf(fmt.Sprintf("%s.sessions[%d]", sp, i), "must be one of %s, got %q", strings.Join(sessionNames, ", "), n)
			}
		}
		tradingCal(sp+".calendar", s.Calendar, len(s.Sessions) > 0 || s.TradingDaysOnly)
		if s.MinReplicas == 0 && s.Multiplier == 0 && s.MaxReplicas == 0 {
			v.errf(sp, "set at least one of minReplicas, multiplier, maxReplicas")
		}
		v.replicas(sp+".minReplicas", s.MinReplicas)
		v.replicas(sp+".maxReplicas", s.MaxReplicas)
		if s.Multiplier > 100 {
			v.errf(sp+".multiplier", "must be at most 100, got %g", s.Multiplier)
		}
		if s.MinReplicas < 0 || s.MaxReplicas < 0 || s.Multiplier < 0 {
			v.errf(sp, "minReplicas, multiplier and maxReplicas must not be negative")
		}
		if s.MinReplicas > 0 && s.MaxReplicas > 0 && s.MinReplicas > s.MaxReplicas {
			v.errf(sp+".minReplicas", "floor %d is above the rule's maxReplicas %d", s.MinReplicas, s.MaxReplicas)
		}
		v.positive(sp+".ramp", s.Ramp)
		v.positive(sp+".rampDown", s.RampDown)
		if s.RampDown > 0 && s.MinReplicas == 0 {
			v.errf(sp+".rampDown", "a ramp down needs minReplicas to ramp down from")
		}
		if s.Ramp > 0 && s.MinReplicas == 0 {
			v.errf(sp+".ramp", "a ramp needs minReplicas to ramp to")
		}
	case r.Event != nil:
		e := r.Event
		ep := path + ".event"
		c := calendars[e.Calendar]
		if e.Calendar == "" {
			v.errf(ep+".calendar", "required")
		} else if c == nil {
			v.errf(ep+".calendar", "unknown calendar %q", e.Calendar)
		} else if c.EventSet != nil && !c.EventSet.Has(e.Event) {
			v.errf(ep+".event", "calendar %q has no event %q", e.Calendar, e.Event)
		}
		if len(e.Steps) == 0 {
			v.errf(ep+".steps", "at least one step is required")
		} else if last := e.Steps[len(e.Steps)-1]; !last.Reset && c != nil && c.EventSet != nil {
			// Without a reset the effects end with the event, so a step
			// at or after its end would never apply.
			for _, ev := range c.EventSet.Events {
				if ev.Name == e.Event && last.At.D() >= ev.Duration {
					v.errf(fmt.Sprintf("%s.steps[%d].at", ep, len(e.Steps)-1),
						"step at %s is not before the end of event %q (duration %s): end the plan with a reset step", last.At, e.Event, FormatDuration(ev.Duration))
				}
			}
		}
		for i, st := range e.Steps {
			stp := fmt.Sprintf("%s.steps[%d]", ep, i)
			if i > 0 && st.At < e.Steps[i-1].At {
				v.errf(stp+".at", "steps must be in time order (%s before %s)", st.At, e.Steps[i-1].At)
			}
			v.replicas(stp+".minReplicas", st.MinReplicas)
			v.replicas(stp+".maxReplicas", st.MaxReplicas)
			if st.MinReplicas < 0 || st.MaxReplicas < 0 || st.MinReplicasPercent < -100 || st.MaxReplicasPercent < -100 || st.NodesPercent < -100 {
				v.errf(stp, "replica and percentage changes must not go below zero")
			}
			if st.MinReplicas > 0 && st.MaxReplicas > 0 && st.MinReplicas > st.MaxReplicas {
				v.errf(stp+".minReplicas", "floor %d is above the step's maxReplicas %d", st.MinReplicas, st.MaxReplicas)
			}
			v.stepTier(stp, "database", st.DatabaseClass, st.DatabaseTiersUp, applies, targets, dbs, func(t *Target) string { return t.Database })
			v.stepTier(stp, "cache", st.CacheClass, st.CacheTiersUp, applies, targets, caches, func(t *Target) string { return t.Cache })
			v.stepRunbook(stp, st, applies, targets, dbs)
		}
	case r.Volatility != nil:
		vr := r.Volatility
		vp := path + ".volatility"
		if vr.Signal == "" {
			v.errf(vp+".signal", "required: an extra signal of the rule's targets")
		}
		for _, tn := range applies {
			t := targets[tn]
			if t == nil || vr.Signal == "" {
				continue
			}
			found := false
			for _, e := range t.Signals.Extra {
				found = found || e.Name == vr.Signal
			}
			if !found {
				v.errf(vp+".signal", "target %q has no extra signal %q", tn, vr.Signal)
			}
		}
		if vr.Below == 0 {
			vr.Below = vr.Above
		}
		if vr.Below > vr.Above {
			v.errf(vp+".below", "must not exceed above (%g > %g): below is where the rule switches off", vr.Below, vr.Above)
		}
		if vr.MinReplicas == 0 && vr.MaxReplicas == 0 && vr.Multiplier == 0 && vr.TargetUtilization == 0 {
			v.errf(vp, "set at least one of minReplicas, maxReplicas, multiplier, targetUtilization")
		}
		v.replicas(vp+".minReplicas", vr.MinReplicas)
		v.replicas(vp+".maxReplicas", vr.MaxReplicas)
		if vr.MinReplicas > 0 && vr.MaxReplicas > 0 && vr.MinReplicas > vr.MaxReplicas {
			v.errf(vp+".minReplicas", "floor %d is above the rule's maxReplicas %d", vr.MinReplicas, vr.MaxReplicas)
		}
		if vr.TargetUtilization != 0 {
			v.fraction(vp+".targetUtilization", vr.TargetUtilization, true, false)
		}
	case r.ConnectionBudget != nil:
		b := r.ConnectionBudget
		bp := path + ".connectionBudget"
		db := dbs[b.Database]
		if db == nil {
			v.errf(bp+".database", "unknown database %q", b.Database)
		}
		if b.PoolSize <= 0 {
			v.errf(bp+".poolSize", "required and at least 1: connections per pod, got %d", b.PoolSize)
		}
		if b.Fraction == 0 && db != nil {
			b.Fraction = db.ConnectionFraction
		}
		v.fraction(bp+".fraction", b.Fraction, true, false)
		if b.Action == "" {
			b.Action = DefaultBudgetAction
		}
		if !oneOf(b.Action, BudgetActions) {
			v.errf(bp+".action", "must be one of %s, got %q", strings.Join(BudgetActions, ", "), b.Action)
		}
		if b.MinPoolSize == 0 {
			b.MinPoolSize = 1
		}
		if b.MinPoolSize < 1 {
			v.errf(bp+".minPoolSize", "a pool needs at least 1 connection per pod, got %d", b.MinPoolSize)
		} else if b.PoolSize > 0 && b.MinPoolSize > b.PoolSize {
			v.errf(bp+".minPoolSize", "%d is above poolSize %d", b.MinPoolSize, b.PoolSize)
		}
		if db != nil {
			for _, tn := range applies {
				if t := targets[tn]; t != nil && t.Database != b.Database && len(r.Targets) > 0 {
					v.errf(bp+".database", "target %q uses database %q, not %q", tn, t.Database, b.Database)
				}
			}
			for i, t := range db.Tiers {
				if t.MaxConnections == 0 {
					v.errf(fmt.Sprintf("%s.tiers[%d].maxConnections", strings.TrimSuffix(v.dbPath(b.Database), "."), i),
						"required by connection budget rule %q", r.Name)
				}
			}
		}
	}
}

// dbPath finds the path of a database by name, for problems about it.
func (v *validator) dbPath(name string) string {
	for i, d := range v.p.Spec.Databases {
		if d.Name == name {
			return fmt.Sprintf("spec.databases[%d]", i)
		}
	}
	return "spec.databases"
}

// stepTier checks an event step's tier change against the ladders of the
// rule's targets' databases or caches.
func (v *validator) stepTier(path, kind, class string, up int, applies []string, targets map[string]*Target,
	ladders map[string]*Database, ref func(*Target) string) {
	if class == "" && up == 0 {
		return
	}
	if class != "" && up != 0 {
		v.errf(path, "set %sClass or %sTiersUp, not both", kind, kind)
	}
	n := 0
	for _, tn := range applies {
		t := targets[tn]
		if t == nil || ref(t) == "" {
			continue
		}
		n++
		d := ladders[ref(t)]
		if d == nil {
			continue
		}
		if class != "" && d.Tier(class) < 0 {
			v.errf(path+"."+kind+"Class", "class %q is not in the tier ladder of %s %q", class, kind, d.Name)
		}
	}
	if n == 0 {
		v.errf(path, "changes a %s tier but none of the rule's targets has a %s", kind, kind)
	}
}
