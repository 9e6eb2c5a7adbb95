package metrics

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// HPAUsage finds the pods an HPA scales and reads their usage: the HPA's
// scaleTargetRef, that workload's scale subresource for the pods' label
// selector (the same selector the HPA itself uses), then PodUsage, and the
// Pods with that selector for their state and CPU requests.
type HPAUsage struct {
	Kube  kubernetes.Interface
	Usage *PodUsage
}

// Of returns the usage and CPU requests of the pods behind the HPA
// namespace/name. Only the workloads of apps/v1 (Deployment, StatefulSet,
// ReplicaSet) are resolved; the Pods are then found by the selector alone,
// whatever their owner.
//
// Usage, count and requests are of the same pods: those the metrics API
// reports that are serving (running, ready, not being deleted), so that
// CPU per pod, demand per pod and the capacity they imply describe the
// pods that take the demand, not ones starting up or draining. Four API
// reads: the HPA, the scale, the pod metrics and the Pods.
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
	measured, err := h.Usage.list(ctx, namespace, sel)
	if err != nil {
		return Usage{}, fmt.Errorf("hpa %s/%s: %w", namespace, name, err)
	}
	pods, err := h.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return Usage{}, fmt.Errorf("hpa %s/%s: pods of %s %s (%s): %w", namespace, name, ref.Kind, ref.Name, sel, err)
	}
	byName := make(map[string]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		if p := &pods.Items[i]; serving(p) {
			byName[p.Name] = p
		}
	}
	var u Usage
	var milli int64
	for i := range measured {
		pod := byName[measured[i].Name]
		if pod == nil {
			continue
		}
		u.add(&measured[i])
		m, err := PodCPURequest(pod)
		if err != nil && u.NoRequest == "" {
			u.NoRequest = err.Error()
		}
		milli += m
	}
	if u.NoRequest == "" {
		u.CPURequestCores = float64(milli) / 1000
	}
	return u, nil
}
