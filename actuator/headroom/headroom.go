// Package headroom reserves node capacity the Kubernetes-native way: it
// scales a placeholder Deployment of pause pods whose PriorityClass is
// negative. The pending placeholder pods make the Cluster Autoscaler add
// nodes ahead of demand; when real pods need the room, the scheduler
// preempts the placeholders at once, so the real pods start on a node that
// already exists instead of waiting minutes for one.
//
// The placeholder Deployment (its pod size, its PriorityClass) belongs to
// the cluster's manifests; prescale changes only its replica count, and
// only through the scale subresource, so its RBAC can stay without the
// right to patch Deployments.
package headroom

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/prescale/prescale/actuator"
)

// PlaceholderPriority is the priority placeholder pods should have: -10,
// the lowest value at which the Cluster Autoscaler still adds nodes for
// pending pods (its default expendable-pods-priority-cutoff), and below
// every real workload (default 0), so they are always preempted first.
const PlaceholderPriority = -10

// Desired is the headroom the plan wants: a number of placeholder pods,
// each sized (in the Deployment's manifest) to take one node's worth of
// room.
type Desired struct {
	Mode    actuator.Mode
	Reasons []string
	// Target is the policy target or node group it serves.
	Target          string
	Namespace, Name string
	// Replicas is the planned number of placeholder pods.
	Replicas int
	// MaxStepDown is the largest decrease per Period (0: one pod);
	// Period 0 means no wait between decreases.
	MaxStepDown int
	Period      time.Duration
}

// Actuator scales placeholder Deployments.
type Actuator struct {
	Client   kubernetes.Interface
	Recorder actuator.Recorder
	Now      func() time.Time

	mu   sync.Mutex
	down map[string]time.Time
}

func (a *Actuator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Apply scales the placeholder Deployment to the planned number of pods,
// coming down no faster than the limits. It checks that the placeholder
// pods have a negative priority and says so when they do not: a
// placeholder at priority 0 would compete with real pods instead of
// making room for them.
func (a *Actuator) Apply(ctx context.Context, d Desired) (actuator.Change, error) {
	ref := actuator.Ref{Kind: "nodegroup", Name: d.Namespace + "/" + d.Name, Target: d.Target}
	key := d.Namespace + "/" + d.Name
	return actuator.Run(ctx, a.Recorder, d.Mode, ref, d.Reasons, func(ctx context.Context) (actuator.Observation, error) {
		deps := a.Client.AppsV1().Deployments(d.Namespace)
		dep, err := deps.Get(ctx, d.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return actuator.Observation{Status: actuator.Missing,
				Notes: []string{fmt.Sprintf("placeholder deployment %s not found: create it from deploy/ first", key)}}, nil
		}
		if err != nil {
			return actuator.Observation{}, fmt.Errorf("get placeholder deployment %s: %w", key, err)
		}
		var notes []string
		if pc := dep.Spec.Template.Spec.PriorityClassName; pc == "" {
			notes = append(notes, "warning: placeholder pods have no priorityClassName: they compete with real pods")
		} else if p, err := a.Client.SchedulingV1().PriorityClasses().Get(ctx, pc, metav1.GetOptions{}); err == nil && p.Value >= 0 {
			notes = append(notes, fmt.Sprintf("warning: priority class %s has value %d; placeholders need a negative one (%d)", pc, p.Value, PlaceholderPriority))
		}
		cur := 1
		if dep.Spec.Replicas != nil {
			cur = int(*dep.Spec.Replicas)
		}
		want, n, decrease := decide(cur, d, a.lastDown(key), a.now())
		notes = append(notes, n...)
		obs := actuator.Observation{Notes: notes}
		if want == cur {
			return obs, nil
		}
		obs.Fields = []actuator.FieldChange{{Field: "replicas", From: strconv.Itoa(cur), To: strconv.Itoa(want)}}
		obs.Write = func(ctx context.Context) error {
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				s, err := deps.GetScale(ctx, d.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				s.Spec.Replicas = int32(want)
				_, err = deps.UpdateScale(ctx, d.Name, &autoscalingv1.Scale{ObjectMeta: s.ObjectMeta, Spec: s.Spec}, metav1.UpdateOptions{FieldManager: "prescale"})
				return err
			})
			if err != nil {
				return fmt.Errorf("scale placeholder deployment %s to %d: %w", key, want, err)
			}
			if decrease {
				a.mu.Lock()
				if a.down == nil {
					a.down = map[string]time.Time{}
				}
				a.down[key] = a.now()
				a.mu.Unlock()
			}
			return nil
		}
		return obs, nil
	})
}

func (a *Actuator) lastDown(key string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.down[key]
}

// decide is the placeholder rule: up at once, down at most MaxStepDown
// pods per Period.
func decide(cur int, d Desired, lastDown, now time.Time) (want int, notes []string, decrease bool) {
	want = max(d.Replicas, 0)
	if want >= cur {
		return want, nil, false
	}
	if d.Period > 0 && !lastDown.IsZero() && now.Sub(lastDown) < d.Period {
		return cur, []string{fmt.Sprintf("scale-down limit: last decrease %s ago, one step per %s; holding %d",
			now.Sub(lastDown).Round(time.Second), d.Period, cur)}, false
	}
	step := max(d.MaxStepDown, 1)
	if cur-want > step {
		notes = append(notes, fmt.Sprintf("scale-down limit: %d pods per step, %d → %d (planned %d)", step, cur, cur-step, want))
		want = cur - step
	}
	return want, notes, true
}
