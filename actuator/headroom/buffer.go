package headroom

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/prescale/prescale/actuator"
)

// The Cluster Autoscaler's CapacityBuffer API
// (kubernetes/autoscaler, cluster-autoscaler/apis/capacitybuffer).
const (
	BufferGroup    = "autoscaling.x-k8s.io"
	BufferResource = "capacitybuffers"
	BufferKind     = "CapacityBuffer"
)

// DetectEvery is how long a finding about the CapacityBuffer API is kept
// before discovery is asked again: an API installed (or removed) later is
// picked up within it, and a steady state costs no discovery call per tick.
const DetectEvery = 5 * time.Minute

// bufferAPI is the last discovery finding.
type bufferAPI struct {
	at  time.Time
	gvr schema.GroupVersionResource // Resource "" when not served
}

// BufferAPI asks discovery which version of autoscaling.x-k8s.io serves
// capacitybuffers, in the server's order of preference (its preferred
// version first). Resource is "" when none does.
func (a *Actuator) BufferAPI(ctx context.Context) (schema.GroupVersionResource, error) {
	disc := a.Client.Discovery()
	groups, err := disc.ServerGroupsWithContext(ctx)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("discover API groups: %w", err)
	}
	for _, g := range groups.Groups {
		if g.Name != BufferGroup {
			continue
		}
		versions := append([]metav1.GroupVersionForDiscovery{g.PreferredVersion}, g.Versions...)
		for _, v := range versions {
			if v.GroupVersion == "" {
				continue
			}
			list, err := disc.ServerResourcesForGroupVersionWithContext(ctx, v.GroupVersion)
			if apierrors.IsNotFound(err) {
				continue // removed since the group list was read
			}
			if err != nil {
				return schema.GroupVersionResource{}, fmt.Errorf("discover %s: %w", v.GroupVersion, err)
			}
			for _, r := range list.APIResources {
				if r.Name == BufferResource && r.Kind == BufferKind {
					return schema.GroupVersionResource{Group: BufferGroup, Version: v.Version, Resource: BufferResource}, nil
				}
			}
		}
	}
	return schema.GroupVersionResource{}, nil
}

// choose resolves the strategy: the CapacityBuffer resource to use, or a
// zero one for the placeholder Deployment, with a note saying why.
func (a *Actuator) choose(ctx context.Context, s Strategy) (schema.GroupVersionResource, []string, error) {
	if s == Deployment {
		return schema.GroupVersionResource{}, nil, nil
	}
	if s != "" && s != Auto && s != CapacityBuffer {
		return schema.GroupVersionResource{}, nil, fmt.Errorf("unknown headroom strategy %q", s)
	}
	gvr, err := a.detect(ctx)
	if err != nil {
		return schema.GroupVersionResource{}, nil, err
	}
	switch {
	case gvr.Resource == "" && s == CapacityBuffer:
		return schema.GroupVersionResource{}, nil, fmt.Errorf("placeholder mode capacityBuffer: the cluster does not serve %s.%s (install the Cluster Autoscaler's CRD, or use mode auto or deployment)", BufferResource, BufferGroup)
	case gvr.Resource == "":
		return schema.GroupVersionResource{}, []string{fmt.Sprintf("%s.%s not served: headroom through the placeholder Deployment", BufferResource, BufferGroup)}, nil
	case a.Dynamic == nil && s == CapacityBuffer:
		return schema.GroupVersionResource{}, nil, errors.New("placeholder mode capacityBuffer: prescale was started without a dynamic client")
	case a.Dynamic == nil:
		return schema.GroupVersionResource{}, []string{"CapacityBuffer API served, but no dynamic client: headroom through the placeholder Deployment"}, nil
	}
	return gvr, []string{fmt.Sprintf("headroom through a CapacityBuffer (%s/%s)", BufferGroup, gvr.Version)}, nil
}

// detect is BufferAPI's finding, asked again once it is DetectEvery old;
// the strategy choice and the Deployment path's check for a buffer left
// from capacityBuffer mode share it. A failure is not kept.
func (a *Actuator) detect(ctx context.Context) (schema.GroupVersionResource, error) {
	a.mu.Lock()
	found := a.api
	a.mu.Unlock()
	if found.at.IsZero() || a.now().Sub(found.at) >= DetectEvery {
		gvr, err := a.BufferAPI(ctx)
		if err != nil {
			return schema.GroupVersionResource{}, err
		}
		found = bufferAPI{at: a.now(), gvr: gvr}
		a.mu.Lock()
		a.api = found
		a.mu.Unlock()
	}
	return found.gvr, nil
}

// applyBuffer applies a CapacityBuffer named like the placeholder
// Deployment, in its namespace: spec.replicas is the planned headroom and
// spec.scalableRef the Deployment, whose pod template is the shape of one
// unit. spec.provisioningStrategy is left to the server's default, the
// active capacity strategy, because its spelling differs between API
// versions ("buffer.x-k8s.io/active-capacity" in v1beta1,
// "active-capacity" in v1). Placeholder pods prescale scaled up before the
// switch are handed over to the buffer (handover.go). Each object written
// gets the Event.
func (a *Actuator) applyBuffer(ctx context.Context, ref actuator.Ref, d Desired, gvr schema.GroupVersionResource) (actuator.Change, error) {
	var w bufferWrites
	ch, err := actuator.Run(ctx, a.Recorder, d.Mode, ref, d.Reasons, actuator.ObserveAgainOnConflict(d.Mode, func(ctx context.Context) (actuator.Observation, error) {
		return a.observeBuffer(ctx, d, gvr, &w)
	}))
	if w.buffer != nil {
		a.event(ctx, corev1.ObjectReference{APIVersion: gvr.GroupVersion().String(), Kind: BufferKind,
			Namespace: w.buffer.GetNamespace(), Name: w.buffer.GetName(), UID: w.buffer.GetUID()}, ch)
	}
	if w.placeholder != nil {
		a.event(ctx, corev1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment",
			Namespace: w.placeholder.Namespace, Name: w.placeholder.Name, UID: w.placeholder.UID}, ch)
	}
	return ch, err
}

// bufferWrites are the objects the buffer path wrote, for their Events.
type bufferWrites struct {
	buffer      *unstructured.Unstructured
	placeholder *appsv1.Deployment // scaled to 0 by the hand-over
}

// observeBuffer reads the buffer and its Deployment and decides.
func (a *Actuator) observeBuffer(ctx context.Context, d Desired, gvr schema.GroupVersionResource, w *bufferWrites) (actuator.Observation, error) {
	key := d.Namespace + "/" + d.Name
	dep, err := a.Client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return actuator.Observation{Status: actuator.Missing,
			Notes: []string{fmt.Sprintf("placeholder deployment %s not found: the CapacityBuffer takes one unit's shape from its pod template; create it from deploy/ first", key)}}, nil
	}
	if err != nil {
		return actuator.Observation{}, fmt.Errorf("get placeholder deployment %s: %w", key, err)
	}
	buffers := a.Dynamic.Resource(gvr).Namespace(d.Namespace)
	cur, exists := 0, true
	var rv string
	var theirTemplate bool
	b, err := buffers.Get(ctx, d.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		exists = false
	case err != nil:
		return actuator.Observation{}, fmt.Errorf("get capacitybuffer %s: %w", key, err)
	default:
		rv = b.GetResourceVersion()
		if r, found, err := unstructured.NestedInt64(b.Object, "spec", "replicas"); err != nil {
			return actuator.Observation{}, fmt.Errorf("capacitybuffer %s: spec.replicas: %w", key, err)
		} else if found {
			cur = int(r)
		}
		_, theirTemplate, _ = unstructured.NestedMap(b.Object, "spec", "podTemplateRef")
	}

	hand, err := planHandOver(dep, theirTemplate)
	if err != nil {
		return actuator.Observation{}, err
	}
	want, n, decrease := decide(cur, d, a.lastDown(key), a.now())
	// The buffer takes over the room the pods hold before they go.
	want = max(want, hand.pods)
	decrease = decrease && want < cur
	obs := actuator.Observation{Notes: append(hand.notes, n...)}
	if hand.pods > max(d.Replicas, 0) {
		obs.Notes = append(obs.Notes, fmt.Sprintf("the buffer keeps the %d units the pods held, above the planned %d, and comes down along the scale-down limits", hand.pods, max(d.Replicas, 0)))
	}
	if theirTemplate {
		obs.Notes = append(obs.Notes, "the buffer names a podTemplateRef: its unit's shape is kept, only replicas are set")
	}
	setBuffer := !exists || want != cur
	if setBuffer {
		from := strconv.Itoa(cur)
		if !exists {
			from = "absent"
		}
		obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "capacitybuffer replicas", From: from, To: strconv.Itoa(want)})
	}
	if hand.pods > 0 {
		obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "placeholder deployment replicas", From: strconv.Itoa(hand.pods), To: "0"})
	}
	if len(obs.Fields) == 0 {
		return obs, nil
	}
	// In this order: the buffer holds the pods' room before they go.
	obs.Write = func(ctx context.Context) error {
		if setBuffer {
			if err := a.writeBuffer(ctx, d, gvr, want, rv, theirTemplate, w); err != nil {
				return err
			}
			if decrease {
				a.markDown(key)
			}
		}
		if hand.pods > 0 {
			if err := a.scaleDownPlaceholder(ctx, dep); err != nil {
				return err
			}
			w.placeholder = dep
		}
		return nil
	}
	return obs, nil
}

// writeBuffer server-side applies the CapacityBuffer with want replicas;
// rv, when not empty, makes the write conditional on the buffer read.
func (a *Actuator) writeBuffer(ctx context.Context, d Desired, gvr schema.GroupVersionResource, want int, rv string, theirTemplate bool, w *bufferWrites) error {
	key := d.Namespace + "/" + d.Name
	buffers := a.Dynamic.Resource(gvr).Namespace(d.Namespace)
	spec := map[string]any{"replicas": int64(want)}
	if !theirTemplate {
		spec["scalableRef"] = map[string]any{"apiGroup": "apps", "kind": "Deployment", "name": d.Name}
	}
	meta := map[string]any{"name": d.Name, "namespace": d.Namespace,
		"labels": map[string]any{"app.kubernetes.io/managed-by": FieldManager}}
	if rv != "" {
		meta["resourceVersion"] = rv // optimistic concurrency: a conflict re-reads
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvr.GroupVersion().String(), "kind": BufferKind, "metadata": meta, "spec": spec}}
	out, err := buffers.Apply(ctx, d.Name, obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("apply capacitybuffer %s replicas %d: %w", key, want, err)
	}
	w.buffer = out
	return nil
}
