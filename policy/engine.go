package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prescale/prescale/config"
)

// Engine plans for one validated policy. It holds no mutable state: the
// memory between ticks is the State passed to and returned by Plan, so one
// Engine may serve many simulations at once.
type Engine struct {
	policy    *config.Policy
	calendars map[string]*config.Calendar
	databases map[string]*config.Database
	caches    map[string]*config.Database
}

// NewEngine returns the engine of a policy that passed validation (as
// returned by config.Load or config.Parse without problems).
func NewEngine(p *config.Policy) *Engine {
	e := &Engine{policy: p, calendars: map[string]*config.Calendar{},
		databases: map[string]*config.Database{}, caches: map[string]*config.Database{}}
	for i := range p.Spec.Calendars {
		e.calendars[p.Spec.Calendars[i].Name] = &p.Spec.Calendars[i]
	}
	for i := range p.Spec.Databases {
		e.databases[p.Spec.Databases[i].Name] = &p.Spec.Databases[i]
	}
	for i := range p.Spec.Caches {
		e.caches[p.Spec.Caches[i].Name] = &p.Spec.Caches[i]
	}
	return e
}

// Policy returns the engine's policy.
func (e *Engine) Policy() *config.Policy { return e.policy }

// targetPlan is one target's plan in the making.
type targetPlan struct {
	t *config.Target
	// active: the plan is applied (mode active, or shadow and promoted).
	active            bool
	promoted          string
	floor, ceiling    int
	current           HPAStatus
	floorWhy, ceilWhy reasons
	// util is the utilisation planned for; utilRule says whether a
	// volatility rule may change it (then the HPA's CPU target is planned).
	util     float64
	utilRule bool
	utilWhy  reasons
	nodesPct float64
	nodesWhy []string
	// ceilHard marks a ceiling capped by a connection budget: it applies
	// at once, not along the scale-down rate.
	ceilHard bool
	// tier wants from event and budget rules: database/cache name → index.
	dbWant, cacheWant map[string]tierWant
	// replicaWant: read replicas event rules ask of a database, by name.
	replicaWant map[string]replicaWant
	// pool is the connection pool size planned per pod (0: none).
	pool    int
	poolWhy reasons
}

type tierWant struct {
	index   int
	outside bool // may change outside the change windows
	why     string
	// event is the start of the event occurrence that wants the tier
	// (zero for a forecast or a budget).
	event time.Time
}

// Plan computes the plan at instant at from the previous state and the
// inputs, and returns it with the next state. It is pure and deterministic.
func (e *Engine) Plan(at time.Time, prev State, in Inputs) (Plan, State) {
	next := prev.clone()
	plan := Plan{At: at}
	var tps []*targetPlan
	for i := range e.policy.Spec.Targets {
		tp := e.planTarget(at, &e.policy.Spec.Targets[i], &next, in, &plan)
		tps = append(tps, tp)
	}
	e.applyBudgets(tps, in, &plan)
	for _, tp := range tps {
		e.applyLimits(at, tp, &next)
	}
	// Pools first: a smaller pool is in place before the pods it is sized
	// for scale up.
	e.planPools(tps, in, &plan)
	for _, tp := range tps {
		name := tp.t.HPA.Namespace + "/" + tp.t.HPA.Object()
		mode := modeReason(tp.t.HPA.Mode)
		if so := tp.t.HPA.ScaledObject; so != "" {
			mode = append([]string{fmt.Sprintf("KEDA ScaledObject %s owns the HPA: minReplicas is its spec.minReplicaCount, maxReplicas its spec.maxReplicaCount", name)}, mode...)
		}
		if tp.promoted != "" {
			mode = []string{"mode shadow, promoted: " + tp.promoted}
		}
		plan.Resources = append(plan.Resources,
			Resource{Target: tp.t.Name, Kind: KindHPA, Name: name, Field: FieldMinReplicas,
				Current: tp.current.MinReplicas, Desired: tp.floor, Reasons: append(tp.floorWhy, mode...),
				Apply: tp.active && tp.current.MinReplicas != tp.floor},
			Resource{Target: tp.t.Name, Kind: KindHPA, Name: name, Field: FieldMaxReplicas,
				Current: tp.current.MaxReplicas, Desired: tp.ceiling, Reasons: append(tp.ceilWhy, mode...),
				Apply: tp.active && tp.current.MaxReplicas != tp.ceiling})
		if tp.utilRule && tp.t.HPA.ScaledObject == "" { // a ScaledObject's CPU target is one of its triggers
			normal := int(math.Round(tp.t.Capacity.TargetUtilization * 100))
			cur := tp.current.TargetCPUPercent
			if cur == 0 {
				cur = normal
			}
			desired := int(math.Round(tp.util * 100))
			why := tp.utilWhy
			if len(why) == 0 {
				why = reasons{fmt.Sprintf("no volatility rule active: capacity.targetUtilization %d%%", normal)}
			}
			plan.Resources = append(plan.Resources, Resource{Target: tp.t.Name, Kind: KindHPA, Name: name, Field: FieldTargetCPU,
				Current: cur, Desired: desired, Reasons: append(why, mode...),
				Apply: tp.active && cur != desired})
		}
	}
	e.planNodeGroups(tps, in, &plan)
	e.planTiers(at, tps, in, &next, &plan)
	e.planReplicas(at, tps, in, &next, &plan)
	return plan, next
}

func modeReason(mode string) []string {
	switch mode {
	case "observe":
		return []string{"mode observe: forecast and export only, not applied"}
	case "shadow":
		return []string{"mode shadow: recorded, not applied"}
	}
	return nil
}

// planTarget runs the capacity model and the rules for one target.
func (e *Engine) planTarget(at time.Time, t *config.Target, next *State, in Inputs, plan *Plan) *targetPlan {
	tp := &targetPlan{t: t, dbWant: map[string]tierWant{}, cacheWant: map[string]tierWant{}, replicaWant: map[string]replicaWant{}}
	tp.active = t.HPA.Mode == "active"
	if why := in.Promoted[t.Name]; why != "" && t.HPA.Mode == "shadow" && t.HPA.Promote != nil {
		tp.active, tp.promoted = true, why
	}
	tp.current = in.Current.HPAs[t.Name]
	if tp.current.MinReplicas == 0 {
		tp.current.MinReplicas = t.HPA.MinReplicas
	}
	if tp.current.MaxReplicas == 0 {
		tp.current.MaxReplicas = t.HPA.MaxReplicas
	}
	st := next.Targets[t.Name]
	observed := in.Observed[t.Name]

	// Volatility first: above its threshold it may lower the target
	// utilisation the capacity model plans for.
	util := t.Capacity.TargetUtilization
	type volEffect struct {
		rule *config.Rule
		v    float64
	}
	var vols []volEffect
	for i := range e.policy.Spec.Rules {
		r := &e.policy.Spec.Rules[i]
		if r.Volatility == nil || !applies(r, t.Name) {
			continue
		}
		key := r.Name + "/" + t.Name
		v, ok := observed[r.Volatility.Signal]
		ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
		active := volatility(r.Volatility, v, ok, next.Volatility[key])
		next.Volatility[key] = active
		if r.Volatility.TargetUtilization > 0 {
			tp.utilRule = true
		}
		if active {
			vols = append(vols, volEffect{r, v})
			if u := r.Volatility.TargetUtilization; u > 0 && u < util {
				util = u
				tp.utilWhy.add("rule %s (%s %.4g above %g; off below %g): CPU target %g%%", r.Name, r.Volatility.Signal, v, r.Volatility.Above, r.Volatility.Below, u*100)
			}
		}
	}

	// An event step may plan the CPU target too (economic data: the
	// volatility runbook's values at a known time).
	if u, why, planned := e.eventUtilization(at, t.Name); planned {
		tp.utilRule = true
		if u > 0 && u < util {
			util = u
			tp.utilWhy.add("%s", why)
		}
	}
	tp.util = util
	// 1. Capacity model.
	perPod := t.Capacity.PerPod
	var capWhy string
	if l := t.Signals.LatencyP95; l != nil {
		p95, okP := observed["latencyP95"]
		demand, okD := observed["demand"]
		ready := tp.current.Replicas
		if okP && okD && ready > 0 && p95 > l.Objective.D().Seconds() && demand > 0 {
			perPodNow := demand / float64(ready)
			learned := perPodNow * (l.Objective.D().Seconds() / p95) / util
			bounded := math.Max(learned, perPod*l.MinCapacityFraction)
			if bounded < perPod {
				capWhy = fmt.Sprintf("per-pod capacity %.4g → %.4g learned: p95 %s above objective %s at %.4g per pod",
					perPod, bounded, secs(p95), l.Objective, perPodNow)
				if bounded > learned {
					capWhy += fmt.Sprintf(" (bounded at %g%% of configured)", l.MinCapacityFraction*100)
				}
				perPod = bounded
			}
		}
	}
	lead, window := t.Capacity.LeadTime.D(), t.Capacity.Window.D()
	var f = in.Forecasts[t.Name]["demand"]
	q, opWhy := operatingQuantile(t, in.OperatingPoint, in.OperatingWhy)
	demand, level, ok := windowValue(f, q, at.Add(lead), at.Add(lead+window))
	floor := 0
	sized := func(d float64) int { return int(math.Ceil(d*(1+t.Capacity.Headroom)/(perPod*util) - 1e-9)) }
	switch {
	case ok:
		floor = sized(demand)
		tp.floorWhy.add("forecast %s demand %.4g over [now+%s, now+%s] (model %s)", level, demand, config.FormatDuration(lead), config.FormatDuration(lead+window), f.Model)
		if opWhy != "" {
			tp.floorWhy.add("%s", opWhy)
		}
		if capWhy != "" {
			tp.floorWhy.add("%s", capWhy)
		}
		how := fmt.Sprintf("ceil(%.4g", demand)
		if t.Capacity.Headroom > 0 {
			how += fmt.Sprintf(" × %g headroom", 1+t.Capacity.Headroom)
		}
		tp.floorWhy.add("capacity model: %s / (%.4g per pod × %g utilisation)) = %d", how, perPod, util, floor)
		st.LastForecast, st.ForecastFloor = at, floor
		st.LevelFloors = levelFloors(f, t.Capacity.Levels(), at.Add(lead), at.Add(lead+window), sized)
	case !st.LastForecast.IsZero() && at.Sub(st.LastForecast) <= MissingDataGrace:
		floor = st.ForecastFloor
		tp.floorWhy.add("no usable demand forecast: holding %d from the forecast of %s (grace %s)", floor, st.LastForecast.UTC().Format(time.RFC3339), MissingDataGrace)
	default:
		why := "no usable demand forecast"
		if f != nil {
			why = "demand forecast discarded (does not cover the window, or NaN/Inf/absurd values)"
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("target %s: %s", t.Name, why))
		}
		tp.floorWhy.add("%s: schedule rules and the owner's minReplicas only", why)
	}
	next.Targets[t.Name] = st
	why, down := in.StoodDown[t.Name]
	if down && floor > 0 {
		tp.floorWhy.add("forecast floor %d stood down, it does not pay: %s", floor, why)
		floor = 0
	}
	if t.HPA.MaxTargetUtilization > 0 && t.HPA.ScaledObject == "" {
		u, why := leverTarget(t, f, at, demand, ok, down, tp.util)
		tp.utilRule = true
		if u != tp.util {
			tp.util = u
			tp.utilWhy.add("%s", why)
		} else if len(tp.utilWhy) == 0 {
			tp.utilWhy.add("%s", why)
		}
	}
	tp.floor = floor
	tp.ceiling = t.HPA.MaxReplicas
	tp.ceilWhy.add("owner's maxReplicas %d", t.HPA.MaxReplicas)

	// 2. Rules, in the policy's order within each kind: schedules, events,
	// volatility (connection budgets come after all targets are planned).
	var ceilings []int
	var ceilingWhy []string
	proposeCeiling := func(v int, why string) {
		ceilings = append(ceilings, v)
		ceilingWhy = append(ceilingWhy, why)
	}
	for i := range e.policy.Spec.Rules {
		r := &e.policy.Spec.Rules[i]
		if r.Schedule == nil || !applies(r, t.Name) {
			continue
		}
		s := r.Schedule
		w := e.scheduleWindow(s, at)
		switch {
		case w.Active:
			if s.Multiplier > 0 {
				tp.floor = int(math.Ceil(float64(tp.floor) * s.Multiplier))
				tp.floorWhy.add("rule %s (%s): × %g → %d", r.Name, w.What, s.Multiplier, tp.floor)
			}
			if s.MinReplicas > tp.floor {
				tp.floor = s.MinReplicas
				tp.floorWhy.add("rule %s (%s): floor %d", r.Name, w.What, s.MinReplicas)
			}
			if s.MaxReplicas > 0 {
				proposeCeiling(s.MaxReplicas, fmt.Sprintf("rule %s (%s): maxReplicas %d", r.Name, w.What, s.MaxReplicas))
			}
		case w.RampDown > 0:
			base := max(tp.floor, tp.current.OwnerMinOr(t.HPA.MinReplicas))
			v := base + int(math.Ceil(float64(s.MinReplicas-base)*w.RampDown-1e-9))
			if v > tp.floor {
				tp.floor = v
				tp.floorWhy.add("rule %s: ramp down from %d after %s, %.0f%% of the way: floor %d", r.Name, s.MinReplicas, clock(w.Closed), (1-w.RampDown)*100, v)
			}
		case w.Ramp > 0:
			base := max(tp.floor, tp.current.OwnerMinOr(t.HPA.MinReplicas))
			v := base + int(math.Ceil(float64(s.MinReplicas-base)*w.Ramp-1e-9))
			if v > tp.floor {
				tp.floor = v
				tp.floorWhy.add("rule %s: ramp to %d before %s, %.0f%% of the way: floor %d", r.Name, s.MinReplicas, clock(w.Opens), w.Ramp*100, v)
			}
		}
	}
	for i := range e.policy.Spec.Rules {
		r := &e.policy.Spec.Rules[i]
		if r.Event == nil || !applies(r, t.Name) {
			continue
		}
		ef := e.eventState(r.Event, at)
		if !ef.Active {
			continue
		}
		tag := fmt.Sprintf("rule %s (%s %s, %s)", r.Name, r.Event.Event, ef.Occurrence.Start.In(e.policy.Location).Format("2006-01-02 15:04 MST"), offset(ef.Offset))
		// An absolute floor first, then a percentage on top of the floor so
		// far (never less than the owner's minReplicas).
		if ef.MinReplicas > tp.floor {
			tp.floor = ef.MinReplicas
			tp.floorWhy.add("%s: floor %d", tag, ef.MinReplicas)
		}
		if ef.MinPercent != 0 {
			v := int(math.Ceil(float64(max(tp.floor, tp.current.OwnerMinOr(t.HPA.MinReplicas)))*(1+ef.MinPercent/100) - 1e-9))
			if v > tp.floor {
				tp.floor = v
				tp.floorWhy.add("%s: minReplicas %+g%% → %d", tag, ef.MinPercent, v)
			}
		}
		if ef.MaxReplicas > 0 {
			proposeCeiling(ef.MaxReplicas, fmt.Sprintf("%s: maxReplicas %d", tag, ef.MaxReplicas))
		}
		if ef.MaxPercent != 0 {
			v := int(math.Ceil(float64(t.HPA.MaxReplicas) * (1 + ef.MaxPercent/100)))
			proposeCeiling(v, fmt.Sprintf("%s: maxReplicas %+g%% → %d", tag, ef.MaxPercent, v))
		}
		if ef.NodesPct != 0 {
			tp.nodesPct = max(tp.nodesPct, ef.NodesPct)
			tp.nodesWhy = append(tp.nodesWhy, fmt.Sprintf("%s: nodes %+g%%", tag, ef.NodesPct))
		}
		e.eventTier(t.Database, e.databases, ef.DBUp, ef.DBClass, ef.DBOutside, tag, ef.Occurrence.Start, tp.dbWant)
		e.eventTier(t.Cache, e.caches, ef.CacheUp, ef.CacheClass, ef.CacheOutside, tag, ef.Occurrence.Start, tp.cacheWant)
		if ef.ReadReplicas != nil && t.Database != "" {
			if w, ok := tp.replicaWant[t.Database]; !ok || *ef.ReadReplicas > w.count {
				tp.replicaWant[t.Database] = replicaWant{count: *ef.ReadReplicas, why: fmt.Sprintf("%s: %d read replicas", tag, *ef.ReadReplicas)}
			}
		}
	}
	for _, v := range vols {
		vr := v.rule.Volatility
		tag := fmt.Sprintf("rule %s (%s %.4g above %g; off below %g)", v.rule.Name, vr.Signal, v.v, vr.Above, vr.Below)
		if vr.TargetUtilization > 0 && ok {
			tp.floorWhy.add("%s: target utilisation %g", tag, vr.TargetUtilization)
		}
		if vr.Multiplier > 0 {
			tp.floor = int(math.Ceil(float64(tp.floor) * vr.Multiplier))
			tp.floorWhy.add("%s: × %g → %d", tag, vr.Multiplier, tp.floor)
		}
		if vr.MinReplicas > tp.floor {
			tp.floor = vr.MinReplicas
			tp.floorWhy.add("%s: floor %d", tag, vr.MinReplicas)
		}
		if vr.MaxReplicas > 0 {
			proposeCeiling(vr.MaxReplicas, fmt.Sprintf("%s: maxReplicas %d", tag, vr.MaxReplicas))
		}
	}
	if len(ceilings) > 0 {
		i := slices.Index(ceilings, slices.Max(ceilings))
		tp.ceiling = ceilings[i]
		tp.ceilWhy.add("%s", ceilingWhy[i])
	}
	return tp
}

// OwnerMinOr returns the owner's minReplicas as read from the live HPA, or
// def (the policy's) when unknown.
func (h HPAStatus) OwnerMinOr(def int) int {
	if h.OwnerMinReplicas > 0 {
		return h.OwnerMinReplicas
	}
	return def
}

func applies(r *config.Rule, target string) bool {
	return len(r.Targets) == 0 || slices.Contains(r.Targets, target)
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

// eventTier records an event step's tier change for a database or cache.
func (e *Engine) eventTier(name string, ladders map[string]*config.Database, up int, class string, outside bool,
	tag string, start time.Time, wants map[string]tierWant) {
	d := ladders[name]
	if d == nil || (up == 0 && class == "") {
		return
	}
	idx := d.Tier(d.Current)
	why := ""
	if class != "" {
		idx = d.Tier(class)
		why = fmt.Sprintf("%s: %s", tag, class)
	} else {
		idx = min(idx+up, len(d.Tiers)-1)
		why = fmt.Sprintf("%s: %+d tier from %s → %s", tag, up, d.Current, d.Tiers[idx].Class)
	}
	if w, ok := wants[name]; !ok || idx > w.index {
		wants[name] = tierWant{index: idx, outside: outside, why: why, event: start}
	}
}

// applyBudgets caps the targets of each connection budget rule so that
// their pods × pool size stay under the budget of the database's current
// tier, and asks for the next tier (action cap), or only warns (action warn).
func (e *Engine) applyBudgets(tps []*targetPlan, in Inputs, plan *Plan) {
	for i := range e.policy.Spec.Rules {
		r := &e.policy.Spec.Rules[i]
		b := r.ConnectionBudget
		if b == nil {
			continue
		}
		d := e.databases[b.Database]
		if d == nil {
			continue
		}
		class := currentClass(d, in.Current.Databases)
		tier := d.Tiers[max(d.Tier(class), 0)]
		budget := int(math.Floor(b.Fraction * float64(tier.MaxConnections)))
		// Action pool shrinks the pool first (planPools) and caps only
		// what does not fit even at its smallest pool.
		pool := b.PoolSize
		if b.Action == "pool" {
			pool = b.MinPoolSize
		}
		maxPods := budget / pool
		var members []*targetPlan
		sumCeil, sumFloor := 0, 0
		for _, tp := range tps {
			if applies(r, tp.t.Name) && tp.t.Database == b.Database {
				members = append(members, tp)
				sumCeil += tp.ceiling
				sumFloor += tp.floor
			}
		}
		if len(members) == 0 || sumCeil*pool <= budget {
			continue
		}
		head := fmt.Sprintf("rule %s: %d pods × %d connections = %d > %d (%g × max_connections %d of %s)",
			r.Name, sumCeil, pool, sumCeil*pool, budget, b.Fraction, tier.MaxConnections, class)
		if b.Action == "pool" {
			head += fmt.Sprintf(" even at the smallest pool (minPoolSize %d)", pool)
		}
		next := d.Tier(class) + 1
		if b.Action == "warn" {
			w := "WARNING: " + head + "; not capped (action warn)"
			plan.Warnings = append(plan.Warnings, w)
			for _, tp := range members {
				tp.ceilWhy.add("%s", w)
			}
			continue
		}
		// Share the pods the budget allows in proportion to the ceilings.
		for _, tp := range members {
			share := maxPods * tp.ceiling / sumCeil
			if share < tp.ceiling {
				tp.ceilWhy.add("%s: maxReplicas capped at %d", head, share)
				tp.ceiling = share
				tp.ceilHard = true
			}
			if tp.floor > share {
				tp.floorWhy.add("%s: floor capped at %d", head, share)
				plan.Warnings = append(plan.Warnings, fmt.Sprintf("WARNING: target %s wants a floor of %d but the connection budget of %s allows %d pods", tp.t.Name, tp.floor, d.Name, share))
				tp.floor = share
			}
		}
		if next < len(d.Tiers) {
			why := fmt.Sprintf("rule %s: connection budget exceeded at %s (%d pods × %d > %d): next tier %s",
				r.Name, class, sumCeil, pool, budget, d.Tiers[next].Class)
			if w, ok := members[0].dbWant[d.Name]; !ok || next > w.index {
				members[0].dbWant[d.Name] = tierWant{index: next, why: why}
			}
		} else {
			plan.Warnings = append(plan.Warnings, "WARNING: "+head+"; already at the top of the ladder")
		}
	}
}

func currentClass(d *config.Database, live map[string]string) string {
	if c, ok := live[d.Name]; ok && d.Tier(c) >= 0 {
		return c
	}
	return d.Current
}

// applyLimits bounds a target's floor and ceiling: the owner's
// minReplicas, the ceiling, the max step up, and on the way down the
// stabilisation window, the scale-down rate and the cooldown.
func (e *Engine) applyLimits(at time.Time, tp *targetPlan, next *State) {
	t := tp.t
	h := t.HPA
	st := next.Targets[t.Name]
	ownerMin := tp.current.OwnerMinOr(h.MinReplicas)
	if tp.ceiling < ownerMin {
		tp.ceilWhy.add("limit: raised to the owner's minReplicas %d", ownerMin)
		tp.ceiling = ownerMin
	}
	if tp.floor < ownerMin {
		tp.floor = ownerMin
		tp.floorWhy.add("limit: owner's minReplicas %d", ownerMin)
	}
	if tp.floor > tp.ceiling {
		tp.floorWhy.add("limit: capped at the ceiling maxReplicas %d", tp.ceiling)
		tp.floor = tp.ceiling
	}
	prev := st.Floor
	if prev == 0 {
		prev = tp.current.MinReplicas
	}
	// Stabilisation: the floor is the highest recommendation of the window.
	// Only older recommendations above this one can be the maximum while
	// this one is in the window, so the others are dropped: the list stays
	// short however often the engine ticks. The window is at least the
	// lead time: a recommendation provisions for demand a lead time ahead,
	// and dropping it sooner would shed the pods raised for a peak just
	// as the peak arrives, too late to get them back.
	stabilization := max(h.ScaleDown.Stabilization.D(), t.Capacity.LeadTime.D())
	recent := []Recommendation{{At: at, Floor: tp.floor}}
	for _, r := range st.Recent {
		if at.Sub(r.At) < stabilization && !r.At.After(at) && r.Floor > tp.floor {
			recent = append(recent, r)
		}
	}
	st.Recent = recent
	want := tp.floor
	switch {
	case want > prev:
		if want > prev+h.MaxStepUp {
			want = prev + h.MaxStepUp
			tp.floorWhy.add("limit: max step up %d from %d → %d", h.MaxStepUp, prev, want)
		}
	case want < prev:
		stab := want
		for _, r := range recent {
			stab = max(stab, r.Floor)
		}
		if stab > want {
			if stabilization > h.ScaleDown.Stabilization.D() {
				tp.floorWhy.add("limit: lead time %s holds %d (highest recommendation in the window; scale-down stabilisation %s is shorter)", t.Capacity.LeadTime, min(stab, prev), h.ScaleDown.Stabilization)
			} else {
				tp.floorWhy.add("limit: scale-down stabilisation %s holds %d (highest recommendation in the window)", h.ScaleDown.Stabilization, min(stab, prev))
			}
			want = min(stab, prev)
		}
		if want < prev {
			switch {
			case !st.LastChange.IsZero() && at.Sub(st.LastChange) < h.Cooldown.D():
				tp.floorWhy.add("limit: cooldown %s since the change at %s holds %d", h.Cooldown, st.LastChange.UTC().Format("15:04"), prev)
				want = prev
			case !st.LastDecrease.IsZero() && at.Sub(st.LastDecrease) < h.ScaleDown.Period.D():
				tp.floorWhy.add("limit: scale-down rate (one step per %s) holds %d", h.ScaleDown.Period, prev)
				want = prev
			default:
				step := max(h.ScaleDown.Pods, int(math.Ceil(float64(prev)*h.ScaleDown.Percent/100)))
				if prev-want > step {
					want = prev - step
					tp.floorWhy.add("limit: scale-down rate %s per %s → %d", stepText(h.ScaleDown), h.ScaleDown.Period, want)
				}
			}
		}
	}
	want = max(want, ownerMin)
	if tp.ceilHard && want > tp.ceiling && tp.ceiling >= ownerMin {
		// A connection budget protects the database: it is not eased in.
		tp.floorWhy.add("limit: connection budget caps the floor at %d at once", tp.ceiling)
		want = tp.ceiling
	}
	if want > tp.ceiling {
		tp.ceilWhy.add("limit: kept at the floor %d while the floor comes down", want)
		tp.ceiling = want
	}
	// A lower ceiling makes the HPA scale in at once, so a ceiling that a
	// rule raised comes down along the scale-down rate too, unless a
	// connection budget caps it (protecting the database comes first).
	prevCeil := st.Ceiling
	if prevCeil == 0 {
		prevCeil = tp.current.MaxReplicas
	}
	if tp.ceiling < prevCeil && !tp.ceilHard {
		step := max(h.ScaleDown.Pods, int(math.Ceil(float64(prevCeil)*h.ScaleDown.Percent/100)))
		switch {
		case !st.LastCeilingDecrease.IsZero() && at.Sub(st.LastCeilingDecrease) < h.ScaleDown.Period.D():
			tp.ceilWhy.add("limit: scale-down rate (one step per %s) holds maxReplicas %d", h.ScaleDown.Period, prevCeil)
			tp.ceiling = prevCeil
		case prevCeil-tp.ceiling > step:
			tp.ceiling = prevCeil - step
			tp.ceilWhy.add("limit: scale-down rate %s per %s → maxReplicas %d", stepText(h.ScaleDown), h.ScaleDown.Period, tp.ceiling)
			st.LastCeilingDecrease = at
		default:
			st.LastCeilingDecrease = at
		}
		tp.ceiling = max(tp.ceiling, want)
	}
	if want != st.Floor && st.Floor != 0 {
		st.LastChange = at
		if want < st.Floor {
			st.LastDecrease = at
		}
	}
	tp.floor = want
	st.Floor, st.Ceiling = tp.floor, tp.ceiling
	next.Targets[t.Name] = st
}

func stepText(s config.ScaleDown) string {
	var parts []string
	if s.Pods > 0 {
		parts = append(parts, fmt.Sprintf("%d pods", s.Pods))
	}
	if s.Percent > 0 {
		parts = append(parts, fmt.Sprintf("%g%%", s.Percent))
	}
	return strings.Join(parts, " or ")
}
