package metrics

import (
	"context"
	"fmt"
	"math"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// PodUsage reads what a workload's pods use from the Kubernetes metrics API
// (metrics.k8s.io, served by metrics-server), to check the capacity model:
// the policy says how much demand a pod serves at its target utilisation,
// and the pods' CPU says whether that holds.
type PodUsage struct {
	client metricsclient.Interface
}

// NewPodUsage reads pod metrics with client.
func NewPodUsage(client metricsclient.Interface) *PodUsage { return &PodUsage{client: client} }

// Usage is what a workload's pods used in the metrics API's last window.
type Usage struct {
	Pods        int
	CPUCores    float64 // all pods, all containers
	MemoryBytes float64
}

// CPUPerPod is the mean CPU per pod, or NaN without pods.
func (u Usage) CPUPerPod() float64 {
	if u.Pods == 0 {
		return math.NaN()
	}
	return u.CPUCores / float64(u.Pods)
}

// Workload sums the usage of the pods in namespace that match selector
// (the selector of the workload the HPA scales).
func (p *PodUsage) Workload(ctx context.Context, namespace string, selector labels.Selector) (Usage, error) {
	list, err := p.client.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return Usage{}, fmt.Errorf("pod metrics %s/%s: %w", namespace, selector, err)
	}
	var u Usage
	for _, pm := range list.Items {
		u.Pods++
		for _, c := range pm.Containers {
			u.CPUCores += c.Usage.Cpu().AsApproximateFloat64()
			u.MemoryBytes += c.Usage.Memory().AsApproximateFloat64()
		}
	}
	return u, nil
}

// ImpliedCapacity is the demand per pod at which the pods' CPU would reach
// the target utilisation of their CPU request, if CPU grows in proportion
// to demand: demandPerPod × (target × request) / cpuPerPod. Set beside the
// policy's per-pod capacity, a much lower value says the policy is too
// optimistic. It is NaN when it cannot be computed.
func ImpliedCapacity(demandPerPod, cpuPerPod, cpuRequest, targetUtilization float64) float64 {
	if !(cpuPerPod > 0) || !(cpuRequest > 0) || !(targetUtilization > 0) || !(demandPerPod > 0) {
		return math.NaN()
	}
	return demandPerPod * targetUtilization * cpuRequest / cpuPerPod
}

// ObserveUsage exports a target's pod usage and demand per pod.
func (e *Exporter) ObserveUsage(target string, u Usage, demand float64) {
	if u.Pods == 0 {
		return
	}
	e.PodCPU.WithLabelValues(target).Set(u.CPUPerPod())
	e.DemandPerPod.WithLabelValues(target).Set(demand / float64(u.Pods))
}
