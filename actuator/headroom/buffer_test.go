package headroom

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/internal/headroomtest"
	"github.com/prescale/prescale/internal/kubetest"
)

var bufferCRD = envtest.CRDInstallOptions{Paths: []string{"testdata/crd"}, ErrorIfPathMissing: true}

// installBufferCRD makes the API server serve CapacityBuffers for the rest
// of the test, and removes the CRD afterwards, waiting until discovery no
// longer lists it, so the other tests see a cluster without the API.
func installBufferCRD(t *testing.T) {
	t.Helper()
	if _, err := envtest.InstallCRDs(kubetest.Config, bufferCRD); err != nil {
		t.Fatalf("install the CapacityBuffer CRD: %v", err)
	}
	t.Cleanup(func() {
		if err := envtest.UninstallCRDs(kubetest.Config, bufferCRD); err != nil {
			t.Errorf("uninstall the CapacityBuffer CRD: %v", err)
			return
		}
		a := &Actuator{Client: kubetest.Client}
		deadline := time.Now().Add(30 * time.Second)
		for {
			gvr, err := a.BufferAPI(context.Background())
			if err == nil && gvr.Resource == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("CapacityBuffer API still served after the CRD was deleted: %v %v", gvr, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// placeholderIn creates the placeholder Deployment (without its
// PriorityClass, which is cluster-wide and created once elsewhere) in a
// fresh namespace.
func placeholderIn(t *testing.T) (namespace, name string) {
	t.Helper()
	dep, _ := headroomtest.Placeholder(t, "testdata/placeholder.yaml")
	dep.Namespace = kubetest.Namespace(t)
	if _, err := kubetest.Client.AppsV1().Deployments(dep.Namespace).Create(context.Background(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return dep.Namespace, dep.Name
}

func events(t *testing.T, namespace, kind, name string) []corev1.Event {
	t.Helper()
	list, err := kubetest.Client.CoreV1().Events(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Reason == ReasonHeadroomChanged {
			out = append(out, e)
		}
	}
	return out
}

// TestStrategyFollowsTheAPI: without the CapacityBuffer API, auto scales
// the placeholder Deployment and capacityBuffer fails saying why; with it,
// auto applies a CapacityBuffer and hands over the placeholder pods it had
// scaled up (TestHandOver has the cases).
func TestStrategyFollowsTheAPI(t *testing.T) {
	ctx := context.Background()
	ns, name := placeholderIn(t)
	dyn := dynamic.NewForConfigOrDie(kubetest.Config)
	replicas := func() int32 {
		d, err := kubetest.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}

	a := &Actuator{Client: kubetest.Client, Dynamic: dyn}
	ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Namespace: ns, Name: name, Replicas: 2})
	if err != nil || ch.Status != actuator.Applied || replicas() != 2 {
		t.Fatalf("auto without the API: %v %v, deployment replicas %d; want the deployment scaled to 2", ch.Status, err, replicas())
	}
	if !strings.Contains(strings.Join(ch.Reasons, ";"), "not served: headroom through the placeholder Deployment") {
		t.Errorf("the choice is not explained: %q", ch.Reasons)
	}
	if evs := events(t, ns, "Deployment", name); len(evs) != 1 || !strings.Contains(evs[0].Message, "replicas 0 → 2") {
		t.Errorf("events on the deployment: %+v, want one saying replicas 0 → 2", evs)
	}
	ch, err = a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: CapacityBuffer, Namespace: ns, Name: name, Replicas: 3})
	if err == nil || ch.Status != actuator.Failed || !strings.Contains(err.Error(), "does not serve capacitybuffers.autoscaling.x-k8s.io") {
		t.Errorf("capacityBuffer without the API: %v %v, want a failure naming the API", ch.Status, err)
	}

	installBufferCRD(t)
	// The finding is cached for DetectEvery: a fresh actuator, or one
	// whose clock moved past it, asks discovery again.
	now := time.Now()
	a.Now = func() time.Time { return now }
	if ch, _ := a.Apply(ctx, Desired{Mode: actuator.Active, Namespace: ns, Name: name, Replicas: 2}); ch.Status != actuator.InSync {
		t.Errorf("inside DetectEvery the deployment stays in use: %v %q", ch.Status, ch.Reasons)
	}
	now = now.Add(DetectEvery)
	gvr, err := a.BufferAPI(ctx)
	if err != nil || gvr != (schema.GroupVersionResource{Group: "autoscaling.x-k8s.io", Version: "v1beta1", Resource: "capacitybuffers"}) {
		t.Fatalf("BufferAPI = %v, %v", gvr, err)
	}
	buffers := dyn.Resource(gvr).Namespace(ns)

	d := Desired{Mode: actuator.Shadow, Target: "tickets", Namespace: ns, Name: name, Replicas: 3,
		Reasons: []string{"on-sale T-30m: nodes +3"}}
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.WouldApply {
		t.Errorf("shadow: %v %v", ch.Status, err)
	}
	if _, err := buffers.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("shadow created the buffer: %v", err)
	}

	d.Mode = actuator.Active
	ch, err = a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("apply the buffer: %v %v %q", ch.Status, err, ch.Reasons)
	}
	if got := ch.Fields; len(got) != 2 || got[0] != (actuator.FieldChange{Field: "capacitybuffer replicas", From: "absent", To: "3"}) ||
		got[1] != (actuator.FieldChange{Field: "placeholder deployment replicas", From: "2", To: "0"}) {
		t.Errorf("fields %+v", got)
	}
	reasons := strings.Join(ch.Reasons, ";")
	for _, want := range []string{"on-sale T-30m: nodes +3", "headroom through a CapacityBuffer (autoscaling.x-k8s.io/v1beta1)", "runs 2 pods prescale scaled up: handed over"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons %q lack %q", reasons, want)
		}
	}
	if replicas() != 0 {
		t.Errorf("the 2 placeholder pods prescale scaled up were not handed over: %d replicas", replicas())
	}
	b, err := buffers.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec, _, _ := unstructured.NestedMap(b.Object, "spec")
	want := map[string]any{"replicas": int64(3), "provisioningStrategy": "buffer.x-k8s.io/active-capacity",
		"scalableRef": map[string]any{"apiGroup": "apps", "kind": "Deployment", "name": name}}
	if fmt.Sprint(spec) != fmt.Sprint(want) {
		t.Errorf("buffer spec %v, want %v", spec, want)
	}
	applied := false
	for _, mf := range b.GetManagedFields() {
		applied = applied || (mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply)
	}
	if !applied {
		t.Errorf("managed fields %+v: no server-side apply by %s", b.GetManagedFields(), FieldManager)
	}
	if evs := events(t, ns, BufferKind, name); len(evs) != 1 || !strings.Contains(evs[0].Message, "capacitybuffer replicas absent → 3, placeholder deployment replicas 2 → 0; on-sale T-30m: nodes +3") ||
		evs[0].InvolvedObject.UID != b.GetUID() {
		t.Errorf("events on the buffer: %+v", evs)
	}

	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.InSync {
		t.Errorf("second apply: %v %v, want in-sync", ch.Status, err)
	}

	// Level-triggered: someone lowers the buffer, the next tick raises it.
	if err := unstructured.SetNestedField(b.Object, int64(0), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	if _, err := buffers.Update(ctx, b, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied || ch.Fields[0].From != "0" {
		t.Errorf("after an edit to 0: %v %v %+v", ch.Status, err, ch.Fields)
	}

	// Down along the limits: one unit per period.
	d.Replicas, d.MaxStepDown, d.Period = 0, 1, 5*time.Minute
	bufferReplicas := func() int64 {
		b, err := buffers.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r, _, _ := unstructured.NestedInt64(b.Object, "spec", "replicas")
		return r
	}
	a.Apply(ctx, d)
	a.Apply(ctx, d)
	if got := bufferReplicas(); got != 2 {
		t.Errorf("two ticks inside the period: buffer replicas %d, want 2", got)
	}
	now = now.Add(6 * time.Minute)
	a.Apply(ctx, d)
	if got := bufferReplicas(); got != 1 {
		t.Errorf("after the period: buffer replicas %d, want 1", got)
	}

	// deployment forces the Deployment even where the API is served, and
	// takes the buffer's unit back from it (TestHandBack has the cases).
	if ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 4}); err != nil || replicas() != 4 || bufferReplicas() != 0 {
		t.Errorf("mode deployment: %v %v, deployment replicas %d, buffer replicas %d; want 4 and 0", ch.Status, err, replicas(), bufferReplicas())
	}
}

// TestBufferRBAC applies a CapacityBuffer as the ServiceAccount bound only
// to deploy/rbac's ClusterRole: it can create and change the buffer named
// like the placeholder, by server-side apply, and no other.
func TestBufferRBAC(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	as := kubetest.AsPrescale(t, kubetest.Config)
	ns, name := placeholderIn(t)
	a := &Actuator{Client: kubernetes.NewForConfigOrDie(as), Dynamic: dynamic.NewForConfigOrDie(as)}
	d := Desired{Mode: actuator.Active, Strategy: CapacityBuffer, Namespace: ns, Name: name, Replicas: 2}
	// The authorizer's cache may lag the binding a moment.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ch, err := a.Apply(ctx, d)
		if err == nil && ch.Status == actuator.Applied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("apply the buffer as the service account: %v %v", ch.Status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if evs := events(t, ns, BufferKind, name); len(evs) != 1 {
		t.Errorf("%d events written as the service account, want 1", len(evs))
	}
	// Another buffer, even by server-side apply: forbidden.
	other := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "autoscaling.x-k8s.io/v1beta1", "kind": BufferKind,
		"metadata": map[string]any{"name": "someone-elses", "namespace": ns},
		"spec":     map[string]any{"replicas": int64(1), "podTemplateRef": map[string]any{"name": "x"}}}}
	gvr := schema.GroupVersionResource{Group: BufferGroup, Version: "v1beta1", Resource: BufferResource}
	_, err := a.Dynamic.Resource(gvr).Namespace(ns).Apply(ctx, "someone-elses", other, metav1.ApplyOptions{FieldManager: FieldManager})
	if !apierrors.IsForbidden(err) {
		t.Errorf("apply a buffer of another name as the service account: %v, want Forbidden", err)
	}
}
