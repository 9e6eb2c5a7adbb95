package headroom

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The hand-over from the placeholder Deployment to a CapacityBuffer.
//
// A node group switched from placeholder mode deployment to capacityBuffer
// may still run the pause pods prescale scaled up before the switch. They
// reserve room on top of the buffer's, nodes nobody planned for, until they
// are scaled to 0. prescale does that itself, in the same write that
// applies the buffer, but only when
//   - the pods are prescale's: FieldManager is the only manager of the
//     Deployment's spec.replicas. A person, a GitOps tool or another
//     controller that set or shares the count keeps it; prescale warns
//     instead of fighting an owner;
//   - the buffer's units are the pods' shape: a buffer that names its own
//     podTemplateRef counts units of another size, and its replicas say
//     nothing about the room the pods hold.
//
// The room is handed over before the pods go: the buffer is raised to at
// least as many units as the pods (the plan's value when it is higher),
// written first, and only then is the Deployment scaled to 0, on the
// condition that it is still the object read. The alternative, scaling the
// Deployment to max(0, pods − buffer units) at each tick, also never takes
// a pod away that the buffer does not cover, but when the plan is below
// the pods it lets the room fall to the plan within two ticks, past the
// scale-down limits. Handing over the room itself lets the buffer come
// down from the pods' count along those limits like any other decrease,
// and the pods go in one step instead of lingering.
//
// The opposite switch, back to the Deployment, hands a buffer's room back
// to the pods the same way (handback.go).

// handOver is what the buffer path does with the placeholder's pods.
type handOver struct {
	// pods is the number of placeholder pods to hand over to the buffer;
	// 0 when there are none or they are not prescale's to remove.
	pods int
	// notes say what was decided and why.
	notes []string
}

// planHandOver decides whether the placeholder's pods are handed over to
// the CapacityBuffer. theirTemplate is whether the buffer names its own
// podTemplateRef.
func planHandOver(dep *appsv1.Deployment, theirTemplate bool) (handOver, error) {
	key := dep.Namespace + "/" + dep.Name
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas <= 0 {
		return handOver{}, nil
	}
	n := int(*dep.Spec.Replicas)
	warning := fmt.Sprintf("warning: placeholder deployment %s also runs %d pods, reserving room on top of the CapacityBuffer; scale it to 0", key, n)
	if theirTemplate {
		return handOver{notes: []string{warning + " (not handed over: the buffer's units take their shape from its podTemplateRef, not from these pods)"}}, nil
	}
	owner, err := replicasOwner(dep.ManagedFields)
	if err != nil {
		return handOver{}, fmt.Errorf("placeholder deployment %s: %w", key, err)
	}
	if owner != "" {
		return handOver{notes: []string{fmt.Sprintf("%s (not handed over: its replicas are managed by %s, not %s alone)", warning, owner, FieldManager)}}, nil
	}
	return handOver{pods: n, notes: []string{fmt.Sprintf(
		"placeholder deployment %s runs %d pods %s scaled up: handed over to the CapacityBuffer, which holds at least %d units before the deployment goes to 0",
		key, n, FieldManager, n)}}, nil
}

// replicasOwner is "" when FieldManager alone manages spec.replicas in
// entries (the object's count is prescale's to hand over or back), and
// otherwise who does, for the warning.
func replicasOwner(entries []metav1.ManagedFieldsEntry) (string, error) {
	managers, err := replicasManagers(entries)
	switch {
	case err != nil:
		return "", err
	case len(managers) == 0:
		return "no field manager", nil
	case len(managers) == 1 && managers[0] == FieldManager:
		return "", nil
	}
	return strings.Join(managers, ", "), nil
}

// replicasManagers lists, each once and sorted, the field managers whose
// managedFields entries (of the placeholder Deployment or the
// CapacityBuffer) hold spec.replicas, whatever the operation (an apply, an
// update, an update through the scale subresource).
func replicasManagers(entries []metav1.ManagedFieldsEntry) ([]string, error) {
	var out []string
	for _, mf := range entries {
		if mf.FieldsV1 == nil {
			continue
		}
		var fields struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		if err := json.Unmarshal(mf.FieldsV1.Raw, &fields); err != nil {
			return nil, fmt.Errorf("managedFields of %s: %w", mf.Manager, err)
		}
		if _, ok := fields.Spec["f:replicas"]; ok && !slices.Contains(out, mf.Manager) {
			out = append(out, mf.Manager)
		}
	}
	slices.Sort(out)
	return out, nil
}

// scaleDownPlaceholder scales the placeholder Deployment to 0 through its
// scale subresource, the only write on Deployments prescale's RBAC grants.
// The resourceVersion read makes it conditional: if the Deployment changed
// since it was judged (pods added, another owner), the write is a 409
// Conflict and ObserveAgainOnConflict decides again on what is there now,
// so no pod the buffer was not raised for is ever removed.
func (a *Actuator) scaleDownPlaceholder(ctx context.Context, dep *appsv1.Deployment) error {
	s := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: dep.Name, Namespace: dep.Namespace, ResourceVersion: dep.ResourceVersion},
		Spec:       autoscalingv1.ScaleSpec{Replicas: 0},
	}
	if _, err := a.Client.AppsV1().Deployments(dep.Namespace).UpdateScale(ctx, dep.Name, s, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("scale placeholder deployment %s/%s to 0 after handing it over to the CapacityBuffer: %w", dep.Namespace, dep.Name, err)
	}
	return nil
}
