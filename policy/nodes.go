package policy

import (
	"fmt"
	"math"
	"strings"

	"github.com/prescale/prescale/config"
)

// NodesFor is the number of nodes that hold pods pods of the given requests,
// given each node's allocatable resources, the per-node overhead (daemon
// sets, system pods) and a packing margin for imperfect bin packing. It is
// the larger of the CPU and memory needs; a resource a pod does not request
// does not count.
func NodesFor(pods int, pod, allocatable, overhead config.Resources, packingMargin float64) int {
	if pods <= 0 {
		return 0
	}
	need := 0.0
	for _, r := range []struct{ req, alloc, over float64 }{
		{pod.CPU.Value, allocatable.CPU.Value, overhead.CPU.Value},
		{pod.Memory.Value, allocatable.Memory.Value, overhead.Memory.Value},
	} {
		if r.req <= 0 {
			continue
		}
		usable := (r.alloc - r.over) * (1 - packingMargin)
		if usable <= 0 {
			return math.MaxInt32
		}
		// Pods are not split across nodes: count whole pods per node.
		perNode := math.Floor(usable/r.req + 1e-9)
		if perNode < 1 {
			return math.MaxInt32
		}
		need = math.Max(need, float64(pods)/perNode)
	}
	return int(math.Ceil(need - 1e-9))
}

// planNodeGroups sizes each node group's minimum from the planned floors of
// the targets on it, plus any event's nodes percentage, within its bounds.
func (e *Engine) planNodeGroups(tps []*targetPlan, in Inputs, plan *Plan) {
	for i := range e.policy.Spec.NodeGroups {
		g := &e.policy.Spec.NodeGroups[i]
		var names []string
		var why reasons
		nodes := 0
		pct := 0.0
		var pctWhy []string
		for _, tp := range tps {
			if tp.t.NodeGroup != g.Name {
				continue
			}
			names = append(names, tp.t.Name)
			n := NodesFor(tp.floor, tp.t.Pod, g.Allocatable, g.Overhead, g.PackingMargin)
			nodes += n
			why.add("%s: %d pods × (%s cpu, %s memory) → %d nodes of (%s cpu, %s memory) less overhead (%s, %s) and %g%% packing margin",
				tp.t.Name, tp.floor, orDash(tp.t.Pod.CPU), orDash(tp.t.Pod.Memory), n,
				orDash(g.Allocatable.CPU), orDash(g.Allocatable.Memory), orDash(g.Overhead.CPU), orDash(g.Overhead.Memory), g.PackingMargin*100)
			if tp.nodesPct > pct {
				pct = tp.nodesPct
			}
			pctWhy = append(pctWhy, tp.nodesWhy...)
		}
		if len(names) == 0 {
			continue
		}
		if pct != 0 {
			v := int(math.Ceil(float64(max(nodes, g.MinSize)) * (1 + pct/100)))
			why = append(why, pctWhy...)
			why.add("nodes %+g%% → %d", pct, v)
			nodes = v
		}
		if nodes < g.MinSize {
			nodes = g.MinSize
			why.add("limit: node group minSize %d", g.MinSize)
		}
		if nodes > g.MaxSize {
			nodes = g.MaxSize
			why.add("limit: capped at node group maxSize %d", g.MaxSize)
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("node group %s: planned pods need more than maxSize %d nodes", g.Name, g.MaxSize))
		}
		cur, ok := in.Current.NodeGroups[g.Name]
		if !ok {
			cur = g.MinSize
		}
		why.add("provider %s: raises the group's minimum only, never its desired capacity", g.Provider)
		plan.Resources = append(plan.Resources, Resource{Target: strings.Join(names, ","), Kind: KindNodeGroup, Name: g.Name,
			Field: FieldMinSize, Current: cur, Desired: nodes, Reasons: why, Apply: cur != nodes && allActive(tps, g.Name)})
	}
}

func orDash(q config.Quantity) string {
	if q.Text == "" {
		return "-"
	}
	return q.Text
}

// allActive reports whether every target on the node group is in mode
// active: a shadow target's pods must not move real nodes.
func allActive(tps []*targetPlan, group string) bool {
	for _, tp := range tps {
		if tp.t.NodeGroup == group && !tp.active {
			return false
		}
	}
	return true
}
