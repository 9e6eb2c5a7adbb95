package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/prescale/prescale/internal/kubetest"
)

// TestHPAUsage resolves an HPA to its pods on a real API server (the
// Deployment's scale subresource gives the selector), sums their usage
// from the metrics API and reads their CPU requests from the Pods, as the
// ServiceAccount bound to deploy/rbac's ClusterRole: the shipped RBAC must
// allow every read. The metrics API itself is a fake clientset, since no
// metrics-server runs beside envtest; the Pods are real objects, their
// requests defaulted and stored by the API server, their status written
// as a kubelet would.
func TestHPAUsage(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	kube := env.Client
	ns := "shop"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lbl := map[string]string{"app": "api", "tier": "web"}
	deployment := func(name string, lbl map[string]string) {
		t.Helper()
		two := int32(2)
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: lbl},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}}},
		}
		if _, err := kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	deployment("api", lbl)
	noReq := map[string]string{"app": "batch"}
	deployment("batch", noReq)
	hpa := func(name, kind, target string) {
		t.Helper()
		h := &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 10,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: target}},
		}
		if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hpa("api", "Deployment", "api")
	hpa("batch", "Deployment", "batch")
	hpa("gone", "Deployment", "nothing-here")
	hpa("custom", "Rollout", "api")

	// No controllers run beside envtest: the pods are created here, and
	// their status set as the kubelet would.
	withLimit := ctr("app", "")
	withLimit.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m")}
	for _, p := range []*corev1.Pod{
		// 300m + a 100m sidecar; the 2-core migration has exited.
		{ObjectMeta: metav1.ObjectMeta{Name: "api-1"}, Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{ctr("migrate", "2"), sidecar("mesh", "100m")}, Containers: []corev1.Container{ctr("app", "300m")}}},
		// A limit alone: the API server defaults the request to it.
		{ObjectMeta: metav1.ObjectMeta{Name: "api-2"}, Spec: corev1.PodSpec{Containers: []corev1.Container{withLimit}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "api-starting"}, Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("app", "4")}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "api-draining", Finalizers: []string{"prescale.io/test"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("app", "4")}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "batch-1", Labels: noReq}, Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("app", "")}}},
	} {
		p.Namespace = ns
		if p.Labels == nil {
			p.Labels = lbl
		}
		ready := corev1.ConditionTrue
		if p.Name == "api-starting" {
			ready = corev1.ConditionFalse
		}
		created, err := kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
		created.Status.Phase = corev1.PodRunning
		created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}
		if _, err := kube.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("status of pod %s: %v", p.Name, err)
		}
	}
	// Deleted, held by its finalizer: ready, still measured, draining.
	if err := kube.CoreV1().Pods(ns).Delete(ctx, "api-draining", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err := kube.CoreV1().Pods(ns).Get(ctx, "api-draining", metav1.GetOptions{}); err != nil || p.DeletionTimestamp == nil {
		t.Fatalf("api-draining: %v, want it terminating", err)
	}
	t.Cleanup(func() {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := kube.CoreV1().Pods(ns).Patch(context.Background(), "api-draining", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Errorf("release api-draining: %v", err)
		}
	})

	mc := fake.NewSimpleClientset()
	gvr := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	for _, pm := range []*metricsv1beta1.PodMetrics{
		podMetrics(ns, "api-1", lbl, "300m", "100m"),
		podMetrics(ns, "api-2", lbl, "500m"),
		podMetrics(ns, "api-starting", lbl, "3"),
		podMetrics(ns, "api-draining", lbl, "2"),
		podMetrics(ns, "worker-1", map[string]string{"app": "worker"}, "2"),
		podMetrics(ns, "api-canary", map[string]string{"app": "api"}, "1"), // lacks tier=web
		podMetrics(ns, "batch-1", noReq, "200m"),
	} {
		if err := mc.Tracker().Create(gvr, pm, ns); err != nil {
			t.Fatal(err)
		}
	}
	// The shipped deploy/rbac alone does not read pods: that is
	// deploy/rbac/pod-usage's, applied with --pod-usage only.
	bare := HPAUsage{Kube: kubernetes.NewForConfigOrDie(kubetest.AsPrescale(t, env.Config)), Usage: NewPodUsage(mc)}
	var bareErr error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Retry while the HPA itself is forbidden (the authorizer lags).
		if _, bareErr = bare.Of(ctx, ns, "api"); !strings.Contains(fmt.Sprint(bareErr), "horizontalpodautoscalers") || time.Now().After(deadline) {
			break
		}
	}
	if !apierrors.IsForbidden(bareErr) || !strings.Contains(bareErr.Error(), "scale of Deployment api") {
		t.Errorf("without deploy/rbac/pod-usage: %v, want the workload's scale forbidden", bareErr)
	}
	asPrescale := kubernetes.NewForConfigOrDie(kubetest.AsPrescale(t, env.Config, "pod-usage"))
	h := HPAUsage{Kube: asPrescale, Usage: NewPodUsage(mc)}
	// The authorizer may lag the binding a moment: retry while forbidden.
	var u Usage
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if u, err = h.Of(ctx, ns, "api"); !apierrors.IsForbidden(err) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if u.Pods != 2 || math.Abs(u.CPUCores-0.9) > 1e-9 {
		t.Errorf("usage %+v, want 2 pods using 0.9 cores (api-1 and api-2 only: not starting, draining, other apps)", u)
	}
	// api-1 400m (app and sidecar), api-2 600m (defaulted from its limit).
	if math.Abs(u.CPURequestCores-1.0) > 1e-9 || u.NoRequest != "" || math.Abs(u.CPURequestPerPod()-0.5) > 1e-9 {
		t.Errorf("requests %v cores (%q), want 1.0: 0.5 per pod", u.CPURequestCores, u.NoRequest)
	}
	// 1200 req/s on 0.9 cores: at a full 0.5-core request a pod serves
	// 600 × 0.5 / 0.45 = 666.7 req/s.
	if v, why := u.ImpliedCapacity(1200); math.Abs(v-666.6666667) > 1e-6 {
		t.Errorf("implied capacity %v (%s), want 666.67", v, why)
	}

	u, err = h.Of(ctx, ns, "batch")
	if err != nil {
		t.Fatal(err)
	}
	if u.Pods != 1 || !strings.Contains(u.NoRequest, "container app of pod shop/batch-1 has no CPU request") || !math.IsNaN(u.CPURequestPerPod()) {
		t.Errorf("batch usage %+v: want 1 pod whose request is unknown, and why", u)
	}
	for _, c := range []struct{ name, want string }{
		{"missing", "hpa shop/missing"},
		{"gone", "scale of Deployment nothing-here"},
		{"custom", "only Deployments, StatefulSets and ReplicaSets"},
	} {
		if _, err := h.Of(ctx, ns, c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want it to mention %q", c.name, err, c.want)
		}
	}
}

// pod is a pod of the workload in shop, in a state: "serving" (running
// and ready), "starting" (running, not ready yet), "pending" or
// "terminating" (ready, but being deleted).
func pod(name, state string, lbl map[string]string, containers ...corev1.Container) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: lbl}, Spec: corev1.PodSpec{Containers: containers}}
	ready := corev1.ConditionTrue
	switch state {
	case "pending":
		p.Status.Phase = corev1.PodPending
		return p
	case "starting":
		ready = corev1.ConditionFalse
	case "terminating":
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}
	return p
}

// TestHPAUsageCountsServingPods: usage, pod count and CPU requests are of
// the same pods, those the metrics API reports that are running, ready and
// not being deleted; a serving pod without a CPU request makes the request,
// and so the implied capacity, unknown. Both APIs are fake clientsets here
// (TestHPAUsage reads the Pods through a real API server).
func TestHPAUsageCountsServingPods(t *testing.T) {
	lbl := map[string]string{"app": "api"}
	kube := kubefake.NewClientset(
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "api"}}},
		pod("api-1", "serving", lbl, ctr("app", "500m"), ctr("proxy", "100m")),
		pod("api-2", "serving", lbl, ctr("app", "500m"), ctr("proxy", "100m")),
		pod("api-3", "starting", lbl, ctr("app", "500m"), ctr("proxy", "100m")),
		pod("api-4", "terminating", lbl, ctr("app", "500m"), ctr("proxy", "100m")),
		pod("api-5", "pending", lbl, ctr("app", "500m"), ctr("proxy", "100m")),
		pod("api-6", "serving", lbl, ctr("app", "900m")), // not measured yet
		pod("worker-1", "serving", map[string]string{"app": "worker"}, ctr("app", "4")),
	)
	// The fake tracker has no scale subresource: answer it as the API
	// server does for a Deployment selecting app=api.
	kube.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		return true, &autoscalingv1.Scale{Status: autoscalingv1.ScaleStatus{Selector: "app=api"}}, nil
	})
	mc := fake.NewSimpleClientset()
	gvr := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	for _, pm := range []*metricsv1beta1.PodMetrics{
		podMetrics("shop", "api-1", lbl, "300m", "50m"),
		podMetrics("shop", "api-2", lbl, "250m", "0"),
		podMetrics("shop", "api-3", lbl, "900m", "100m"), // warming up
		podMetrics("shop", "api-4", lbl, "800m"),         // draining
		podMetrics("shop", "api-gone", lbl, "700m"),      // no longer a pod
		podMetrics("shop", "worker-1", map[string]string{"app": "worker"}, "3"),
	} {
		if err := mc.Tracker().Create(gvr, pm, "shop"); err != nil {
			t.Fatal(err)
		}
	}
	h := HPAUsage{Kube: kube, Usage: NewPodUsage(mc)}
	ctx := context.Background()
	u, err := h.Of(ctx, "shop", "api")
	if err != nil {
		t.Fatal(err)
	}
	if u.Pods != 2 || math.Abs(u.CPUCores-0.6) > 1e-9 || math.Abs(u.CPURequestCores-1.2) > 1e-9 || u.NoRequest != "" {
		t.Fatalf("usage %+v, want api-1 and api-2 only: 2 pods, 0.6 cores used, 1.2 requested", u)
	}
	if r := u.CPURequestPerPod(); math.Abs(r-0.6) > 1e-9 {
		t.Errorf("request per pod %v, want 0.6", r)
	}

	// A serving pod without a CPU request on one container.
	if err := kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"),
		pod("api-2", "serving", lbl, ctr("app", "500m"), ctr("proxy", "")), "shop"); err != nil {
		t.Fatal(err)
	}
	u, err = h.Of(ctx, "shop", "api")
	if err != nil {
		t.Fatal(err)
	}
	if u.Pods != 2 || !strings.Contains(u.NoRequest, "container proxy of pod shop/api-2") || !math.IsNaN(u.CPURequestPerPod()) {
		t.Fatalf("usage %+v: want 2 pods, the request unknown and why", u)
	}
	if v, why := u.ImpliedCapacity(1000); !math.IsNaN(v) || why != u.NoRequest {
		t.Errorf("implied %v (%q), want NaN because of %q", v, why, u.NoRequest)
	}
	// A starting pod without a request does not count.
	if err := kube.Tracker().Update(corev1.SchemeGroupVersion.WithResource("pods"),
		pod("api-2", "starting", lbl, ctr("app", "500m"), ctr("proxy", "")), "shop"); err != nil {
		t.Fatal(err)
	}
	if u, err = h.Of(ctx, "shop", "api"); err != nil || u.Pods != 1 || u.NoRequest != "" || math.Abs(u.CPURequestPerPod()-0.6) > 1e-9 {
		t.Errorf("usage %+v, %v: want api-1 alone, with its 0.6 cores requested", u, err)
	}

	kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("pods is forbidden")
	})
	if _, err := h.Of(ctx, "shop", "api"); err == nil || !strings.Contains(err.Error(), "hpa shop/api: pods of Deployment api (app=api): pods is forbidden") {
		t.Errorf("err %v, want it to name the HPA, its workload and selector", err)
	}
}
