package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Defaults applied by validation to fields left out (zero). docs/policy.md
// lists them too.
const (
	DefaultTimeZone          = "UTC"
	DefaultSignalStep        = Duration(time.Minute)
	DefaultTargetUtilization = 0.7
	DefaultQuantile          = 0.9
	DefaultLeadTime          = Duration(5 * time.Minute)
	DefaultWindow            = Duration(15 * time.Minute)
	DefaultMode              = "shadow"
	DefaultMinReplicas       = 1
	DefaultMaxStepUp         = 10
	DefaultScaleDownPods     = 1
	DefaultScaleDownPeriod   = Duration(5 * time.Minute)
	DefaultStabilization     = Duration(10 * time.Minute)
	DefaultCooldown          = Duration(5 * time.Minute)
	DefaultPromoteAfter      = Duration(7 * 24 * time.Hour)
	DefaultPromoteMaxMASE    = 1.0
	// MaxPromoteGainPerCost bounds hpa.promote.minGainPerCost: a bar above
	// it would ask floors to save all of the HPA's unserved demand for
	// under 1% more replica-hours.
	MaxPromoteGainPerCost     = 100.0
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
	// tierLead is the longest lead time of the databases and caches: the
	// forecasts of every target reach that far too.
	tierLead Duration
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
	for _, d := range append(append([]Database{}, s.Databases...), s.Caches...) {
		v.tierLead = max(v.tierLead, d.LeadTime)
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
		if key := t.HPA.Namespace + "/" + t.HPA.Name + t.HPA.ScaledObject; t.HPA.Name != "" || t.HPA.ScaledObject != "" {
			if other, dup := hpas[key]; dup {
				field := ".hpa.name"
				if t.HPA.ScaledObject != "" {
					field = ".hpa.scaledObject"
				}
				v.errf(path+field, "%s %s/%s is already managed by target %q", t.HPA.KindName(), t.HPA.Namespace, t.HPA.Object(), other)
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
		v.connectionPool(path, t)
	}
	rules := map[string]*Rule{}
	for i := range s.Rules {
		r := &s.Rules[i]
		path := fmt.Sprintf("spec.rules[%d]", i)
		v.name(path, r.Name, rules)
		rules[r.Name] = r
		v.rule(path, r, targets, calendars, dbs, caches, loc)
	}
	v.runbookRules(targets, dbs)
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
