package metrics

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ctr is a container named name requesting cpu ("" for no CPU request; it
// still requests memory, so that an unrelated request is not mistaken for
// one).
func ctr(name, cpu string) corev1.Container {
	c := corev1.Container{Name: name, Image: "registry.k8s.io/pause:3.10", Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}
	if cpu != "" {
		c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	return c
}

// sidecar is an init container that restarts always: it runs beside the
// app for the pod's life.
func sidecar(name, cpu string) corev1.Container {
	c := ctr(name, cpu)
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

func TestPodCPURequest(t *testing.T) {
	limitOnly := ctr("app", "")
	limitOnly.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	cases := []struct {
		name     string
		spec     corev1.PodSpec
		want     int64  // millicores
		noReqFor string // the container the error names, "" for none
	}{
		{"one container, millicores", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "250m")}}, 250, ""},
		{"whole and fractional cores", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "1"), ctr("proxy", "0.5")}}, 1500, ""},
		{"several containers", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "700m"), ctr("proxy", "150m"), ctr("log", "50m")}}, 900, ""},
		{"below a millicore rounds up, as Kubernetes does", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "100m"), ctr("tiny", "0.0001")}}, 101, ""},
		{"one container without a CPU request", corev1.PodSpec{Containers: []corev1.Container{ctr("app", "500m"), ctr("proxy", "")}}, 0, "proxy"},
		{"a limit is not a request (the API server defaults one; a spec read elsewhere may not)", corev1.PodSpec{Containers: []corev1.Container{limitOnly}}, 0, "app"},
		{"a plain init container is not counted, even without a request",
			corev1.PodSpec{InitContainers: []corev1.Container{ctr("migrate", "4"), ctr("wait", "")}, Containers: []corev1.Container{ctr("app", "500m")}}, 500, ""},
		{"a sidecar is counted", corev1.PodSpec{InitContainers: []corev1.Container{ctr("migrate", "4"), sidecar("mesh", "100m")}, Containers: []corev1.Container{ctr("app", "500m")}}, 600, ""},
		{"a sidecar without a CPU request", corev1.PodSpec{InitContainers: []corev1.Container{sidecar("mesh", "")}, Containers: []corev1.Container{ctr("app", "500m")}}, 0, "mesh"},
		{"a pod-level CPU request wins", corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
			Containers: []corev1.Container{ctr("app", "500m"), ctr("proxy", "")}}, 2000, ""},
		{"a pod-level memory request alone leaves CPU to the containers", corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
			Containers: []corev1.Container{ctr("app", "300m")}}, 300, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api-1"}, Spec: c.spec}
			got, err := PodCPURequest(pod)
			if c.noReqFor != "" {
				if err == nil || !strings.Contains(err.Error(), "container "+c.noReqFor+" of pod shop/api-1") {
					t.Fatalf("err %v, want it to name container %s of pod shop/api-1", err, c.noReqFor)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("%dm, %v; want %dm", got, err, c.want)
			}
		})
	}
}

func TestServing(t *testing.T) {
	ready := func(s corev1.ConditionStatus) []corev1.PodCondition {
		return []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: s}}
	}
	now := metav1.NewTime(time.Now())
	cases := []struct {
		name     string
		phase    corev1.PodPhase
		conds    []corev1.PodCondition
		deleting bool
		want     bool
	}{
		{"running and ready", corev1.PodRunning, ready(corev1.ConditionTrue), false, true},
		{"running, not ready", corev1.PodRunning, ready(corev1.ConditionFalse), false, false},
		{"running, readiness unknown", corev1.PodRunning, ready(corev1.ConditionUnknown), false, false},
		{"running, no Ready condition yet", corev1.PodRunning, nil, false, false},
		{"pending", corev1.PodPending, nil, false, false},
		{"terminating while still ready", corev1.PodRunning, ready(corev1.ConditionTrue), true, false},
		{"succeeded", corev1.PodSucceeded, ready(corev1.ConditionFalse), false, false},
		{"failed", corev1.PodFailed, ready(corev1.ConditionFalse), false, false},
	}
	for _, c := range cases {
		pod := &corev1.Pod{Status: corev1.PodStatus{Phase: c.phase, Conditions: c.conds}}
		if c.deleting {
			pod.DeletionTimestamp = &now
		}
		if got := serving(pod); got != c.want {
			t.Errorf("%s: serving %v, want %v", c.name, got, c.want)
		}
	}
}
