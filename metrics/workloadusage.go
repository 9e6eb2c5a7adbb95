package metrics

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// HPAUsage finds the pods an HPA scales and reads their usage: the HPA's
// scaleTargetRef, that workload's scale subresource for the pods' label
// selector (the same selector the HPA itself uses), then PodUsage.
type HPAUsage struct {
	Kube  kubernetes.Interface
	Usage *PodUsage
}

// Of returns the usage of the pods behind the HPA namespace/name. Only the
// workloads of apps/v1 (Deployment, StatefulSet, ReplicaSet) are resolved.
func (h HPAUsage) Of(ctx context.Context, namespace, name string) (Usage, error) {
	hpa, err := h.Kube.AutoscalingV2().HorizontalPodAutoscalers(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Usage{}, fmt.Errorf("hpa %s/%s: %w", namespace, name, err)
	}
	ref := hpa.Spec.ScaleTargetRef
	var scale *autoscalingv1.Scale
	apps := h.Kube.AppsV1()
	switch ref.Kind {
	case "Deployment":
		scale, err = apps.Deployments(namespace).GetScale(ctx, ref.Name, metav1.GetOptions{})
	case "StatefulSet":
		scale, err = apps.StatefulSets(namespace).GetScale(ctx, ref.Name, metav1.GetOptions{})
	case "ReplicaSet":
		scale, err = apps.ReplicaSets(namespace).GetScale(ctx, ref.Name, metav1.GetOptions{})
	default:
		return Usage{}, fmt.Errorf("hpa %s/%s: scale target %s %s: only Deployments, StatefulSets and ReplicaSets are read", namespace, name, ref.Kind, ref.Name)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("hpa %s/%s: scale of %s %s: %w", namespace, name, ref.Kind, ref.Name, err)
	}
	if scale.Status.Selector == "" {
		return Usage{}, fmt.Errorf("hpa %s/%s: %s %s reports no pod selector yet", namespace, name, ref.Kind, ref.Name)
	}
	sel, err := labels.Parse(scale.Status.Selector)
	if err != nil {
		return Usage{}, fmt.Errorf("hpa %s/%s: selector %q of %s %s: %w", namespace, name, scale.Status.Selector, ref.Kind, ref.Name, err)
	}
	return h.Usage.Workload(ctx, namespace, sel)
}
