// Package headroom reserves node capacity the Kubernetes-native way, in
// one of two forms.
//
// Where the cluster serves the Cluster Autoscaler's CapacityBuffer API
// (autoscaling.x-k8s.io), prescale server-side applies a CapacityBuffer
// whose spec.replicas is the planned headroom and whose spec.scalableRef
// is the placeholder Deployment: the autoscaler takes one unit's shape from
// that Deployment's pod template and adds nodes for simulated pods, which
// real pods never have to preempt. Placeholder pods prescale scaled up
// before a switch to the buffer are handed over to it, the buffer first,
// and only when prescale alone owns their count (handover.go).
//
// Elsewhere it scales the placeholder Deployment of pause pods itself,
// with a negative PriorityClass. The pending placeholder pods make the
// Cluster Autoscaler add nodes ahead of demand; when real pods need the
// room, the scheduler preempts the placeholders at once, so the real pods
// start on a node that already exists instead of waiting minutes for one.
// A CapacityBuffer prescale applied before a switch back to the
// Deployment is handed back the same way, the pods first, then the
// buffer's replicas to 0 (handback.go).
//
// The placeholder Deployment (its pod size, its PriorityClass) belongs to
// the cluster's manifests; prescale changes only its replica count, and
// only through the scale subresource, so its RBAC can stay without the
// right to patch Deployments. Every change is a Kubernetes Event on the
// object changed.
package headroom

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/internal/kubeevent"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "prescale"

// ReasonHeadroomChanged is the reason of the Event recording a change of
// the placeholder's replicas or the CapacityBuffer's.
const ReasonHeadroomChanged = "PrescaleHeadroomChanged"

// Strategy is how headroom is reserved. Its values are the policy's
// spec.nodeGroups[].placeholder.mode.
type Strategy string

// Strategies.
const (
	// Auto uses a CapacityBuffer where the cluster serves that API, the
	// placeholder Deployment otherwise. The default.
	Auto Strategy = "auto"
	// Deployment always scales the placeholder Deployment.
	Deployment Strategy = "deployment"
	// CapacityBuffer always applies a CapacityBuffer; it fails where the
	// API is not served rather than reserving nothing silently.
	CapacityBuffer Strategy = "capacityBuffer"
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
	Target string
	// Namespace and Name are the placeholder Deployment's, and the
	// CapacityBuffer's when one is used.
	Namespace, Name string
	// Strategy is how the headroom is reserved; empty means Auto.
	Strategy Strategy
	// Replicas is the planned number of placeholder pods.
	Replicas int
	// MaxStepDown is the largest decrease per Period (0: one pod);
	// Period 0 means no wait between decreases.
	MaxStepDown int
	Period      time.Duration
}

// Actuator scales placeholder Deployments and applies CapacityBuffers.
type Actuator struct {
	Client kubernetes.Interface
	// Dynamic reaches CapacityBuffers (a custom resource); nil limits the
	// actuator to placeholder Deployments.
	Dynamic  dynamic.Interface
	Recorder actuator.Recorder
	Now      func() time.Time
	// Logger receives what is not a Change (an Event that could not be
	// written). Nil means slog.Default.
	Logger *slog.Logger

	mu   sync.Mutex
	down map[string]time.Time
	api  bufferAPI
}

func (a *Actuator) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// event records a change on the object it changed; failing to is logged,
// not returned, since the change itself was made.
func (a *Actuator) event(ctx context.Context, obj corev1.ObjectReference, ch actuator.Change) {
	if ch.Status != actuator.Applied {
		return
	}
	if err := kubeevent.Record(ctx, a.Client, obj, ReasonHeadroomChanged, ch); err != nil {
		a.log().Warn("event not written", "err", err)
	}
}

func (a *Actuator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Apply reserves the planned headroom, coming down no faster than the
// limits: through a CapacityBuffer or the placeholder Deployment, as
// d.Strategy and the cluster's APIs decide (level-triggered: call it every
// tick).
func (a *Actuator) Apply(ctx context.Context, d Desired) (actuator.Change, error) {
	ref := actuator.Ref{Kind: "nodegroup", Name: d.Namespace + "/" + d.Name, Target: d.Target}
	use, notes, err := a.choose(ctx, d.Strategy)
	if err != nil {
		return actuator.Run(ctx, a.Recorder, d.Mode, ref, d.Reasons, func(context.Context) (actuator.Observation, error) {
			return actuator.Observation{Notes: notes}, err
		})
	}
	d.Reasons = append(append([]string(nil), d.Reasons...), notes...)
	if use.Resource != "" {
		return a.applyBuffer(ctx, ref, d, use)
	}
	return a.applyDeployment(ctx, ref, d)
}

// applyDeployment scales the placeholder Deployment to the planned number
// of pods. It checks that the placeholder pods have a negative priority
// and says so when they do not: a placeholder at priority 0 would compete
// with real pods instead of making room for them. Where the CapacityBuffer
// API is served, the room a buffer prescale applied before a switch back
// to this form still holds is handed back to the pods (handback.go). Each
// object written gets the Event.
func (a *Actuator) applyDeployment(ctx context.Context, ref actuator.Ref, d Desired) (actuator.Change, error) {
	gvr, notes := a.bufferLeftAPI(ctx)
	d.Reasons = append(d.Reasons, notes...)
	var w deploymentWrites
	ch, err := actuator.Run(ctx, a.Recorder, d.Mode, ref, d.Reasons, actuator.ObserveAgainOnConflict(d.Mode, func(ctx context.Context) (actuator.Observation, error) {
		return a.observeDeployment(ctx, d, gvr, &w)
	}))
	if w.deployment != nil {
		a.event(ctx, corev1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: w.deployment.Namespace, Name: w.deployment.Name,
			UID: w.deployment.UID}, ch)
	}
	if w.buffer != nil {
		a.event(ctx, corev1.ObjectReference{APIVersion: gvr.GroupVersion().String(), Kind: BufferKind,
			Namespace: w.buffer.GetNamespace(), Name: w.buffer.GetName(), UID: w.buffer.GetUID()}, ch)
	}
	return ch, err
}

// deploymentWrites are what the Deployment path wrote, for their Events
// and for the record: a write that loses a race observes again, and the
// moves an earlier attempt already made stay in the Change.
type deploymentWrites struct {
	deployment *appsv1.Deployment
	buffer     *unstructured.Unstructured // scaled to 0 by the hand-back
	done       []actuator.FieldChange
}

// observeDeployment reads the placeholder Deployment, and the buffer left
// from capacityBuffer mode when gvr names the served API, and decides.
func (a *Actuator) observeDeployment(ctx context.Context, d Desired, gvr schema.GroupVersionResource, w *deploymentWrites) (actuator.Observation, error) {
	key := d.Namespace + "/" + d.Name
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
	back, err := a.planHandBack(ctx, d, gvr)
	if err != nil {
		return actuator.Observation{}, err
	}
	notes = append(notes, back.notes...)
	cur := 1
	if dep.Spec.Replicas != nil {
		cur = int(*dep.Spec.Replicas)
	}
	want, n, decrease := decide(cur, d, a.lastDown(key), a.now())
	notes = append(notes, n...)
	// The pods take over the room the buffer holds before it goes.
	want = max(want, back.units)
	decrease = decrease && want < cur
	if back.units > max(d.Replicas, 0) {
		notes = append(notes, fmt.Sprintf("the placeholder deployment keeps the %d pods' worth of room the buffer held, above the planned %d, and comes down along the scale-down limits", back.units, max(d.Replicas, 0)))
	}
	obs := actuator.Observation{Notes: notes, Fields: append([]actuator.FieldChange(nil), w.done...)}
	if want != cur {
		obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "replicas", From: strconv.Itoa(cur), To: strconv.Itoa(want)})
	}
	if back.units > 0 {
		obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "capacitybuffer replicas", From: strconv.Itoa(back.units), To: "0"})
	}
	if len(obs.Fields) == 0 {
		return obs, nil
	}
	// In this order: the pods hold the buffer's room before it goes.
	obs.Write = func(ctx context.Context) error {
		if want != cur {
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				s, err := deps.GetScale(ctx, d.Name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				s.Spec.Replicas = int32(want)
				_, err = deps.UpdateScale(ctx, d.Name, &autoscalingv1.Scale{ObjectMeta: s.ObjectMeta, Spec: s.Spec}, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			})
			if err != nil {
				return fmt.Errorf("scale placeholder deployment %s to %d: %w", key, want, err)
			}
			w.deployment = dep
			w.done = append(w.done, actuator.FieldChange{Field: "replicas", From: strconv.Itoa(cur), To: strconv.Itoa(want)})
			if decrease {
				a.markDown(key)
			}
		}
		if back.units > 0 {
			var bw bufferWrites
			if err := a.writeBuffer(ctx, d, gvr, 0, back.rv, false, &bw); err != nil {
				return fmt.Errorf("hand capacitybuffer %s back to the placeholder deployment (%d pods): %w", key, want, err)
			}
			w.buffer = bw.buffer
		}
		return nil
	}
	return obs, nil
}

// markDown remembers a decrease, for the scale-down period. Both forms
// share it: switching between them does not reset the pacing.
func (a *Actuator) markDown(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down == nil {
		a.down = map[string]time.Time{}
	}
	a.down[key] = a.now()
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
