package metrics

import (
	"context"
	"fmt"
	"math"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
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
	// CPURequestCores sums the same pods' CPU requests, as the HPA counts
	// them (PodCPURequest). It is 0 when they were not read: Workload
	// reads only the metrics API, HPAUsage.Of also reads the Pods.
	CPURequestCores float64
	// NoRequest, when not empty, says which pod's container has no CPU
	// request: the pods' mean request, and so the capacity they imply,
	// are then unknown (the HPA cannot compute a CPU utilisation either).
	NoRequest string
}

// CPUPerPod is the mean CPU per pod, or NaN without pods.
func (u Usage) CPUPerPod() float64 {
	if u.Pods == 0 {
		return math.NaN()
	}
	return u.CPUCores / float64(u.Pods)
}

// CPURequestPerPod is the mean CPU request per pod, or NaN when it is
// unknown: no pods, requests not read, or a container without one.
func (u Usage) CPURequestPerPod() float64 {
	if u.Pods == 0 || u.NoRequest != "" || !(u.CPURequestCores > 0) {
		return math.NaN()
	}
	return u.CPURequestCores / float64(u.Pods)
}

// ImpliedCapacity is the demand one pod would serve at 100% of its CPU
// request, from what the pods serve and use now (ImpliedCapacity with a
// target of 1), or NaN and why it is unknown. 100% is the basis of the
// policy's capacity.perPod ("demand one pod serves at 100% utilisation";
// the floor plans for perPod × targetUtilization), so the two compare
// directly: below perPod, the policy is optimistic and its floors too low.
// At the target utilisation both sides would be multiplied by the same
// factor, which says nothing more.
func (u Usage) ImpliedCapacity(demand float64) (float64, string) {
	switch {
	case u.Pods == 0:
		return math.NaN(), "the metrics API reports no serving pod"
	case u.NoRequest != "":
		return math.NaN(), u.NoRequest
	case !(u.CPURequestCores > 0):
		return math.NaN(), "the pods' CPU requests were not read"
	case !(u.CPUCores > 0):
		return math.NaN(), "the pods used no CPU"
	case !(demand > 0):
		return math.NaN(), "no demand"
	}
	return ImpliedCapacity(demand/float64(u.Pods), u.CPUPerPod(), u.CPURequestPerPod(), 1), ""
}

// Workload sums the usage of the pods in namespace that match selector
// (the selector of the workload the HPA scales): every pod the metrics API
// reports, whatever its state, and without requests (see HPAUsage.Of).
func (p *PodUsage) Workload(ctx context.Context, namespace string, selector labels.Selector) (Usage, error) {
	list, err := p.list(ctx, namespace, selector)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for i := range list {
		u.add(&list[i])
	}
	return u, nil
}

// list returns the metrics of the pods in namespace that match selector.
func (p *PodUsage) list(ctx context.Context, namespace string, selector labels.Selector) ([]metricsv1beta1.PodMetrics, error) {
	list, err := p.client.MetricsV1beta1().PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("pod metrics %s/%s: %w", namespace, selector, err)
	}
	return list.Items, nil
}

// add counts one pod's usage.
func (u *Usage) add(pm *metricsv1beta1.PodMetrics) {
	u.Pods++
	for _, c := range pm.Containers {
		u.CPUCores += c.Usage.Cpu().AsApproximateFloat64()
		u.MemoryBytes += c.Usage.Memory().AsApproximateFloat64()
	}
}

// ImpliedCapacity is the demand per pod at which the pods' CPU would reach
// the target utilisation of their CPU request, if CPU grows in proportion
// to demand: demandPerPod × (target × request) / cpuPerPod. With a target
// of 1 it is on the basis of the policy's capacity.perPod (Usage's
// ImpliedCapacity); with the policy's targetUtilization it compares with
// perPod × targetUtilization, what the floor plans per pod. It is NaN when
// it cannot be computed.
func ImpliedCapacity(demandPerPod, cpuPerPod, cpuRequest, targetUtilization float64) float64 {
	if !(cpuPerPod > 0) || !(cpuRequest > 0) || !(targetUtilization > 0) || !(demandPerPod > 0) {
		return math.NaN()
	}
	return demandPerPod * targetUtilization * cpuRequest / cpuPerPod
}

// ObserveUsage exports a target's pod usage, demand per pod and the
// capacity per pod they imply. An implied capacity that cannot be computed
// is removed rather than left at its last value, so that a graph does not
// show a stale number as current; unknown says why, for the caller's log
// ("" when it was exported).
func (e *Exporter) ObserveUsage(target string, u Usage, demand float64) (unknown string) {
	implied, unknown := u.ImpliedCapacity(demand)
	if math.IsNaN(implied) {
		e.ImpliedCapacityPerPod.DeleteLabelValues(target)
	} else {
		e.ImpliedCapacityPerPod.WithLabelValues(target).Set(implied)
	}
	if u.Pods > 0 {
		e.PodCPU.WithLabelValues(target).Set(u.CPUPerPod())
		e.DemandPerPod.WithLabelValues(target).Set(demand / float64(u.Pods))
	}
	return unknown
}
