package keda

// These tests run against a real kube-apiserver and etcd (kubetest) with
// KEDA's own ScaledObject CRD installed from the KEDA module
// (scripts/keda-crds.sh). They do not skip when either is missing.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/internal/kubetest"
)

var (
	dyn dynamic.Interface
	// setupErr fails every test when the CRD could not be installed.
	setupErr error
)

// crdDir is the folder holding keda.sh_scaledobjects.yaml.
func crdDir() string {
	if d := os.Getenv("PRESCALE_KEDA_CRDS"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..", ".cache", "keda", "crd")
}

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, "actuator/keda", func() {
		dir := crdDir()
		dyn = dynamic.NewForConfigOrDie(kubetest.Config)
		if _, err := os.Stat(filepath.Join(dir, "keda.sh_scaledobjects.yaml")); err != nil {
			setupErr = fmt.Errorf("KEDA's ScaledObject CRD not found in %q; "+
				"run: export PRESCALE_KEDA_CRDS=\"$(scripts/keda-crds.sh)\" (scripts/test.sh does it)", dir)
			return
		}
		if _, err := envtest.InstallCRDs(kubetest.Config, envtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true}); err != nil {
			setupErr = fmt.Errorf("install the ScaledObject CRD: %w", err)
		}
	}))
}

// createScaledObject creates the ticketing runbook's ScaledObject (min 2,
// max 20; RabbitMQ queue length 50 and Prometheus 100 RPS triggers) the
// way kubectl would; min or max < 0 leaves the field unset.
func createScaledObject(t *testing.T, ns, name string, min, max int, annotations map[string]string) {
	t.Helper()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	spec := map[string]any{
		"scaleTargetRef": map[string]any{"name": name},
		"triggers": []any{
			map[string]any{"type": "rabbitmq", "metadata": map[string]any{"queueName": "orders", "mode": "QueueLength", "value": "50", "hostFromEnv": "RABBITMQ_HOST"}},
			map[string]any{"type": "prometheus", "metadata": map[string]any{"serverAddress": "http://prometheus:9090", "query": "sum(rate(http_requests_total[1m]))", "threshold": "100"}},
		},
	}
	if min >= 0 {
		spec["minReplicaCount"] = int64(min)
	}
	if max >= 0 {
		spec["maxReplicaCount"] = int64(max)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     spec,
	}}
	if annotations != nil {
		obj.SetAnnotations(annotations)
	}
	if _, err := dyn.Resource(ScaledObjects).Namespace(ns).Create(context.Background(), obj, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatalf("create scaledobject: %v", err)
	}
}

func get(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := dyn.Resource(ScaledObjects).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get scaledobject: %v", err)
	}
	return obj
}

// spec returns minReplicaCount and maxReplicaCount, -1 when unset.
func spec(obj *unstructured.Unstructured) (int, int) {
	min, max := -1, -1
	if v, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "minReplicaCount"); ok {
		min = int(v)
	}
	if v, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "maxReplicaCount"); ok {
		max = int(v)
	}
	return min, max
}

func managerOf(obj *unstructured.Unstructured, field string) []string {
	var out []string
	for _, m := range obj.GetManagedFields() {
		if m.FieldsV1 != nil && strings.Contains(string(m.FieldsV1.Raw), `"f:`+field+`"`) {
			out = append(out, m.Manager)
		}
	}
	return out
}

func events(t *testing.T, ns, name string) []corev1.Event {
	t.Helper()
	list, err := kubetest.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func newActuator(j *actuator.Journal) *Actuator {
	return &Actuator{Dynamic: dyn, Client: kubetest.Client, Recorder: j}
}

func floor(ns, name string, min int) Desired {
	return Desired{Mode: actuator.Active, Target: "tickets-api", Namespace: ns, Name: name,
		Reasons: []string{"rule on-sale (stadium-tour, T-1h): floor 8"}, Want: hpa.Want{MinReplicas: min, KeepMax: true}}
}

// The on-sale floor goes on the ScaledObject, as prescale, and comes off
// again: the owner's values are remembered and restored.
func TestFloorOnScaledObjectAndRestore(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	createScaledObject(t, ns, "api", 2, 20, nil)
	var j actuator.Journal
	a := newActuator(&j)

	ch, err := a.Apply(ctx, floor(ns, "api", 8))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("apply: %v %+v", err, ch)
	}
	obj := get(t, ns, "api")
	if min, max := spec(obj); min != 8 || max != 20 {
		t.Errorf("after the floor: min %d max %d, want 8 and the owner's 20", min, max)
	}
	if m := managerOf(obj, "minReplicaCount"); len(m) != 1 || m[0] != hpa.FieldManager {
		t.Errorf("minReplicaCount managed by %v, want only %q", m, hpa.FieldManager)
	}
	an := obj.GetAnnotations()
	if an[hpa.AnnotationOwnerMin] != "2" || an[hpa.AnnotationOwnerMax] != "20" || an[hpa.AnnotationManagedBy] != "prescale" {
		t.Errorf("owner's values not remembered: %v", an)
	}
	// Level-triggered: the same floor again is in sync and writes nothing.
	rv := obj.GetResourceVersion()
	if ch, err := a.Apply(ctx, floor(ns, "api", 8)); err != nil || ch.Status != actuator.InSync {
		t.Errorf("second apply: %v %+v", err, ch)
	}
	if get(t, ns, "api").GetResourceVersion() != rv {
		t.Errorf("an in-sync apply wrote")
	}
	// Read reports what the engine plans from.
	st, err := a.Read(ctx, ns, "api")
	if err != nil || !st.Found || st.MinReplicas != 8 || st.Owner.MinReplicas != 2 || st.Owner.MaxReplicas != 20 {
		t.Errorf("read: %+v %v", st, err)
	}
	// A rule raises the ceiling (volatility, an event's maxReplicas).
	d := floor(ns, "api", 8)
	d.Want = hpa.Want{MaxReplicas: 40, RaiseMax: true, KeepMin: true}
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("raise max: %v %+v", err, ch)
	}
	if min, max := spec(get(t, ns, "api")); min != 8 || max != 40 {
		t.Errorf("after raising the ceiling: %d %d", min, max)
	}
	// Never below the owner's: a floor of 1 stays at 2.
	if _, err := a.Apply(ctx, floor(ns, "api", 1)); err != nil {
		t.Fatal(err)
	}
	if min, _ := spec(get(t, ns, "api")); min != 2 {
		t.Errorf("floor below the owner's: min %d, want 2", min)
	}
	found := false
	for _, e := range events(t, ns, "api") {
		found = found || (e.Reason == ReasonFloorChanged && strings.Contains(e.Message, "minReplicaCount 2 → 8") && e.InvolvedObject.Kind == "ScaledObject")
	}
	if !found {
		t.Errorf("no %s event on the ScaledObject: %v", ReasonFloorChanged, events(t, ns, "api"))
	}

	if ch, err := a.Restore(ctx, actuator.Active, "tickets-api", ns, "api", []string{"target left the policy"}); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("restore: %v %+v", err, ch)
	}
	obj = get(t, ns, "api")
	if min, max := spec(obj); min != 2 || max != 20 {
		t.Errorf("restored: min %d max %d, want the owner's 2 and 20", min, max)
	}
	for _, k := range []string{hpa.AnnotationOwnerMin, hpa.AnnotationOwnerMax, hpa.AnnotationApplied, hpa.AnnotationManagedBy} {
		if _, ok := obj.GetAnnotations()[k]; ok {
			t.Errorf("annotation %s left after restore", k)
		}
	}
}

// An owner who left minReplicaCount to KEDA (0, scale to zero) gets it
// unset again, not pinned at 0.
func TestRestoreUnsetsWhatTheOwnerLeftUnset(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	createScaledObject(t, ns, "worker", -1, 20, nil)
	a := newActuator(&actuator.Journal{})
	if _, err := a.Apply(ctx, floor(ns, "worker", 5)); err != nil {
		t.Fatal(err)
	}
	if min, _ := spec(get(t, ns, "worker")); min != 5 {
		t.Fatalf("floor: %d", min)
	}
	if _, err := a.Restore(ctx, actuator.Active, "w", ns, "worker", nil); err != nil {
		t.Fatal(err)
	}
	if min, max := spec(get(t, ns, "worker")); min != -1 || max != 20 {
		t.Errorf("restored: min %d (want unset) max %d", min, max)
	}
}

// The real CRD refuses minReplicaCount above maxReplicaCount (its CEL
// rule): the floor is bounded by the ceiling before it is written.
func TestFloorAboveCeilingIsBounded(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	createScaledObject(t, ns, "api", 2, 20, nil)
	a := newActuator(&actuator.Journal{})
	ch, err := a.Apply(ctx, floor(ns, "api", 30))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if min, max := spec(get(t, ns, "api")); min != 20 || max != 20 {
		t.Errorf("min %d max %d, want 20 20", min, max)
	}
	if !strings.Contains(strings.Join(ch.Reasons, ";"), "above maxReplicas 20") {
		t.Errorf("reasons: %q", ch.Reasons)
	}
	// The CRD's own rule, to show the bound matters.
	obj := get(t, ns, "api")
	_ = unstructured.SetNestedField(obj.Object, int64(30), "spec", "minReplicaCount")
	if _, err := dyn.Resource(ScaledObjects).Namespace(ns).Update(ctx, obj, metav1.UpdateOptions{}); err == nil ||
		!strings.Contains(err.Error(), "minReplicaCount must be less than or equal to maxReplicaCount") {
		t.Errorf("the CRD accepted min 30 > max 20: %v", err)
	}
}

// KEDA's pause annotations (and prescale's) stop every change.
func TestPauseAnnotations(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	for i, an := range []map[string]string{
		{AnnotationPausedReplicas: "4"},
		{AnnotationPaused: "true"},
		{hpa.AnnotationPaused: "true"},
	} {
		name := fmt.Sprintf("paused-%d", i)
		createScaledObject(t, ns, name, 2, 20, an)
		ch, err := newActuator(&actuator.Journal{}).Apply(ctx, floor(ns, name, 8))
		if err != nil || ch.Status != actuator.Paused {
			t.Errorf("%v: %v %+v", an, err, ch)
		}
		if min, _ := spec(get(t, ns, name)); min != 2 {
			t.Errorf("%v: paused object changed: min %d", an, min)
		}
	}
}

// A target naming a ScaledObject that does not exist: nothing applied, a
// Warning Event naming it, and a Missing change (a failed actuation metric).
func TestMissingScaledObject(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	ch, err := newActuator(&actuator.Journal{}).Apply(ctx, floor(ns, "nope", 8))
	if err != nil || ch.Status != actuator.Missing {
		t.Fatalf("%v %+v", err, ch)
	}
	evs := events(t, ns, "nope")
	if len(evs) != 1 || evs[0].Type != corev1.EventTypeWarning || evs[0].Reason != ReasonMissing || !strings.Contains(evs[0].Message, "not found") {
		t.Errorf("events: %+v", evs)
	}
}

// prescale never writes the HPA KEDA generates for a ScaledObject.
func TestNeverWritesKEDAsHPA(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	createScaledObject(t, ns, "api", 2, 20, nil)
	so := get(t, ns, "api")
	two := int32(2)
	ctrl := true
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "keda-hpa-api", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "keda.sh/v1alpha1", Kind: "ScaledObject", Name: "api", UID: so.GetUID(), Controller: &ctrl}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
			MinReplicas:    &two, MaxReplicas: 20,
		},
	}
	if _, err := kubetest.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{FieldManager: "keda"}); err != nil {
		t.Fatal(err)
	}
	ha := hpa.New(kubetest.Client, &actuator.Journal{})
	ch, err := ha.Apply(ctx, hpa.Desired{Mode: actuator.Active, Target: "tickets-api", Namespace: ns, Name: "keda-hpa-api", Want: hpa.Want{MinReplicas: 8, KeepMax: true}})
	if err == nil || !strings.Contains(err.Error(), "generated by KEDA ScaledObject api") || ch.Status != actuator.Failed {
		t.Errorf("writing KEDA's HPA: %v %+v", err, ch)
	}
	got, _ := kubetest.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "keda-hpa-api", metav1.GetOptions{})
	if *got.Spec.MinReplicas != 2 {
		t.Errorf("KEDA's HPA was written: min %d", *got.Spec.MinReplicas)
	}
}

// A record someone edited by hand into numbers a ScaledObject cannot hold
// is not written back: the live floor stays, and restore leaves the live
// values and removes every prescale annotation, the edited one included
// (server-side apply alone would leave it to its new manager).
func TestMangledRecordRestored(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	createScaledObject(t, ns, "api", 2, 20, nil)
	var j actuator.Journal
	a := newActuator(&j)
	if _, err := a.Apply(ctx, floor(ns, "api", 8)); err != nil {
		t.Fatal(err)
	}
	obj := get(t, ns, "api")
	an := obj.GetAnnotations()
	an[hpa.AnnotationOwnerMin] = "-1"
	obj.SetAnnotations(an)
	if _, err := dyn.Resource(ScaledObjects).Namespace(ns).Update(ctx, obj, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	ch, err := a.Apply(ctx, floor(ns, "api", 1))
	if err != nil || !strings.Contains(strings.Join(ch.Reasons, "; "), `owner-min-replicas="-1"`) {
		t.Fatalf("apply over a mangled record: %v %+v", err, ch)
	}
	if min, max := spec(get(t, ns, "api")); min != 8 || max != 20 {
		t.Errorf("after a mangled record: min %d max %d, want the live 8 and 20", min, max)
	}
	if ch, err := a.Restore(ctx, actuator.Active, "tickets-api", ns, "api", []string{"target left the policy"}); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("restore: %v %+v", err, ch)
	}
	obj = get(t, ns, "api")
	if min, max := spec(obj); min != 8 || max != 20 {
		t.Errorf("restored: min %d max %d, want the live 8 and 20", min, max)
	}
	for k := range obj.GetAnnotations() {
		if strings.HasPrefix(k, "prescale.io/") {
			t.Errorf("annotation %s left after restore", k)
		}
	}
}
