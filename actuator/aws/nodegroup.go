package aws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/prescale/prescale/actuator"
)

// CapacityMode says which field of an Auto Scaling group prescale raises.
type CapacityMode string

const (
	// MinSize (the default) raises the group's minimum; the group then
	// raises its desired capacity itself. DesiredCapacity stays the
	// Cluster Autoscaler's.
	MinSize CapacityMode = "minSize"
	// DesiredCapacity raises the desired capacity directly, only upward and
	// within [MinSize, MaxSize]: for groups no other autoscaler manages.
	DesiredCapacity CapacityMode = "desiredCapacity"
)

// ScaleDown limits how fast a node floor comes down: at most Nodes per
// Period. Zero Nodes means one node per Period; zero Period means no wait
// between steps.
type ScaleDown struct {
	Nodes  int
	Period time.Duration
}

// NodeFloor is the node minimum the plan wants for one node group.
type NodeFloor struct {
	Ref     actuator.Ref
	Mode    actuator.Mode
	Reasons []string
	// Min is the planned number of nodes.
	Min int
	// OwnerMin is the owner's minimum (the policy's node group minSize):
	// prescale never sets the floor below it.
	OwnerMin  int
	ScaleDown ScaleDown
}

// FloorDecision is where a node floor should move, and why.
type FloorDecision struct {
	Want  int
	Notes []string
	// Decrease is true when Want is below the current value.
	Decrease bool
}

// DecideFloor is the node floor rule: the planned minimum, never below the
// owner's, never above the group's maximum (said when it binds), and when
// it comes down, at most ScaleDown.Nodes per ScaleDown.Period since the
// last decrease.
func DecideFloor(cur, groupMax int, f NodeFloor, lastDecrease, now time.Time) FloorDecision {
	want := f.Min
	var notes []string
	if want < f.OwnerMin {
		want = f.OwnerMin
		notes = append(notes, fmt.Sprintf("owner's minimum %d", f.OwnerMin))
	}
	if want > groupMax {
		notes = append(notes, fmt.Sprintf("bound: planned %d nodes, group maximum is %d", want, groupMax))
		want = groupMax
	}
	if want < cur {
		if f.ScaleDown.Period > 0 && !lastDecrease.IsZero() && now.Sub(lastDecrease) < f.ScaleDown.Period {
			notes = append(notes, fmt.Sprintf("scale-down limit: last decrease %s ago, one step per %s; holding %d",
				now.Sub(lastDecrease).Round(time.Second), f.ScaleDown.Period, cur))
			return FloorDecision{Want: cur, Notes: notes}
		}
		step := max(f.ScaleDown.Nodes, 1)
		if cur-want > step {
			notes = append(notes, fmt.Sprintf("scale-down limit: %d nodes per step, %d → %d (planned %d)", step, cur, cur-step, want))
			want = cur - step
		}
		return FloorDecision{Want: want, Notes: notes, Decrease: true}
	}
	return FloorDecision{Want: want, Notes: notes}
}

// decreases remembers when each node floor last came down, for the
// scale-down period. It is in memory: after a restart the first decrease
// is allowed at once, and later ones are paced again.
type decreases struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (d *decreases) get(key string) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last[key]
}

func (d *decreases) set(key string, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string]time.Time{}
	}
	d.last[key] = t
}

// AutoScalingAPI is the part of the Auto Scaling client the ASG actuator
// uses.
type AutoScalingAPI interface {
	DescribeAutoScalingGroups(context.Context, *autoscaling.DescribeAutoScalingGroupsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	UpdateAutoScalingGroup(context.Context, *autoscaling.UpdateAutoScalingGroupInput, ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error)
	SetDesiredCapacity(context.Context, *autoscaling.SetDesiredCapacityInput, ...func(*autoscaling.Options)) (*autoscaling.SetDesiredCapacityOutput, error)
}

// ASGFloor is a NodeFloor for an EC2 Auto Scaling group.
type ASGFloor struct {
	NodeFloor
	// Group is the Auto Scaling group's name.
	Group string
	// Capacity is MinSize (default when empty) or DesiredCapacity.
	Capacity CapacityMode
}

// ASG raises (and lowers, along the scale-down limits) the minimum of EC2
// Auto Scaling groups. In the default MinSize mode it writes only MinSize:
// never DesiredCapacity, which the Cluster Autoscaler owns.
type ASG struct {
	Client   AutoScalingAPI
	Recorder actuator.Recorder
	// Now is the clock; nil means time.Now.
	Now  func() time.Time
	down decreases
}

func (a *ASG) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Apply brings the group to the desired floor (level-triggered: call it
// every tick).
func (a *ASG) Apply(ctx context.Context, d ASGFloor) (actuator.Change, error) {
	return actuator.Run(ctx, a.Recorder, d.Mode, d.Ref, d.Reasons, func(ctx context.Context) (actuator.Observation, error) {
		out, err := a.Client.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{d.Group}})
		if err != nil {
			return actuator.Observation{}, fmt.Errorf("describe auto scaling group %s: %w", d.Group, explain(err))
		}
		if len(out.AutoScalingGroups) == 0 {
			return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("auto scaling group %s not found", d.Group)}}, nil
		}
		g := out.AutoScalingGroups[0]
		gmin, gmax, gdes := int(deref(g.MinSize)), int(deref(g.MaxSize)), int(deref(g.DesiredCapacity))
		if d.Capacity == DesiredCapacity {
			return a.desired(d, gmin, gmax, gdes), nil
		}
		dec := DecideFloor(gmin, gmax, d.NodeFloor, a.down.get(d.Group), a.now())
		obs := actuator.Observation{Notes: dec.Notes}
		if dec.Want == gmin {
			return obs, nil
		}
		obs.Fields = []actuator.FieldChange{{Field: "MinSize", From: strconv.Itoa(gmin), To: strconv.Itoa(dec.Want)}}
		if dec.Want > gdes {
			obs.Notes = append(obs.Notes, fmt.Sprintf("the group raises its desired capacity %d to the new minimum itself", gdes))
		}
		obs.Write = func(ctx context.Context) error {
			_, err := a.Client.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
				AutoScalingGroupName: sdkaws.String(d.Group),
				MinSize:              sdkaws.Int32(int32(dec.Want)),
			})
			if err != nil {
				return fmt.Errorf("update auto scaling group %s MinSize %d: %w", d.Group, dec.Want, explain(err))
			}
			if dec.Decrease {
				a.down.set(d.Group, a.now())
			}
			return nil
		}
		return obs, nil
	})
}

// desired is the DesiredCapacity mode: only upward, within the group's
// bounds.
func (a *ASG) desired(d ASGFloor, gmin, gmax, gdes int) actuator.Observation {
	want := max(d.Min, d.OwnerMin)
	var notes []string
	if want > gmax {
		notes = append(notes, fmt.Sprintf("bound: planned %d nodes, group maximum is %d", want, gmax))
		want = gmax
	}
	want = max(want, gmin)
	if want <= gdes {
		if want < gdes {
			notes = append(notes, fmt.Sprintf("desired capacity %d already above the planned %d: only raised, never lowered", gdes, want))
		}
		return actuator.Observation{Notes: notes}
	}
	return actuator.Observation{
		Notes:  notes,
		Fields: []actuator.FieldChange{{Field: "DesiredCapacity", From: strconv.Itoa(gdes), To: strconv.Itoa(want)}},
		Write: func(ctx context.Context) error {
			_, err := a.Client.SetDesiredCapacity(ctx, &autoscaling.SetDesiredCapacityInput{
				AutoScalingGroupName: sdkaws.String(d.Group),
				DesiredCapacity:      sdkaws.Int32(int32(want)),
				HonorCooldown:        sdkaws.Bool(false),
			})
			if err != nil {
				return fmt.Errorf("set desired capacity of %s to %d: %w", d.Group, want, explain(err))
			}
			return nil
		},
	}
}

// EKSAPI is the part of the EKS client the node group actuator uses.
type EKSAPI interface {
	DescribeNodegroup(context.Context, *eks.DescribeNodegroupInput, ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error)
	UpdateNodegroupConfig(context.Context, *eks.UpdateNodegroupConfigInput, ...func(*eks.Options)) (*eks.UpdateNodegroupConfigOutput, error)
}

// EKSFloor is a NodeFloor for an EKS managed node group.
type EKSFloor struct {
	NodeFloor
	Cluster   string
	Nodegroup string
}

// EKSNodegroup raises (and lowers, along the scale-down limits) the
// scalingConfig.minSize of EKS managed node groups.
//
// EKS rejects a minSize above the current desiredSize, unlike an Auto
// Scaling group, which raises its desired capacity itself. So when the new
// minimum is above the desired size, the same update raises desiredSize
// to the new minimum, exactly what the group would do, and never lowers
// it: the Cluster Autoscaler keeps owning desiredSize above the floor.
type EKSNodegroup struct {
	Client   EKSAPI
	Recorder actuator.Recorder
	Now      func() time.Time
	down     decreases
}

func (a *EKSNodegroup) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Apply brings the node group to the desired floor.
func (a *EKSNodegroup) Apply(ctx context.Context, d EKSFloor) (actuator.Change, error) {
	key := d.Cluster + "/" + d.Nodegroup
	return actuator.Run(ctx, a.Recorder, d.Mode, d.Ref, d.Reasons, func(ctx context.Context) (actuator.Observation, error) {
		out, err := a.Client.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: sdkaws.String(d.Cluster), NodegroupName: sdkaws.String(d.Nodegroup)})
		if err != nil {
			var nf *ekstypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("eks node group %s not found", key)}}, nil
			}
			return actuator.Observation{}, fmt.Errorf("describe eks node group %s: %w", key, explain(err))
		}
		ng := out.Nodegroup
		if ng == nil || ng.ScalingConfig == nil {
			return actuator.Observation{}, fmt.Errorf("describe eks node group %s: no scaling config in the reply", key)
		}
		if ng.Status != ekstypes.NodegroupStatusActive {
			return actuator.Observation{Status: actuator.Waiting, Notes: []string{fmt.Sprintf("eks node group %s is %s, not ACTIVE", key, ng.Status)}}, nil
		}
		sc := ng.ScalingConfig
		gmin, gmax, gdes := int(deref(sc.MinSize)), int(deref(sc.MaxSize)), int(deref(sc.DesiredSize))
		dec := DecideFloor(gmin, gmax, d.NodeFloor, a.down.get(key), a.now())
		obs := actuator.Observation{Notes: dec.Notes}
		if dec.Want == gmin {
			return obs, nil
		}
		obs.Fields = []actuator.FieldChange{{Field: "minSize", From: strconv.Itoa(gmin), To: strconv.Itoa(dec.Want)}}
		cfg := &ekstypes.NodegroupScalingConfig{MinSize: sdkaws.Int32(int32(dec.Want))}
		if dec.Want > gdes {
			cfg.DesiredSize = sdkaws.Int32(int32(dec.Want))
			obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "desiredSize", From: strconv.Itoa(gdes), To: strconv.Itoa(dec.Want)})
			obs.Notes = append(obs.Notes, "EKS refuses a minSize above desiredSize: desiredSize raised to the new minimum, as an Auto Scaling group does itself")
		}
		obs.Write = func(ctx context.Context) error {
			_, err := a.Client.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{
				ClusterName: sdkaws.String(d.Cluster), NodegroupName: sdkaws.String(d.Nodegroup), ScalingConfig: cfg,
			})
			if err != nil {
				return fmt.Errorf("update eks node group %s minSize %d: %w", key, dec.Want, explain(err))
			}
			if dec.Decrease {
				a.down.set(key, a.now())
			}
			return nil
		}
		return obs, nil
	})
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// MinSize reads an Auto Scaling group's MinSize; found is false when the
// group does not exist.
func (a *ASG) MinSize(ctx context.Context, group string) (size int, found bool, err error) {
	out, err := a.Client.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil {
		return 0, false, fmt.Errorf("describe auto scaling group %s: %w", group, explain(err))
	}
	if len(out.AutoScalingGroups) == 0 {
		return 0, false, nil
	}
	return int(deref(out.AutoScalingGroups[0].MinSize)), true, nil
}

// MinSize reads an EKS node group's scalingConfig.minSize; found is false
// when the node group does not exist.
func (a *EKSNodegroup) MinSize(ctx context.Context, cluster, nodegroup string) (size int, found bool, err error) {
	out, err := a.Client.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: sdkaws.String(cluster), NodegroupName: sdkaws.String(nodegroup)})
	var nf *ekstypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("describe eks node group %s/%s: %w", cluster, nodegroup, explain(err))
	}
	if out.Nodegroup == nil || out.Nodegroup.ScalingConfig == nil {
		return 0, false, fmt.Errorf("describe eks node group %s/%s: no scaling config in the reply", cluster, nodegroup)
	}
	return int(deref(out.Nodegroup.ScalingConfig.MinSize)), true, nil
}
