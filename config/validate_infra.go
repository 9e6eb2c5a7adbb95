package config

import (
	"fmt"
	"strings"
	"time"
)

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
	v.replicas(path+".maxSize", g.MaxSize)
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
	v.databaseReplicas(path, d)
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
