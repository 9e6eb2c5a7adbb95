package controller

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// MemoryActuator keeps the managed resources in memory: the embedded demo
// drives a simulated cluster with it, and tests read what the loop did.
// It starts from the policy's owner values.
type MemoryActuator struct {
	mu      sync.Mutex
	hpas    map[string]policy.HPAStatus // by target
	nodes   map[string]int
	classes map[string]string // "database/NAME" or "cache/NAME"
	// replicas are read replica counts by database, pools pool sizes per
	// pod by target.
	replicas, pools map[string]int
	// Applied lists every change in order.
	Applied []policy.Resource
	// Restored lists the targets handed back to their owners.
	Restored []string
	// Fail, when set, makes Apply fail for the resources it returns true for.
	Fail func(policy.Resource) error
}

// NewMemoryActuator returns an actuator with nothing changed yet.
func NewMemoryActuator() *MemoryActuator {
	return &MemoryActuator{hpas: map[string]policy.HPAStatus{}, nodes: map[string]int{}, classes: map[string]string{},
		replicas: map[string]int{}, pools: map[string]int{}}
}

// Current implements Actuator.
func (m *MemoryActuator) Current(_ context.Context, p *config.Policy) (policy.Current, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := policy.Current{HPAs: map[string]policy.HPAStatus{}, NodeGroups: map[string]int{}, Databases: map[string]string{}, Caches: map[string]string{},
		ReadReplicas: map[string]int{}, Pools: map[string]int{}}
	for _, t := range p.Spec.Targets {
		if h, ok := m.hpas[t.Name]; ok {
			cur.HPAs[t.Name] = h
		}
		if n, ok := m.pools[t.Name]; ok {
			cur.Pools[t.Name] = n
		}
	}
	for k, v := range m.replicas {
		cur.ReadReplicas[k] = v
	}
	for k, v := range m.nodes {
		cur.NodeGroups[k] = v
	}
	for k, v := range m.classes {
		if n, ok := strings.CutPrefix(k, policy.KindDatabase+"/"); ok {
			cur.Databases[n] = v
		} else if n, ok := strings.CutPrefix(k, policy.KindCache+"/"); ok {
			cur.Caches[n] = v
		}
	}
	return cur, nil
}

// Apply implements Actuator.
func (m *MemoryActuator) Apply(_ context.Context, p *config.Policy, r policy.Resource) (Outcome, error) {
	return m.apply(r)
}

func (m *MemoryActuator) apply(r policy.Resource) (Outcome, error) {
	if m.Fail != nil {
		if err := m.Fail(r); err != nil {
			return Outcome{}, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.Kind {
	case policy.KindHPA:
		v, ok := r.Desired.(int)
		if !ok {
			return Outcome{}, fmt.Errorf("hpa %s %s: desired %v is not an int", r.Name, r.Field, r.Desired)
		}
		h := m.hpas[r.Target]
		switch r.Field {
		case policy.FieldMinReplicas:
			h.MinReplicas = v
		case policy.FieldMaxReplicas:
			h.MaxReplicas = v
		case policy.FieldTargetCPU:
			h.TargetCPUPercent = v
		default:
			return Outcome{}, fmt.Errorf("hpa %s: unknown field %s", r.Name, r.Field)
		}
		m.hpas[r.Target] = h
	case policy.KindNodeGroup:
		v, ok := r.Desired.(int)
		if !ok {
			return Outcome{}, fmt.Errorf("node group %s: desired %v is not an int", r.Name, r.Desired)
		}
		m.nodes[r.Name] = v
	case policy.KindDatabase, policy.KindCache:
		if r.Field == policy.FieldReadReplicas {
			v, ok := r.Desired.(int)
			if !ok {
				return Outcome{}, fmt.Errorf("%s %s: read replicas %v is not an int", r.Kind, r.Name, r.Desired)
			}
			m.replicas[r.Name] = v
			break
		}
		v, ok := r.Desired.(string)
		if !ok {
			return Outcome{}, fmt.Errorf("%s %s: desired %v is not a class", r.Kind, r.Name, r.Desired)
		}
		m.classes[r.Kind+"/"+r.Name] = v
	case policy.KindConnectionPool:
		v, ok := r.Desired.(int)
		if !ok {
			return Outcome{}, fmt.Errorf("connection pool %s: desired %v is not an int", r.Name, r.Desired)
		}
		m.pools[r.Target] = v
	default:
		return Outcome{}, fmt.Errorf("unknown resource kind %q", r.Kind)
	}
	m.Applied = append(m.Applied, r)
	return Outcome{Result: metrics.ResultApplied, Applied: r.Desired}, nil
}

// HPA returns a target's HPA as the actuator holds it.
func (m *MemoryActuator) HPA(target string) (policy.HPAStatus, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.hpas[target]
	return h, ok
}

// SetHPA sets a target's HPA, as its owner or the HPA controller would.
func (m *MemoryActuator) SetHPA(target string, h policy.HPAStatus) {
	m.mu.Lock()
	m.hpas[target] = h
	m.mu.Unlock()
}

// Restore implements Restorer: the HPA is forgotten (the owner's values
// apply again) and the target recorded.
func (m *MemoryActuator) Restore(_ context.Context, target, namespace, name string, reasons []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.hpas, target)
	m.Restored = append(m.Restored, target)
	return nil
}
