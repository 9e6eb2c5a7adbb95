package metrics

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

func podMetrics(ns, name string, lbl map[string]string, cpu ...string) *metricsv1beta1.PodMetrics {
	pm := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl}}
	for _, c := range cpu {
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: "c", Usage: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(c), corev1.ResourceMemory: resource.MustParse("100Mi")}})
	}
	return pm
}

func TestPodUsage(t *testing.T) {
	api := map[string]string{"app": "pricing-api"}
	client := fake.NewSimpleClientset()
	// The metrics API serves PodMetrics as the resource "pods"; the
	// tracker would guess "podmetricses" from the kind.
	gvr := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	for _, pm := range []*metricsv1beta1.PodMetrics{
		podMetrics("trading", "api-1", api, "400m", "100m"),
		podMetrics("trading", "api-2", api, "600m"),
		podMetrics("trading", "worker-1", map[string]string{"app": "worker"}, "2"),
		podMetrics("other", "api-9", api, "5"),
	} {
		if err := client.Tracker().Create(gvr, pm, pm.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	u, err := NewPodUsage(client).Workload(context.Background(), "trading", labels.SelectorFromSet(api))
	if err != nil {
		t.Fatal(err)
	}
	if u.Pods != 2 || math.Abs(u.CPUCores-1.1) > 1e-9 || math.Abs(u.CPUPerPod()-0.55) > 1e-9 {
		t.Fatalf("usage %+v, want 2 pods, 1.1 cores", u)
	}
	if want := 3.0 * 100 * 1024 * 1024; u.MemoryBytes != want {
		t.Errorf("memory %v, want %v", u.MemoryBytes, want)
	}
	e := NewExporter("test", nil)
	e.ObserveUsage("pricing-api", u, 1400)
	if v := testutil.ToFloat64(e.DemandPerPod.WithLabelValues("pricing-api")); v != 700 {
		t.Errorf("demand per pod exported %v, want 700", v)
	}
	if v := testutil.ToFloat64(e.PodCPU.WithLabelValues("pricing-api")); math.Abs(v-0.55) > 1e-9 {
		t.Errorf("CPU per pod exported %v", v)
	}
}

func TestImpliedCapacity(t *testing.T) {
	cases := []struct {
		name                                  string
		demandPerPod, cpuPerPod, request, tgt float64
		want                                  float64
	}{
		// 700 req/s per pod uses 0.55 of a 1-core request: at 70% it
		// would serve 700 × 0.7 / 0.55 = 890.9 req/s.
		{"runbook's calculation service", 700, 0.55, 1, 0.7, 890.909090909},
		{"hot pods: capacity below today's load", 800, 0.9, 1, 0.6, 533.333333333},
		{"no CPU data", 800, 0, 1, 0.6, math.NaN()},
		{"no request", 800, 0.5, 0, 0.6, math.NaN()},
	}
	for _, c := range cases {
		got := ImpliedCapacity(c.demandPerPod, c.cpuPerPod, c.request, c.tgt)
		if (math.IsNaN(c.want) != math.IsNaN(got)) || (!math.IsNaN(c.want) && math.Abs(got-c.want) > 1e-6) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestUsageImpliedCapacity: the capacity a workload's usage implies is on
// the basis of capacity.perPod (100% of the request), whatever the number
// of pods, and unknown, with the reason, when an input is missing; the
// exporter sets it, and removes it when it becomes unknown rather than
// leave a stale value.
func TestUsageImpliedCapacity(t *testing.T) {
	// 4 pods serve 2000 req/s with 2 of their 4 requested cores: 500 req/s
	// per pod at half its request, 1000 at all of it.
	base := Usage{Pods: 4, CPUCores: 2, CPURequestCores: 4}
	cases := []struct {
		name   string
		u      Usage
		demand float64
		want   float64
		why    string // part of the reason when unknown
	}{
		{"half the request used", base, 2000, 1000, ""},
		{"twice as many pods, same demand per core", Usage{Pods: 8, CPUCores: 4, CPURequestCores: 8}, 4000, 1000, ""},
		{"hot pods", Usage{Pods: 4, CPUCores: 3.6, CPURequestCores: 4}, 2000, 555.555555556, ""},
		{"no pods", Usage{}, 2000, math.NaN(), "no serving pod"},
		{"requests not read", Usage{Pods: 4, CPUCores: 2}, 2000, math.NaN(), "requests were not read"},
		{"a container without a request", Usage{Pods: 4, CPUCores: 2, NoRequest: "container app of pod shop/api-1 has no CPU request"}, 2000, math.NaN(), "container app of pod shop/api-1"},
		{"no CPU used", Usage{Pods: 4, CPURequestCores: 4}, 2000, math.NaN(), "no CPU"},
		{"no demand", base, 0, math.NaN(), "no demand"},
	}
	for _, c := range cases {
		got, why := c.u.ImpliedCapacity(c.demand)
		if math.IsNaN(c.want) {
			if !math.IsNaN(got) || c.why == "" || !strings.Contains(why, c.why) {
				t.Errorf("%s: %v (%q), want NaN because %q", c.name, got, why, c.why)
			}
			continue
		}
		if math.Abs(got-c.want) > 1e-6 || why != "" {
			t.Errorf("%s: %v (%q), want %v", c.name, got, why, c.want)
		}
	}

	e := NewExporter("test", nil)
	e.ObserveUsage("api", base, 2000)
	if v := testutil.ToFloat64(e.ImpliedCapacityPerPod.WithLabelValues("api")); v != 1000 {
		t.Errorf("implied capacity exported %v, want 1000", v)
	}
	e.ObserveUsage("api", Usage{Pods: 4, CPUCores: 2, NoRequest: "container app of pod shop/api-1 has no CPU request"}, 2000)
	if n := testutil.CollectAndCount(e.ImpliedCapacityPerPod); n != 0 {
		t.Errorf("%d implied capacity series once it is unknown, want none", n)
	}
	if v := testutil.ToFloat64(e.DemandPerPod.WithLabelValues("api")); v != 500 {
		t.Errorf("demand per pod %v, want 500 still exported", v)
	}
}
