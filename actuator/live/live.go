// Package live connects the control loop to the real actuators: it reads
// the live state of a policy's resources (HPAs, node groups, databases,
// caches) and applies the plan's values one resource field at a time,
// through actuator/hpa, actuator/headroom and actuator/aws. It implements
// the controller's Actuator interface.
//
// How a Plan maps onto the actuators:
//   - hpa minReplicas / maxReplicas / targetCPUUtilizationPercentage: one
//     hpa.Desired per field, the other fields kept at their live values
//     (Keep*), so acting on one planned field never undoes another.
//   - nodegroup minSize: provider asg → aws.ASG (MinSize, or with
//     asg.capacityMode desiredCapacity the DesiredCapacity, only upward),
//     eks → aws.EKSNodegroup, placeholder → headroom (replicas = planned
//     nodes above the group's own minSize, through a CapacityBuffer or the
//     placeholder Deployment as placeholder.mode and the cluster decide).
//     Never below the policy's minSize; coming down one node per the
//     targets' scale-down period.
//   - database instanceClass → aws.RDS (after a manual snapshot when the
//     policy says snapshotBeforeChange), cache nodeType → aws.ElastiCache,
//     the ladder from the policy's tiers. The engine plans a change only
//     inside a change window (or when a rule allows it outside), so a
//     resource with change windows applies immediately; one without waits
//     for its maintenance window.
//   - database readReplicas → aws.Replicas: CreateDBInstanceReadReplica of
//     replicas named IDENTIFIER-prescale-N and tagged as prescale's,
//     DeleteDBInstance of those only (the engine plans removals after the
//     hysteresis, inside a change window); dry-run as the database's.
package live

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/actuator"
	awsact "github.com/prescale/prescale/actuator/aws"
	"github.com/prescale/prescale/actuator/headroom"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/actuator/keda"
	"github.com/prescale/prescale/actuator/pool"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// AWSConfig returns the AWS configuration for a region ("" for the
// environment's); LoadConfig with the default credential chain in the
// daemon, a test server's in tests.
type AWSConfig func(ctx context.Context, region string) (sdkaws.Config, error)

// Actuator is the controller.Actuator over real resources.
type Actuator struct {
	hpa      *hpa.Actuator
	keda     *keda.Actuator // targets naming a KEDA ScaledObject (needs WithDynamic)
	pool     *pool.Actuator
	headroom *headroom.Actuator
	awsCfg   AWSConfig
	rec      actuator.Recorder

	mu      sync.Mutex
	regions map[string]*regional
}

// regional are one region's AWS actuators (they keep per-resource memory,
// such as the last decrease, so they live as long as the Actuator).
type regional struct {
	asg      *awsact.ASG
	eks      *awsact.EKSNodegroup
	rds      *awsact.RDS
	replicas *awsact.Replicas
	cache    *awsact.ElastiCache
}

var _ controller.Actuator = (*Actuator)(nil)

// Option configures an Actuator.
type Option func(*Actuator)

// WithDynamic gives the headroom actuator the dynamic client it reaches
// CapacityBuffers with (a custom resource, outside the clientset).
// Without it, placeholder node groups always use the placeholder
// Deployment, and mode capacityBuffer fails saying so.
func WithDynamic(d dynamic.Interface) Option {
	return func(a *Actuator) {
		if a.headroom != nil {
			a.headroom.Dynamic = d
			a.keda = &keda.Actuator{Dynamic: d, Client: a.headroom.Client, Recorder: a.rec}
		}
	}
}

// WithManager names this prescale deployment on the HPAs it changes (its
// Lease name, which differs per shard), so that after a restart it finds
// them again (see ManagedHPAs). The default is "prescale".
func WithManager(name string) Option {
	return func(a *Actuator) {
		if a.hpa != nil {
			a.hpa.Manager = name
		}
		if a.keda != nil {
			a.keda.Manager = name
		}
	}
}

// ManagedHPAs implements controller.ManagedLister: the HPAs and KEDA
// ScaledObjects this deployment changed and has not restored, from their
// annotations (Restore finds which of the two a name is).
func (a *Actuator) ManagedHPAs(ctx context.Context) ([]controller.HPARef, error) {
	if a.hpa == nil {
		return nil, nil
	}
	refs, err := a.hpa.Managed(ctx)
	if err != nil {
		return nil, err
	}
	if a.keda != nil {
		so, err := a.keda.Managed(ctx)
		if err != nil {
			return nil, err
		}
		refs = append(refs, so...)
	}
	var out []controller.HPARef
	seen := map[controller.HPARef]bool{}
	for _, r := range refs {
		ref := controller.HPARef{Namespace: r.Namespace, Name: r.Name}
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	return out, nil
}

// New returns an Actuator. kube may be nil when no policy manages HPAs or
// placeholders; awsCfg may be nil when none manages AWS resources.
func New(kube kubernetes.Interface, awsCfg AWSConfig, rec actuator.Recorder, opts ...Option) *Actuator {
	a := &Actuator{awsCfg: awsCfg, rec: rec, regions: map[string]*regional{}}
	if kube != nil {
		a.hpa = hpa.New(kube, rec)
		a.headroom = &headroom.Actuator{Client: kube, Recorder: rec}
		a.pool = &pool.Actuator{Client: kube, Recorder: rec}
	}
	for _, o := range opts {
		o(a)
	}
	if a.keda != nil && a.hpa != nil {
		a.keda.Manager = a.hpa.Manager
	}
	return a
}

func (a *Actuator) region(ctx context.Context, region string) (*regional, error) {
	if a.awsCfg == nil {
		return nil, errors.New("no AWS configuration")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.regions[region]; ok {
		return r, nil
	}
	cfg, err := a.awsCfg(ctx, region)
	if err != nil {
		return nil, err
	}
	c := awsact.NewClients(cfg)
	r := &regional{
		asg:      &awsact.ASG{Client: c.AutoScaling, Recorder: a.rec},
		eks:      &awsact.EKSNodegroup{Client: c.EKS, Recorder: a.rec},
		rds:      &awsact.RDS{Client: c.RDS, Recorder: a.rec},
		replicas: &awsact.Replicas{Client: c.RDS, Recorder: a.rec, Manager: a.manager()},
		cache:    &awsact.ElastiCache{Client: c.ElastiCache, Recorder: a.rec},
	}
	a.regions[region] = r
	return r, nil
}

// Current implements controller.Actuator: what the policy's resources are
// set to now. What cannot be read is left out (the engine then uses the
// policy's owner values) and reported in the joined error.
func (a *Actuator) Current(ctx context.Context, p *config.Policy) (policy.Current, error) {
	cur := policy.Current{HPAs: map[string]policy.HPAStatus{}, NodeGroups: map[string]int{}, Databases: map[string]string{}, Caches: map[string]string{}}
	var errs []error
	for _, t := range p.Spec.Targets {
		if t.ConnectionPool != nil && a.pool != nil {
			c := t.ConnectionPool
			if n, found, err := a.pool.Read(ctx, c.Namespace, c.ConfigMap, c.Key); err != nil {
				errs = append(errs, fmt.Errorf("target %s: %w", t.Name, err))
			} else if found {
				cur.Pools = setInt(cur.Pools, t.Name, n)
			}
		}
		if t.HPA.ScaledObject != "" {
			if a.keda == nil {
				errs = append(errs, fmt.Errorf("target %s: scaledobject %s/%s: no dynamic Kubernetes client", t.Name, t.HPA.Namespace, t.HPA.ScaledObject))
				continue
			}
			s, err := a.keda.Read(ctx, t.HPA.Namespace, t.HPA.ScaledObject)
			if err != nil {
				errs = append(errs, fmt.Errorf("target %s: %w", t.Name, err))
				continue
			}
			if s.Found {
				cur.HPAs[t.Name] = policy.HPAStatus{OwnerMinReplicas: s.Owner.MinReplicas, MinReplicas: s.MinReplicas, MaxReplicas: s.MaxReplicas}
			}
			continue
		}
		if a.hpa == nil {
			errs = append(errs, fmt.Errorf("target %s: no Kubernetes client", t.Name))
			continue
		}
		s, err := a.hpa.Read(ctx, t.HPA.Namespace, t.HPA.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("target %s: %w", t.Name, err))
			continue
		}
		if s.Found {
			cur.HPAs[t.Name] = policy.HPAStatus{OwnerMinReplicas: s.Owner.MinReplicas, MinReplicas: s.MinReplicas,
				MaxReplicas: s.MaxReplicas, Replicas: s.Replicas, TargetCPUPercent: s.TargetCPU}
		}
	}
	for _, g := range p.Spec.NodeGroups {
		n, found, err := a.nodeMin(ctx, g)
		if err != nil {
			errs = append(errs, fmt.Errorf("node group %s: %w", g.Name, err))
		} else if found {
			cur.NodeGroups[g.Name] = n
		}
	}
	for _, d := range p.Spec.Databases {
		if r, err := a.region(ctx, d.Region); err != nil {
			errs = append(errs, fmt.Errorf("database %s: %w", d.Name, err))
		} else if c, found, err := r.rds.Class(ctx, d.Identifier); err != nil {
			errs = append(errs, fmt.Errorf("database %s: %w", d.Name, err))
		} else if found {
			cur.Databases[d.Name] = c
			if d.ReadReplicas != nil {
				if n, found, err := r.replicas.Count(ctx, d.Identifier); err != nil {
					errs = append(errs, fmt.Errorf("database %s: read replicas: %w", d.Name, err))
				} else if found {
					cur.ReadReplicas = setInt(cur.ReadReplicas, d.Name, n)
				}
			}
		}
	}
	for _, d := range p.Spec.Caches {
		if r, err := a.region(ctx, d.Region); err != nil {
			errs = append(errs, fmt.Errorf("cache %s: %w", d.Name, err))
		} else if c, found, err := r.cache.NodeType(ctx, d.Identifier); err != nil {
			errs = append(errs, fmt.Errorf("cache %s: %w", d.Name, err))
		} else if found {
			cur.Caches[d.Name] = c
		}
	}
	return cur, errors.Join(errs...)
}

func (a *Actuator) nodeMin(ctx context.Context, g config.NodeGroup) (int, bool, error) {
	switch {
	case g.Provider == "asg" && g.ASG != nil:
		r, err := a.region(ctx, g.ASG.Region)
		if err != nil {
			return 0, false, err
		}
		return r.asg.MinSize(ctx, g.ASG.Name)
	case g.Provider == "eks" && g.EKS != nil:
		r, err := a.region(ctx, g.EKS.Region)
		if err != nil {
			return 0, false, err
		}
		return r.eks.MinSize(ctx, g.EKS.Cluster, g.EKS.NodeGroup)
	case g.Provider == "placeholder" && g.Placeholder != nil:
		// The plan counts nodes; the placeholder holds the ones above the
		// group's minimum. Reading it back is left to the engine's memory.
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("provider %q without its reference", g.Provider)
}

// Apply implements controller.Actuator: it acts on one planned value. The
// loop calls it only for values to apply (mode active, not dry-run).
func (a *Actuator) Apply(ctx context.Context, p *config.Policy, r policy.Resource) (controller.Outcome, error) {
	ch, err := a.apply(ctx, p, r)
	return outcome(ch, r), err
}

func (a *Actuator) apply(ctx context.Context, p *config.Policy, r policy.Resource) (actuator.Change, error) {
	switch r.Kind {
	case policy.KindHPA:
		return a.applyHPA(ctx, p, r)
	case policy.KindNodeGroup:
		return a.applyNodes(ctx, p, r)
	case policy.KindDatabase, policy.KindCache:
		if r.Field == policy.FieldReadReplicas {
			return a.applyReplicas(ctx, p, r)
		}
		return a.applyTier(ctx, p, r)
	case policy.KindConnectionPool:
		return a.applyPool(ctx, p, r)
	}
	return actuator.Change{}, fmt.Errorf("unknown resource kind %q", r.Kind)
}

func (a *Actuator) applyHPA(ctx context.Context, p *config.Policy, r policy.Resource) (actuator.Change, error) {
	t := target(p, r.Target)
	if t == nil {
		return actuator.Change{}, fmt.Errorf("hpa %s: target %s not in policy %s", r.Name, r.Target, p.Metadata.Name)
	}
	if t.HPA.ScaledObject == "" && a.hpa == nil {
		return actuator.Change{}, fmt.Errorf("hpa %s: no Kubernetes client", r.Name)
	}
	v, ok := r.Desired.(int)
	if !ok {
		return actuator.Change{}, fmt.Errorf("hpa %s %s: desired %v is not an int", r.Name, r.Field, r.Desired)
	}
	w := hpa.Want{Resource: "cpu"}
	switch r.Field {
	case policy.FieldMinReplicas:
		w.MinReplicas, w.KeepMax, w.KeepTarget = v, true, true
	case policy.FieldMaxReplicas:
		w.MaxReplicas, w.RaiseMax, w.KeepMin, w.KeepTarget = v, true, true, true
	case policy.FieldTargetCPU:
		w.Target, w.KeepMin, w.KeepMax = v, true, true
	default:
		return actuator.Change{}, fmt.Errorf("hpa %s: unknown field %s", r.Name, r.Field)
	}
	if t.HPA.ScaledObject != "" {
		if r.Field == policy.FieldTargetCPU {
			return actuator.Change{}, fmt.Errorf("scaledobject %s: a CPU target is a trigger of the ScaledObject, not planned by prescale", r.Name)
		}
		if a.keda == nil {
			return actuator.Change{}, fmt.Errorf("scaledobject %s: no dynamic Kubernetes client", r.Name)
		}
		return a.keda.Apply(ctx, keda.Desired{Mode: actuator.Active, Reasons: r.Reasons, Target: t.Name,
			Namespace: t.HPA.Namespace, Name: t.HPA.ScaledObject, Want: w})
	}
	return a.hpa.Apply(ctx, hpa.Desired{Mode: actuator.Active, Reasons: r.Reasons, Target: t.Name,
		Namespace: t.HPA.Namespace, Name: t.HPA.Name, Want: w})
}

func (a *Actuator) applyNodes(ctx context.Context, p *config.Policy, r policy.Resource) (actuator.Change, error) {
	g := nodeGroup(p, r.Name)
	if g == nil {
		return actuator.Change{}, fmt.Errorf("node group %s not in policy %s", r.Name, p.Metadata.Name)
	}
	v, ok := r.Desired.(int)
	if !ok {
		return actuator.Change{}, fmt.Errorf("node group %s: desired %v is not an int", r.Name, r.Desired)
	}
	ref := actuator.Ref{Kind: policy.KindNodeGroup, Name: g.Name, Target: r.Target}
	floor := awsact.NodeFloor{Ref: ref, Mode: actuator.Active, Reasons: r.Reasons, Min: v, OwnerMin: g.MinSize,
		ScaleDown: awsact.ScaleDown{Nodes: 1, Period: scaleDownPeriod(p, g.Name)}}
	switch {
	case g.Provider == "asg" && g.ASG != nil:
		reg, err := a.region(ctx, g.ASG.Region)
		if err != nil {
			return actuator.Change{}, fmt.Errorf("node group %s: %w", g.Name, err)
		}
		return reg.asg.Apply(ctx, awsact.ASGFloor{NodeFloor: floor, Group: g.ASG.Name, Capacity: awsact.CapacityMode(g.ASG.CapacityMode)})
	case g.Provider == "eks" && g.EKS != nil:
		reg, err := a.region(ctx, g.EKS.Region)
		if err != nil {
			return actuator.Change{}, fmt.Errorf("node group %s: %w", g.Name, err)
		}
		return reg.eks.Apply(ctx, awsact.EKSFloor{NodeFloor: floor, Cluster: g.EKS.Cluster, Nodegroup: g.EKS.NodeGroup})
	case g.Provider == "placeholder" && g.Placeholder != nil:
		if a.headroom == nil {
			return actuator.Change{}, fmt.Errorf("node group %s: no Kubernetes client", g.Name)
		}
		return a.headroom.Apply(ctx, headroom.Desired{Mode: actuator.Active, Reasons: r.Reasons, Target: r.Target,
			Namespace: g.Placeholder.Namespace, Name: g.Placeholder.Name, Strategy: headroom.Strategy(g.Placeholder.Mode),
			Replicas: max(v-g.MinSize, 0), MaxStepDown: 1, Period: floor.ScaleDown.Period})
	}
	return actuator.Change{}, fmt.Errorf("node group %s: provider %q without its reference", g.Name, g.Provider)
}

func (a *Actuator) applyTier(ctx context.Context, p *config.Policy, r policy.Resource) (actuator.Change, error) {
	list := p.Spec.Databases
	if r.Kind == policy.KindCache {
		list = p.Spec.Caches
	}
	var d *config.Database
	for i := range list {
		if list[i].Name == r.Name {
			d = &list[i]
		}
	}
	if d == nil {
		return actuator.Change{}, fmt.Errorf("%s %s not in policy %s", r.Kind, r.Name, p.Metadata.Name)
	}
	class, ok := r.Desired.(string)
	if !ok {
		return actuator.Change{}, fmt.Errorf("%s %s: desired %v is not a class", r.Kind, r.Name, r.Desired)
	}
	reg, err := a.region(ctx, d.Region)
	if err != nil {
		return actuator.Change{}, fmt.Errorf("%s %s: %w", r.Kind, r.Name, err)
	}
	var ladder []string
	for _, t := range d.Tiers {
		ladder = append(ladder, t.Class)
	}
	mode := actuator.Active
	if d.DryRun == nil || *d.DryRun {
		mode = actuator.DryRun // the default, even if the loop asked
	}
	tier := awsact.Tier{Ref: actuator.Ref{Kind: r.Kind, Name: d.Name, Target: r.Target}, Mode: mode, Reasons: r.Reasons,
		Identifier: d.Identifier, Class: class, Ladder: ladder, ApplyImmediately: len(d.ChangeWindows) > 0,
		Snapshot: r.Kind == policy.KindDatabase && d.SnapshotBeforeChange}
	if r.Kind == policy.KindCache {
		return reg.cache.Apply(ctx, tier)
	}
	return reg.rds.Apply(ctx, tier)
}

// scaleDownPeriod is the longest scale-down period of the targets on a
// node group: node floors come down no faster than the slowest of them.
func scaleDownPeriod(p *config.Policy, group string) time.Duration {
	var d time.Duration
	for _, t := range p.Spec.Targets {
		if t.NodeGroup == group {
			d = max(d, t.HPA.ScaleDown.Period.D())
		}
	}
	return d
}

func target(p *config.Policy, name string) *config.Target {
	for i := range p.Spec.Targets {
		if p.Spec.Targets[i].Name == name {
			return &p.Spec.Targets[i]
		}
	}
	return nil
}

func nodeGroup(p *config.Policy, name string) *config.NodeGroup {
	for i := range p.Spec.NodeGroups {
		if p.Spec.NodeGroups[i].Name == name {
			return &p.Spec.NodeGroups[i]
		}
	}
	return nil
}

// outcome maps a Change onto the loop's result and the value in place.
func outcome(ch actuator.Change, r policy.Resource) controller.Outcome {
	o := controller.Outcome{Applied: r.Current}
	switch ch.Status {
	case actuator.Applied, actuator.InSync:
		o.Result, o.Applied = metrics.ResultApplied, r.Desired
		if len(ch.Fields) == 1 {
			if f := ch.Fields[0]; f.Field == "snapshot" {
				o.Applied = r.Current // the class change follows the snapshot
			} else {
				// Bounds may have held the value short of the plan's.
				o.Applied = parseLike(f.To, r.Desired, o.Applied)
			}
		}
	case actuator.WouldApply:
		o.Result = metrics.ResultDryRun
		if ch.Mode == actuator.Shadow {
			o.Result = metrics.ResultShadow
		}
	case actuator.Paused:
		o.Result = metrics.ResultPaused
	case actuator.Waiting:
		o.Result = metrics.ResultConflict
	default:
		o.Result = metrics.ResultFailed
	}
	return o
}

// parseLike returns s as the type of like (int or string), or fallback.
func parseLike(s string, like, fallback any) any {
	switch like.(type) {
	case int:
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		return fallback
	case string:
		return s
	}
	return fallback
}

var _ controller.Restorer = (*Actuator)(nil)

// Restore implements controller.Restorer: the HPA gets its owner's values
// back from the annotations prescale wrote before its first change, with
// an Event saying why.
func (a *Actuator) Restore(ctx context.Context, target, namespace, name string, reasons []string) error {
	if a.hpa == nil {
		return errors.New("restore: no Kubernetes client")
	}
	ch, err := a.hpa.Restore(ctx, actuator.Active, target, namespace, name, reasons)
	if err == nil && a.keda != nil && (ch.Status == actuator.Missing || ch.Status == actuator.InSync) {
		// No HPA of that name, or one prescale never changed: the
		// target's floor may be on a ScaledObject of that name.
		_, err = a.keda.Restore(ctx, actuator.Active, target, namespace, name, reasons)
	}
	return err
}

func (a *Actuator) applyPool(ctx context.Context, p *config.Policy, r policy.Resource) (actuator.Change, error) {
	t := target(p, r.Target)
	if t == nil || t.ConnectionPool == nil {
		return actuator.Change{}, fmt.Errorf("connection pool %s: target %s has no connectionPool in policy %s", r.Name, r.Target, p.Metadata.Name)
	}
	if a.pool == nil {
		return actuator.Change{}, fmt.Errorf("connection pool %s: no Kubernetes client", r.Name)
	}
	v, ok := r.Desired.(int)
	if !ok {
		return actuator.Change{}, fmt.Errorf("connection pool %s: desired %v is not an int", r.Name, r.Desired)
	}
	c := t.ConnectionPool
	return a.pool.Apply(ctx, pool.Desired{Mode: actuator.Active, Reasons: r.Reasons, Target: t.Name,
		Namespace: c.Namespace, ConfigMap: c.ConfigMap, Key: c.Key, Size: v})
}

func setInt(m map[string]int, k string, v int) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k] = v
	return m
}

func (a *Actuator) applyReplicas(ctx context.Context, p *config.Policy, r policy.Resource) (actuator.Change, error) {
	var d *config.Database
	for i := range p.Spec.Databases {
		if p.Spec.Databases[i].Name == r.Name {
			d = &p.Spec.Databases[i]
		}
	}
	if d == nil || d.ReadReplicas == nil {
		return actuator.Change{}, fmt.Errorf("database %s: no readReplicas in policy %s", r.Name, p.Metadata.Name)
	}
	n, ok := r.Desired.(int)
	if !ok {
		return actuator.Change{}, fmt.Errorf("database %s: desired read replicas %v is not an int", r.Name, r.Desired)
	}
	reg, err := a.region(ctx, d.Region)
	if err != nil {
		return actuator.Change{}, fmt.Errorf("database %s: %w", r.Name, err)
	}
	mode := actuator.Active
	if d.DryRun == nil || *d.DryRun {
		mode = actuator.DryRun // the default, even if the loop asked
	}
	return reg.replicas.Apply(ctx, awsact.ReplicaCount{Ref: actuator.Ref{Kind: r.Kind, Name: d.Name, Target: r.Target},
		Mode: mode, Reasons: r.Reasons, Source: d.Identifier, Count: min(n, d.ReadReplicas.Max), Class: d.ReadReplicas.Class})
}

// manager is the name this deployment tags and annotates what it changes
// with.
func (a *Actuator) manager() string {
	if a.hpa != nil && a.hpa.Manager != "" {
		return a.hpa.Manager
	}
	return "prescale"
}
