package metrics

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// PodCPURequest returns a pod's CPU request in millicores as the HPA
// divides its CPU usage by for a Utilization target, so that the implied
// capacity is on the scale the HPA acts on: the pod-level request when the
// pod sets one (KEP-2837), else the sum of its containers' requests and its
// sidecars' (init containers that restart always, which run beside the app
// and are measured with it). Plain init containers are left out: they have
// exited before the pod serves, so their request, which the scheduler's
// effective request may take, is never used while demand is served.
//
// A container without a CPU request makes the pod's request unknown, as it
// does for the HPA: the error names the container and the pod.
func PodCPURequest(pod *corev1.Pod) (int64, error) {
	if r := pod.Spec.Resources; r != nil {
		if q, ok := r.Requests[corev1.ResourceCPU]; ok {
			return q.MilliValue(), nil
		}
	}
	var milli int64
	add := func(c *corev1.Container) error {
		q, ok := c.Resources.Requests[corev1.ResourceCPU]
		if !ok {
			return fmt.Errorf("container %s of pod %s/%s has no CPU request", c.Name, pod.Namespace, pod.Name)
		}
		milli += q.MilliValue()
		return nil
	}
	for i := range pod.Spec.Containers {
		if err := add(&pod.Spec.Containers[i]); err != nil {
			return 0, err
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			continue
		}
		if err := add(c); err != nil {
			return 0, err
		}
	}
	return milli, nil
}

// serving reports whether a pod takes its share of the demand: running,
// ready and not being deleted. Only such pods are behind the Service, so
// only their CPU is the cost of the demand observed; a pod starting up or
// shutting down uses CPU for no demand (the HPA, too, leaves out pods
// being deleted and, for CPU, pods not ready yet).
func serving(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
