package keda

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/prescale/prescale/actuator/hpa"
)

// Managed lists the ScaledObjects this deployment changed and has not
// restored: those carrying the owner's values and its manager name, in
// every namespace. The owner's values live in the object's annotations,
// so a restarted daemon finds them, and one whose target left the policy
// while it was down is restored (controller.ManagedLister). A cluster
// that does not serve ScaledObjects (KEDA not installed) has none.
func (a *Actuator) Managed(ctx context.Context) ([]types.NamespacedName, error) {
	list, err := a.Dynamic.Resource(ScaledObjects).Namespace("").List(ctx, metav1.ListOptions{})
	if err != nil {
		if notServed(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list scaledobjects: %w", err)
	}
	var out []types.NamespacedName
	for _, so := range list.Items {
		an := so.GetAnnotations()
		if _, ok := an[hpa.AnnotationOwnerMin]; ok && an[hpa.AnnotationManagedBy] == a.manager() {
			out = append(out, types.NamespacedName{Namespace: so.GetNamespace(), Name: so.GetName()})
		}
	}
	return out, nil
}
