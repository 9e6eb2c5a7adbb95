package headroom

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The hand-back from a CapacityBuffer to the placeholder Deployment: the
// mirror of the hand-over (handover.go).
//
// A node group switched from placeholder mode capacityBuffer back to
// deployment still has the CapacityBuffer prescale applied. Left alone,
// its units reserve room on top of the pause pods, nodes nobody planned
// for, for as long as it exists. So the Deployment path, where the cluster
// serves the CapacityBuffer API, reads the buffer named like the
// placeholder at every tick and hands its room back, but only when
//   - the units are prescale's: FieldManager is the only manager of the
//     buffer's spec.replicas. A person, a GitOps tool or another controller
//     that set or shares the count keeps it; prescale warns instead of
//     fighting an owner;
//   - the units are the pods' shape: the buffer takes it from this
//     Deployment (spec.scalableRef), not from a podTemplateRef or another
//     workload, so one unit is one pod's worth of room.
//
// The room is handed back before the units go: the Deployment is scaled
// to at least as many pods as the buffer has units (the plan's value when
// it is higher), written first, and only then is the buffer's
// spec.replicas set to 0, by a server-side apply conditional on the
// buffer read; if the buffer changed since (raised, taken over), the write
// is a 409 Conflict and the decision is made again on what is there now,
// so no unit is removed that the pods were not raised for. The pods then
// come down from the buffer's count along the scale-down limits, like any
// other decrease. The pods' spec is raised before they run: a pending
// placeholder pod is demand to the Cluster Autoscaler as much as a buffer
// unit is, and a node emptied by the buffer's going is not removed before
// it has been unneeded for the autoscaler's scale-down-unneeded-time (10
// minutes by default), far longer than the scheduler takes to put a pod
// there.
//
// The buffer is scaled to 0, not deleted:
//   - deleting it needs the delete verb, which deploy/rbac does not grant
//     (get, patch and create on the placeholder's name); setting replicas
//     is the same server-side apply prescale already makes;
//   - the buffer may be a GitOps tool's object, in Git without replicas
//     (which prescale then owned): deleting it would make the tool put it
//     back or report it missing, and prescale would delete it again every
//     tick. Setting the one field prescale owns leaves everyone else's
//     fields, and the object, where they are;
//   - a buffer of 0 units reserves nothing: the Cluster Autoscaler adds no
//     simulated pod for it. It stays visible (kubectl get capacitybuffers
//     shows 0) with the Event that says why, and a switch back to
//     capacityBuffer applies it again.
// The cost is one read of the buffer per tick in deployment mode while
// the API is served; a buffer already at 0 needs nothing more.

// handBack is what the Deployment path does with a CapacityBuffer.
type handBack struct {
	// units is the number of buffer units to hand back to the pods; 0
	// when there is no buffer, it holds none, or they are not prescale's.
	units int
	// rv is the buffer's resourceVersion read, which the write to 0 is
	// conditional on.
	rv string
	// notes say what was decided and why.
	notes []string
}

// bufferLeftAPI is the CapacityBuffer resource the Deployment path checks
// for a buffer left from capacityBuffer mode: the served one, from the
// discovery finding the strategy choice shares. Resource is "" when the
// API is not served or there is no dynamic client to reach it. A failed
// discovery does not stop the Deployment path, which reserves the pods'
// room as before; it is a note, and discovery is asked again next tick.
func (a *Actuator) bufferLeftAPI(ctx context.Context) (schema.GroupVersionResource, []string) {
	if a.Dynamic == nil {
		return schema.GroupVersionResource{}, nil
	}
	gvr, err := a.detect(ctx)
	if err != nil {
		return schema.GroupVersionResource{}, []string{fmt.Sprintf("warning: no check for a CapacityBuffer left from placeholder mode capacityBuffer, which would reserve room on top of the pods: %v", err)}
	}
	return gvr, nil
}

// planHandBack reads the CapacityBuffer named like the placeholder
// Deployment and decides whether its units are handed back to the pods.
// gvr.Resource "" means there is nothing to read.
func (a *Actuator) planHandBack(ctx context.Context, d Desired, gvr schema.GroupVersionResource) (handBack, error) {
	if gvr.Resource == "" {
		return handBack{}, nil
	}
	key := d.Namespace + "/" + d.Name
	b, err := a.Dynamic.Resource(gvr).Namespace(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return handBack{}, nil
	case apierrors.IsForbidden(err):
		// Not granted for this name (deploy/rbac lists the placeholder's):
		// the pods are still prescale's to scale.
		return handBack{notes: []string{fmt.Sprintf("warning: capacitybuffer %s not checked for units left from placeholder mode capacityBuffer (forbidden: grant get and patch on capacitybuffers for this name)", key)}}, nil
	case err != nil:
		return handBack{}, fmt.Errorf("get capacitybuffer %s: %w", key, err)
	}
	r, _, err := unstructured.NestedInt64(b.Object, "spec", "replicas")
	if err != nil {
		return handBack{}, fmt.Errorf("capacitybuffer %s: spec.replicas: %w", key, err)
	}
	if r <= 0 {
		return handBack{}, nil // handed back already, or holds nothing
	}
	n := int(r)
	warning := fmt.Sprintf("warning: capacitybuffer %s also holds %d units, reserving room on top of the placeholder deployment; scale it to 0 or delete it", key, n)
	if _, ok, _ := unstructured.NestedMap(b.Object, "spec", "podTemplateRef"); ok {
		return handBack{notes: []string{warning + " (not handed back: its units take their shape from its podTemplateRef, not from these pods)"}}, nil
	}
	ref, _, _ := unstructured.NestedStringMap(b.Object, "spec", "scalableRef")
	if ref["kind"] != "Deployment" || ref["name"] != d.Name || ref["apiGroup"] != "apps" {
		return handBack{notes: []string{fmt.Sprintf("%s (not handed back: its units take their shape from %s %q, not from this deployment)", warning, ref["kind"], ref["name"])}}, nil
	}
	owner, err := replicasOwner(b.GetManagedFields())
	if err != nil {
		return handBack{}, fmt.Errorf("capacitybuffer %s: %w", key, err)
	}
	if owner != "" {
		return handBack{notes: []string{fmt.Sprintf("%s (not handed back: its replicas are managed by %s, not %s alone)", warning, owner, FieldManager)}}, nil
	}
	return handBack{units: n, rv: b.GetResourceVersion(), notes: []string{fmt.Sprintf(
		"capacitybuffer %s holds %d units %s set: handed back to the placeholder deployment, which runs at least %d pods before the buffer goes to 0",
		key, n, FieldManager, n)}}, nil
}
