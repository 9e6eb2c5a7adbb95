package config

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/prescale/prescale/policy/calendar"
)

// Defaults applied by validation to fields left out (zero). docs/policy.md
// lists them too.
const (
	DefaultTimeZone           = "UTC"
	DefaultSignalStep         = Duration(time.Minute)
	DefaultTargetUtilization  = 0.7
	DefaultQuantile           = 0.9
	DefaultLeadTime           = Duration(5 * time.Minute)
	DefaultWindow             = Duration(15 * time.Minute)
	DefaultMode               = "shadow"
	DefaultMinReplicas        = 1
	DefaultMaxStepUp          = 10
	DefaultScaleDownPods      = 1
	DefaultScaleDownPeriod    = Duration(5 * time.Minute)
	DefaultStabilization      = Duration(10 * time.Minute)
	DefaultCooldown           = Duration(5 * time.Minute)
	DefaultPromoteAfter       = Duration(7 * 24 * time.Hour)
	DefaultPromoteMaxMASE     = 1.0
	DefaultPackingMargin      = 0.1
	DefaultConnectionFraction = 0.8
	DefaultDBLeadTime         = Duration(time.Hour)
	DefaultHysteresis         = Duration(24 * time.Hour)
	DefaultCacheBaseline      = 0.9
	DefaultMinCapacityFrac    = 0.5
	DefaultBudgetAction       = "cap"
)

// Modes a target may run in.
var Modes = []string{"observe", "shadow", "active"}

// ASG capacity modes (spec.nodeGroups[].asg.capacityMode); the first is
// the default.
var CapacityModes = []string{"minSize", "desiredCapacity"}

// Placeholder modes (spec.nodeGroups[].placeholder.mode); the first is
// the default.
var PlaceholderModes = []string{"auto", "deployment", "capacityBuffer"}

// Exchanges with built-in trading calendars.
var Exchanges = []string{"XNYS"}

var promql = parser.NewParser(parser.Options{})

type validator struct {
	p        *Policy
	problems Problems
}

func (v *validator) errf(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.p.File, Pos: v.p.PosOf(path), Field: path, Message: fmt.Sprintf(format, args...)})
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// validate applies defaults, checks every field and resolves the derived
// values (time zones, cron schedules, calendars).
func (p *Policy) validate() Problems {
	v := &validator{p: p}
	if p.APIVersion != APIVersion {
		v.errf("apiVersion", "must be %q, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != Kind {
		v.errf("kind", "must be %q, got %q", Kind, p.Kind)
	}
	if p.Metadata.Name == "" {
		v.errf("metadata.name", "required")
	}
	s := &p.Spec
	if s.TimeZone == "" {
		s.TimeZone = DefaultTimeZone
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		v.errf("spec.timeZone", "unknown IANA time zone %q", s.TimeZone)
		loc = time.UTC
	}
	p.Location = loc

	calendars := map[string]*Calendar{}
	for i := range s.Calendars {
		c := &s.Calendars[i]
		path := fmt.Sprintf("spec.calendars[%d]", i)
		v.name(path, c.Name, calendars)
		calendars[c.Name] = c
		v.calendar(path, c, loc)
	}
	dbs := map[string]*Database{}
	for i := range s.Databases {
		v.database(fmt.Sprintf("spec.databases[%d]", i), &s.Databases[i], "rds", []string{"rds"}, loc, dbs)
	}
	caches := map[string]*Database{}
	for i := range s.Caches {
		v.database(fmt.Sprintf("spec.caches[%d]", i), &s.Caches[i], "elasticache", []string{"elasticache"}, loc, caches)
	}
	for i, d := range s.Databases {
		if d.Calendar != "" && calendars[d.Calendar] == nil {
			v.errf(fmt.Sprintf("spec.databases[%d].calendar", i), "unknown calendar %q", d.Calendar)
		}
	}
	for i, d := range s.Caches {
		if d.Calendar != "" && calendars[d.Calendar] == nil {
			v.errf(fmt.Sprintf("spec.caches[%d].calendar", i), "unknown calendar %q", d.Calendar)
		}
	}
	groups := map[string]*NodeGroup{}
	for i := range s.NodeGroups {
		v.nodeGroup(fmt.Sprintf("spec.nodeGroups[%d]", i), &s.NodeGroups[i], groups)
	}
	if len(s.Targets) == 0 {
		v.errf("spec.targets", "at least one target is required")
	}
	targets := map[string]*Target{}
	hpas := map[string]string{}
	for i := range s.Targets {
		t := &s.Targets[i]
		path := fmt.Sprintf("spec.targets[%d]", i)
		v.name(path, t.Name, targets)
		targets[t.Name] = t
		v.target(path, t)
		if key := t.HPA.Namespace + "/" + t.HPA.Name; t.HPA.Name != "" {
			if other, dup := hpas[key]; dup {
				v.errf(path+".hpa.name", "HPA %s is already managed by target %q", key, other)
			}
			hpas[key] = t.Name
		}
		if g := groups[t.NodeGroup]; g != nil {
			for _, r := range []struct {
				what             string
				req, alloc, over float64
			}{{"cpu", t.Pod.CPU.Value, g.Allocatable.CPU.Value, g.Overhead.CPU.Value},
				{"memory", t.Pod.Memory.Value, g.Allocatable.Memory.Value, g.Overhead.Memory.Value}} {
				if r.req > 0 && r.req > (r.alloc-r.over)*(1-g.PackingMargin) {
					v.errf(path+".pod."+r.what, "a pod's %s request does not fit on a node of group %q (allocatable less overhead and packing margin)", r.what, g.Name)
				}
			}
		}
		if t.NodeGroup != "" && groups[t.NodeGroup] == nil {
			v.errf(path+".nodeGroup", "unknown node group %q", t.NodeGroup)
		}
		if t.NodeGroup != "" && t.Pod.CPU.Value == 0 && t.Pod.Memory.Value == 0 {
			v.errf(path+".pod", "pod requests (cpu or memory) are required to plan node group %q", t.NodeGroup)
		}
		if t.Database != "" && dbs[t.Database] == nil {
			v.errf(path+".database", "unknown database %q", t.Database)
		}
		if t.Cache != "" && caches[t.Cache] == nil {
			v.errf(path+".cache", "unknown cache %q", t.Cache)
		}
	}
	rules := map[string]*Rule{}
	for i := range s.Rules {
		r := &s.Rules[i]
		path := fmt.Sprintf("spec.rules[%d]", i)
		v.name(path, r.Name, rules)
		rules[r.Name] = r
		v.rule(path, r, targets, calendars, dbs, caches, loc)
	}
	return v.problems
}

// name checks a list entry's name: required, unique, DNS-label-like.
func name[T any](v *validator, path, n string, seen map[string]*T) {
	switch {
	case n == "":
		v.errf(path+".name", "required")
	case seen[n] != nil:
		v.errf(path+".name", "duplicate name %q", n)
	case strings.ContainsAny(n, " \t/"):
		v.errf(path+".name", "name %q must not contain spaces or slashes", n)
	}
}

func (v *validator) name(path, n string, seen any) {
	switch m := seen.(type) {
	case map[string]*Calendar:
		name(v, path, n, m)
	case map[string]*Target:
		name(v, path, n, m)
	case map[string]*Rule:
		name(v, path, n, m)
	case map[string]*Database:
		name(v, path, n, m)
	case map[string]*NodeGroup:
		name(v, path, n, m)
	}
}

func (v *validator) query(path, q string, required bool) {
	if q == "" {
		if required {
			v.errf(path, "required")
		}
		return
	}
	if _, err := promql.ParseExpr(q); err != nil {
		v.errf(path, "PromQL does not parse: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
}

func defaultDur(d *Duration, def Duration) {
	if *d == 0 {
		*d = def
	}
}

func (v *validator) positive(path string, d Duration) {
	if d < 0 {
		v.errf(path, "must not be negative, got %s", d)
	}
}

func (v *validator) fraction(path string, f float64, lowOpen, highOpen bool) {
	if f < 0 || f > 1 || (lowOpen && f == 0) || (highOpen && f == 1) {
		v.errf(path, "must be between 0 and 1, got %g", f)
	}
}

func (v *validator) target(path string, t *Target) {
	sg := &t.Signals
	if sg.Demand == nil {
		v.errf(path+".signals.demand", "required: the demand query the capacity model sizes for")
	} else {
		v.query(path+".signals.demand.query", sg.Demand.Query, true)
		defaultDur(&sg.Demand.Step, DefaultSignalStep)
	}
	if l := sg.LatencyP95; l != nil {
		v.query(path+".signals.latencyP95.query", l.Query, true)
		defaultDur(&l.Step, DefaultSignalStep)
		if l.Objective <= 0 {
			v.errf(path+".signals.latencyP95.objective", "required and positive, e.g. 100ms")
		}
		if l.MinCapacityFraction == 0 {
			l.MinCapacityFraction = DefaultMinCapacityFrac
		}
		v.fraction(path+".signals.latencyP95.minCapacityFraction", l.MinCapacityFraction, true, false)
	}
	if c := sg.DBConnections; c != nil {
		v.query(path+".signals.dbConnections.query", c.Query, true)
		defaultDur(&c.Step, DefaultSignalStep)
	}
	if c := sg.CacheHitRatio; c != nil {
		v.query(path+".signals.cacheHitRatio.query", c.Query, true)
		defaultDur(&c.Step, DefaultSignalStep)
		if c.Baseline == 0 {
			c.Baseline = DefaultCacheBaseline
		}
		v.fraction(path+".signals.cacheHitRatio.baseline", c.Baseline, true, true)
	}
	extra := map[string]bool{}
	for i := range sg.Extra {
		e := &sg.Extra[i]
		ep := fmt.Sprintf("%s.signals.extra[%d]", path, i)
		switch {
		case e.Name == "":
			v.errf(ep+".name", "required")
		case extra[e.Name] || oneOf(e.Name, []string{"demand", "latencyP95", "dbConnections", "cacheHitRatio"}):
			v.errf(ep+".name", "duplicate signal name %q", e.Name)
		}
		extra[e.Name] = true
		v.query(ep+".query", e.Query, true)
		defaultDur(&e.Step, DefaultSignalStep)
	}

	c := &t.Capacity
	cp := path + ".capacity"
	if c.PerPod <= 0 {
		v.errf(cp+".perPod", "required and positive: the demand one pod serves at 100%% utilisation")
	}
	if c.TargetUtilization == 0 {
		c.TargetUtilization = DefaultTargetUtilization
	}
	v.fraction(cp+".targetUtilization", c.TargetUtilization, true, false)
	if c.Headroom < 0 || c.Headroom > 10 {
		v.errf(cp+".headroom", "must be between 0 and 10, got %g", c.Headroom)
	}
	if c.Quantile == 0 {
		c.Quantile = DefaultQuantile
	}
	v.fraction(cp+".quantile", c.Quantile, true, true)
	defaultDur(&c.LeadTime, DefaultLeadTime)
	v.positive(cp+".leadTime", c.LeadTime)
	defaultDur(&c.Window, DefaultWindow)
	v.positive(cp+".window", c.Window)

	h := &t.HPA
	hp := path + ".hpa"
	if h.Name == "" {
		v.errf(hp+".name", "required: the HorizontalPodAutoscaler to manage")
	}
	if h.Namespace == "" {
		v.errf(hp+".namespace", "required")
	}
	if h.Mode == "" {
		h.Mode = DefaultMode
	}
	if !oneOf(h.Mode, Modes) {
		v.errf(hp+".mode", "must be one of %s, got %q", strings.Join(Modes, ", "), h.Mode)
	}
	if h.MinReplicas == 0 {
		h.MinReplicas = DefaultMinReplicas
	}
	if h.MinReplicas < 0 {
		v.errf(hp+".minReplicas", "must be at least 1, got %d", h.MinReplicas)
	}
	if h.MaxReplicas <= 0 {
		v.errf(hp+".maxReplicas", "required and positive: the ceiling")
	} else if h.MinReplicas > h.MaxReplicas {
		v.errf(hp+".minReplicas", "floor %d is above the ceiling maxReplicas %d", h.MinReplicas, h.MaxReplicas)
	}
	if h.MaxStepUp == 0 {
		h.MaxStepUp = DefaultMaxStepUp
	}
	if h.MaxStepUp < 0 {
		v.errf(hp+".maxStepUp", "must be positive, got %d", h.MaxStepUp)
	}
	sd := &h.ScaleDown
	if sd.Pods < 0 {
		v.errf(hp+".scaleDown.pods", "must not be negative, got %d", sd.Pods)
	}
	if sd.Percent < 0 || sd.Percent > 100 {
		v.errf(hp+".scaleDown.percent", "must be between 0 and 100, got %g", sd.Percent)
	}
	if sd.Pods == 0 && sd.Percent == 0 {
		sd.Pods = DefaultScaleDownPods
	}
	defaultDur(&sd.Period, DefaultScaleDownPeriod)
	if sd.Period <= 0 {
		v.errf(hp+".scaleDown.period", "must be positive, got %s", sd.Period)
	}
	defaultDur(&sd.Stabilization, DefaultStabilization)
	v.positive(hp+".scaleDown.stabilization", sd.Stabilization)
	defaultDur(&h.Cooldown, DefaultCooldown)
	v.positive(hp+".cooldown", h.Cooldown)
	if pr := h.Promote; pr != nil {
		pp := hp + ".promote"
		if h.Mode != "shadow" {
			v.errf(pp, "only a shadow target can be promoted; this one is %s", h.Mode)
		}
		defaultDur(&pr.After, DefaultPromoteAfter)
		if pr.After <= 0 {
			v.errf(pp+".after", "must be positive, got %s", pr.After)
		}
		if pr.MaxMASE == 0 {
			pr.MaxMASE = DefaultPromoteMaxMASE
		}
		if !(pr.MaxMASE > 0) || math.IsInf(pr.MaxMASE, 0) {
			v.errf(pp+".maxMASE", "must be a positive number, got %g", pr.MaxMASE)
		}
		if pr.MinCoverage == 0 {
			pr.MinCoverage = max(0.5, t.Capacity.Quantile-0.05)
		}
		v.fraction(pp+".minCoverage", pr.MinCoverage, true, false)
	}
}

func (v *validator) nodeGroup(path string, g *NodeGroup, seen map[string]*NodeGroup) {
	v.name(path, g.Name, seen)
	seen[g.Name] = g
	refs := 0
	for _, set := range []bool{g.ASG != nil, g.EKS != nil, g.Placeholder != nil} {
		if set {
			refs++
		}
	}
	switch g.Provider {
	case "asg":
		if g.ASG == nil || g.ASG.Name == "" {
			v.errf(path+".asg.name", "required for provider asg")
		}
	case "eks":
		if g.EKS == nil || g.EKS.Cluster == "" || g.EKS.NodeGroup == "" {
			v.errf(path+".eks", "cluster and nodeGroup are required for provider eks")
		}
	case "placeholder":
		if g.Placeholder == nil || g.Placeholder.Namespace == "" || g.Placeholder.Name == "" {
			v.errf(path+".placeholder", "namespace and name are required for provider placeholder")
		}
	default:
		v.errf(path+".provider", "must be one of asg, eks, placeholder, got %q", g.Provider)
	}
	if refs > 1 {
		v.errf(path, "set only the block of the provider (asg, eks or placeholder)")
	}
	if a := g.ASG; a != nil {
		if a.CapacityMode == "" {
			a.CapacityMode = CapacityModes[0]
		}
		if !oneOf(a.CapacityMode, CapacityModes) {
			v.errf(path+".asg.capacityMode", "must be one of %s, got %q", strings.Join(CapacityModes, ", "), a.CapacityMode)
		}
	}
	if ph := g.Placeholder; ph != nil {
		if ph.Mode == "" {
			ph.Mode = PlaceholderModes[0]
		}
		if !oneOf(ph.Mode, PlaceholderModes) {
			v.errf(path+".placeholder.mode", "must be one of %s, got %q", strings.Join(PlaceholderModes, ", "), ph.Mode)
		}
	}
	if g.Allocatable.CPU.Value <= g.Overhead.CPU.Value && g.Allocatable.Memory.Value <= g.Overhead.Memory.Value {
		v.errf(path+".allocatable", "node allocatable cpu or memory must exceed the per-node overhead")
	}
	if g.PackingMargin == 0 {
		g.PackingMargin = DefaultPackingMargin
	}
	if g.PackingMargin < 0 || g.PackingMargin >= 1 {
		v.errf(path+".packingMargin", "must be in [0, 1), got %g", g.PackingMargin)
	}
	if g.MinSize < 0 {
		v.errf(path+".minSize", "must not be negative")
	}
	if g.MaxSize <= 0 {
		v.errf(path+".maxSize", "required and positive")
	} else if g.MinSize > g.MaxSize {
		v.errf(path+".minSize", "floor %d is above maxSize %d", g.MinSize, g.MaxSize)
	}
}

func (v *validator) database(path string, d *Database, defProvider string, providers []string, loc *time.Location, seen map[string]*Database) {
	v.name(path, d.Name, seen)
	seen[d.Name] = d
	if d.Provider == "" {
		d.Provider = defProvider
	}
	if !oneOf(d.Provider, providers) {
		v.errf(path+".provider", "must be %s here, got %q", strings.Join(providers, " or "), d.Provider)
	}
	if d.Identifier == "" {
		v.errf(path+".identifier", "required: the %s identifier", d.Provider)
	}
	if len(d.Tiers) == 0 {
		v.errf(path+".tiers", "at least one tier is required")
	}
	classes := map[string]bool{}
	for i, t := range d.Tiers {
		tp := fmt.Sprintf("%s.tiers[%d]", path, i)
		if t.Class == "" {
			v.errf(tp+".class", "required")
		} else if classes[t.Class] {
			v.errf(tp+".class", "duplicate class %q", t.Class)
		}
		classes[t.Class] = true
		if t.MaxConnections < 0 || t.Capacity < 0 {
			v.errf(tp, "maxConnections and capacity must not be negative")
		}
		if i > 0 {
			prev := d.Tiers[i-1]
			if t.MaxConnections < prev.MaxConnections || t.Capacity < prev.Capacity {
				v.errf(tp, "tiers must be ordered smallest first (maxConnections and capacity not decreasing)")
			}
		}
	}
	if d.Current == "" && len(d.Tiers) > 0 {
		d.Current = d.Tiers[0].Class
	} else if len(d.Tiers) > 0 && !classes[d.Current] {
		v.errf(path+".current", "class %q is not in the tier ladder", d.Current)
	}
	if d.ConnectionFraction == 0 {
		d.ConnectionFraction = DefaultConnectionFraction
	}
	v.fraction(path+".connectionFraction", d.ConnectionFraction, true, false)
	if d.LoadPerDemand == 0 {
		d.LoadPerDemand = 1
	}
	if d.LoadPerDemand < 0 {
		v.errf(path+".loadPerDemand", "must be positive")
	}
	for i := range d.ChangeWindows {
		v.window(fmt.Sprintf("%s.changeWindows[%d]", path, i), &d.ChangeWindows[i], loc)
	}
	defaultDur(&d.LeadTime, DefaultDBLeadTime)
	v.positive(path+".leadTime", d.LeadTime)
	defaultDur(&d.Hysteresis, DefaultHysteresis)
	v.positive(path+".hysteresis", d.Hysteresis)
	if d.DryRun == nil {
		t := true
		d.DryRun = &t
	}
	if d.SnapshotBeforeChange && d.Provider != "rds" {
		v.errf(path+".snapshotBeforeChange", "applies to rds databases only (ElastiCache node type changes keep the data)")
	}
}

// Tier returns the index of class in the ladder, or -1.
func (d *Database) Tier(class string) int {
	for i, t := range d.Tiers {
		if t.Class == class {
			return i
		}
	}
	return -1
}

func (v *validator) zone(path, name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		v.errf(path, "unknown IANA time zone %q", name)
		return def
	}
	return l
}

func (v *validator) window(path string, w *Window, loc *time.Location) {
	l := v.zone(path+".timeZone", w.TimeZone, loc)
	if w.Schedule == "" {
		v.errf(path+".schedule", "required: a cron expression for the window's start")
	} else if s, err := calendar.ParseCron(w.Schedule, l); err != nil {
		v.errf(path+".schedule", "%v", err)
	} else {
		w.Parsed = s
	}
	if w.Duration <= 0 {
		v.errf(path+".duration", "required and positive")
	}
}

func (v *validator) calendar(path string, c *Calendar, loc *time.Location) {
	def := loc
	if c.Exchange == "XNYS" {
		def, _ = time.LoadLocation("America/New_York")
	}
	c.Location = v.zone(path+".timeZone", c.TimeZone, def)
	sessions := calendar.NYSESessions
	if c.Sessions != nil {
		for _, f := range []struct {
			name string
			text string
			dst  *calendar.Clock
		}{{"preMarket", c.Sessions.PreMarket, &sessions.PreMarket}, {"open", c.Sessions.Open, &sessions.Open},
			{"close", c.Sessions.Close, &sessions.Close}, {"postMarket", c.Sessions.PostMarket, &sessions.PostMarket}} {
			if f.text == "" {
				continue
			}
			ck, err := calendar.ParseClock(f.text)
			if err != nil {
				v.errf(path+".sessions."+f.name, "%v", err)
				continue
			}
			*f.dst = ck
		}
		if err := sessions.Validate(); err != nil {
			v.errf(path+".sessions", "%v", err)
			sessions = calendar.NYSESessions
		}
	}
	var err error
	switch c.Exchange {
	case "XNYS":
		c.Trading, err = calendar.NewXNYS(sessions)
		if err == nil && c.TimeZone != "" {
			c.Trading.Location = c.Location
		}
	case "":
		c.Trading, err = calendar.NewBusinessCalendar(c.Name, c.Location, sessions)
	default:
		v.errf(path+".exchange", "unknown exchange %q (known: %s)", c.Exchange, strings.Join(Exchanges, ", "))
		c.Trading, err = calendar.NewBusinessCalendar(c.Name, c.Location, sessions)
	}
	if err != nil {
		v.errf(path, "%v", err)
		return
	}
	for i, h := range c.Holidays {
		hp := fmt.Sprintf("%s.holidays[%d]", path, i)
		d, err := calendar.ParseDate(h.Date)
		if err != nil {
			v.errf(hp+".date", "%v", err)
			continue
		}
		name := h.Name
		if name == "" {
			name = "custom holiday"
		}
		if h.EarlyClose != "" {
			ck, err := calendar.ParseClock(h.EarlyClose)
			if err != nil {
				v.errf(hp+".earlyClose", "%v", err)
				continue
			}
			c.Trading.AddEarlyClose(d, ck, name)
		} else {
			c.Trading.AddHoliday(d, name)
		}
	}
	c.EventSet = &calendar.EventCalendar{Name: c.Name}
	names := map[string]bool{}
	for i, e := range c.Events {
		ep := fmt.Sprintf("%s.events[%d]", path, i)
		switch {
		case e.Name == "":
			v.errf(ep+".name", "required")
		case names[e.Name]:
			v.errf(ep+".name", "duplicate event %q", e.Name)
		}
		names[e.Name] = true
		ev := calendar.Event{Name: e.Name, Duration: e.Duration.D(), LeadTime: e.LeadTime.D()}
		switch {
		case (e.Start == "") == (e.Schedule == ""):
			v.errf(ep, "set exactly one of start (one-off) and schedule (recurring)")
			continue
		case e.Start != "":
			t, err := ParseTime(e.Start, c.Location)
			if err != nil {
				v.errf(ep+".start", "%v", err)
				continue
			}
			ev.Start = t
		default:
			s, err := calendar.ParseCron(e.Schedule, c.Location)
			if err != nil {
				v.errf(ep+".schedule", "%v", err)
				continue
			}
			ev.Schedule = s
		}
		if e.Occurrence != "" {
			n, ok := nthWeekdays[e.Occurrence]
			switch {
			case !ok:
				v.errf(ep+".occurrence", "must be one of first, second, third, fourth, fifth, last, got %q", e.Occurrence)
			case e.Schedule == "":
				v.errf(ep+".occurrence", "applies to recurring events (schedule) only")
			}
			ev.NthWeekday = n
		}
		v.positive(ep+".duration", e.Duration)
		v.positive(ep+".leadTime", e.LeadTime)
		c.EventSet.Events = append(c.EventSet.Events, ev)
	}
}

var nthWeekdays = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}

// ParseTime parses an instant: RFC 3339, or a local time in loc written
// YYYY-MM-DDTHH:MM[:SS], YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DD.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or YYYY-MM-DDTHH:MM in the calendar's zone", s)
}

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
		if s.MinReplicas < 0 || s.MaxReplicas < 0 || s.Multiplier < 0 {
			v.errf(sp, "minReplicas, multiplier and maxReplicas must not be negative")
		}
		if s.MinReplicas > 0 && s.MaxReplicas > 0 && s.MinReplicas > s.MaxReplicas {
			v.errf(sp+".minReplicas", "floor %d is above the rule's maxReplicas %d", s.MinReplicas, s.MaxReplicas)
		}
		v.positive(sp+".ramp", s.Ramp)
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
			if st.MinReplicas < 0 || st.MaxReplicas < 0 || st.MinReplicasPercent < -100 || st.MaxReplicasPercent < -100 || st.NodesPercent < -100 {
				v.errf(stp, "replica and percentage changes must not go below zero")
			}
			if st.MinReplicas > 0 && st.MaxReplicas > 0 && st.MinReplicas > st.MaxReplicas {
				v.errf(stp+".minReplicas", "floor %d is above the step's maxReplicas %d", st.MinReplicas, st.MaxReplicas)
			}
			v.stepTier(stp, "database", st.DatabaseClass, st.DatabaseTiersUp, applies, targets, dbs, func(t *Target) string { return t.Database })
			v.stepTier(stp, "cache", st.CacheClass, st.CacheTiersUp, applies, targets, caches, func(t *Target) string { return t.Cache })
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
			v.errf(bp+".poolSize", "required and positive: connections per pod")
		}
		if b.Fraction == 0 && db != nil {
			b.Fraction = db.ConnectionFraction
		}
		v.fraction(bp+".fraction", b.Fraction, true, false)
		if b.Action == "" {
			b.Action = DefaultBudgetAction
		}
		if !oneOf(b.Action, []string{"cap", "warn"}) {
			v.errf(bp+".action", "must be cap or warn, got %q", b.Action)
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
