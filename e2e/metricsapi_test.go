package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// metricsAPI serves metrics.k8s.io/v1beta1 pod metrics for the fidelity
// test: each app's demand (millicores, set by the test) is spread evenly
// over its Running and Ready pods, as a load balancer would. Every list the
// HPA controller makes is one of its syncs, and the server records what it
// served then, with the scale target's replicas and its pods' states: the
// exact input of that sync, which the simulator's HPA is then given.
type metricsAPI struct {
	kube kubernetes.Interface
	ns   string
	// after, when set, is called after each sync's list with the app.
	after func(app string)

	mu     sync.Mutex
	demand map[string]int64 // app -> millicores
	syncs  map[string][]syncInput
}

// syncInput is what one HPA sync saw.
type syncInput struct {
	At      time.Time
	Current int32 // the Deployment's spec.replicas (the scale the controller read)
	Ready   int32 // pods served metrics
	Unready int32 // pending pods
	PerPod  int64 // millicores each ready pod used
	Demand  int64
}

func (m *metricsAPI) setDemand(app string, milli int64) {
	m.mu.Lock()
	m.demand[app] = milli
	m.mu.Unlock()
}

func (m *metricsAPI) inputs(app string) []syncInput {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]syncInput(nil), m.syncs[app]...)
}

func (m *metricsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const base = "/apis/metrics.k8s.io/v1beta1"
	switch {
	case r.URL.Path == base:
		writeJSON(w, metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "metrics.k8s.io/v1beta1",
			APIResources: []metav1.APIResource{
				{Name: "pods", Namespaced: true, Kind: "PodMetrics", Verbs: []string{"get", "list"}},
				{Name: "nodes", Namespaced: false, Kind: "NodeMetrics", Verbs: []string{"get", "list"}},
			},
		})
	case r.URL.Path == base+"/namespaces/"+m.ns+"/pods":
		list, err := m.podMetrics(r.Context(), r.URL.Query().Get("labelSelector"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, list)
	default:
		http.NotFound(w, r)
	}
}

func (m *metricsAPI) podMetrics(ctx context.Context, selector string) (*metricsv1beta1.PodMetricsList, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", selector, err)
	}
	app, ok := requirement(sel, "app")
	if !ok {
		return nil, fmt.Errorf("label selector %q names no app", selector)
	}
	at := time.Now()
	dep, err := m.kube.AppsV1().Deployments(m.ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pods, err := m.kube.CoreV1().Pods(m.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	var unready int32
	for _, p := range pods.Items {
		switch {
		case p.DeletionTimestamp != nil:
		case p.Status.Phase == corev1.PodRunning && podReady(&p):
			ready = append(ready, p)
		case p.Status.Phase == corev1.PodPending || p.Status.Phase == "":
			unready++
		}
	}
	m.mu.Lock()
	demand := m.demand[app]
	var per int64
	if len(ready) > 0 {
		per = demand / int64(len(ready))
	}
	m.syncs[app] = append(m.syncs[app], syncInput{At: at, Current: *dep.Spec.Replicas,
		Ready: int32(len(ready)), Unready: unready, PerPod: per, Demand: demand})
	m.mu.Unlock()
	if m.after != nil {
		m.after(app)
	}
	list := &metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: "metrics.k8s.io/v1beta1"}}
	for _, p := range ready {
		list.Items = append(list.Items, metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: p.Labels},
			Timestamp:  metav1.NewTime(at),
			Window:     metav1.Duration{Duration: time.Second},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(per, resource.DecimalSI),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			}}},
		})
	}
	return list, nil
}

func requirement(sel labels.Selector, key string) (string, bool) {
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		if r.Key() == key && r.Values().Len() == 1 {
			return r.Values().UnsortedList()[0], true
		}
	}
	return "", false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// serveMetricsAPI starts the server on loopback over TLS and registers it
// with the aggregator as metrics.k8s.io/v1beta1 behind an ExternalName
// Service pointing at localhost (the aggregator resolves an ExternalName
// Service to its name and the APIService's port; an Endpoints address on
// loopback is refused by the API server's validation). It returns once
// the aggregator reports the APIService Available.
func serveMetricsAPI(t *testing.T, cfg *rest.Config, kube kubernetes.Interface, ns string) *metricsAPI {
	t.Helper()
	m := &metricsAPI{kube: kube, ns: ns, demand: map[string]int64{}, syncs: map[string][]syncInput{}}
	srv := httptest.NewUnstartedServer(m)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.StartTLS()
	t.Cleanup(srv.Close)
	registerAPIService(t, cfg, kube, "metrics.k8s.io", "v1beta1", srv.Listener.Addr().(*net.TCPAddr).Port)
	return m
}

// registerAPIService points group/version at a server on a loopback port,
// through an ExternalName Service (localhost) in kube-system, and waits
// until the aggregator reports it Available.
func registerAPIService(t *testing.T, cfg *rest.Config, kube kubernetes.Interface, group, version string, port int) {
	t.Helper()
	ctx := context.Background()
	name := strings.ReplaceAll(group, ".", "-") + "-" + strconv.Itoa(port)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if _, err := kube.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("ExternalName Service for %s: %v", group, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	apiServices := dyn.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
	apiName := version + "." + group
	api := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": apiName},
		"spec": map[string]any{
			"service":               map[string]any{"namespace": "kube-system", "name": name, "port": int64(port)},
			"group":                 group,
			"version":               version,
			"insecureSkipTLSVerify": true,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       int64(100),
		},
	}}
	if _, err := apiServices.Create(ctx, api, metav1.CreateOptions{}); err != nil {
		t.Fatalf("APIService %s: %v", apiName, err)
	}
	t.Cleanup(func() {
		_ = apiServices.Delete(context.Background(), apiName, metav1.DeleteOptions{})
		_ = kube.CoreV1().Services("kube-system").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		got, err := apiServices.Get(ctx, apiName, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				c, _ := c.(map[string]any)
				if c["type"] == "Available" {
					if c["status"] == "True" {
						return
					}
					last = fmt.Sprintf("%v: %v", c["reason"], c["message"])
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("APIService %s not Available within 60s: %s", apiName, last)
}
