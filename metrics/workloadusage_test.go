package metrics

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/prescale/prescale/internal/kubetest"
)

// TestHPAUsage resolves an HPA to its pods on a real API server (the
// Deployment's scale subresource gives the selector) and sums their usage
// from the metrics API; the metrics API itself is a fake clientset, since
// no metrics-server runs beside envtest.
func TestHPAUsage(t *testing.T) {
	env := kubetest.Start(t)
	ctx := context.Background()
	kube := env.Client
	ns := "shop"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lbl := map[string]string{"app": "api", "tier": "web"}
	two := int32(2)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}}},
	}
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
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
	hpa("gone", "Deployment", "nothing-here")
	hpa("custom", "Rollout", "api")

	mc := fake.NewSimpleClientset()
	gvr := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	for _, pm := range []*metricsv1beta1.PodMetrics{
		podMetrics(ns, "api-1", lbl, "300m", "100m"),
		podMetrics(ns, "api-2", lbl, "500m"),
		podMetrics(ns, "worker-1", map[string]string{"app": "worker"}, "2"),
		podMetrics(ns, "api-canary", map[string]string{"app": "api"}, "1"), // lacks tier=web
	} {
		if err := mc.Tracker().Create(gvr, pm, ns); err != nil {
			t.Fatal(err)
		}
	}
	h := HPAUsage{Kube: kube, Usage: NewPodUsage(mc)}
	u, err := h.Of(ctx, ns, "api")
	if err != nil {
		t.Fatal(err)
	}
	if u.Pods != 2 || u.CPUCores < 0.899 || u.CPUCores > 0.901 {
		t.Errorf("usage %+v, want 2 pods using 0.9 cores (api-1 and api-2 only)", u)
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
