package hpa

// These tests run against a real kube-apiserver and etcd (kubetest: envtest
// from KUBEBUILDER_ASSETS). They do not skip when the binaries are missing:
// they fail and say how to get them.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/headroom"
	"github.com/prescale/prescale/actuator/internal/headroomtest"
	"github.com/prescale/prescale/internal/kubetest"
)

var (
	restConfig *rest.Config
	clientset  *kubernetes.Clientset
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, "actuator/hpa", func() {
		restConfig, clientset = kubetest.Config, kubetest.Client
	}))
}

func namespace(t *testing.T) string { return kubetest.Namespace(t) }

func int32p(n int32) *int32 { return &n }

func createDeployment(t *testing.T, ns, name string) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: int32p(2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := clientset.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
}

func createHPA(t *testing.T, ns, name string, min, max, cpu int32) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    int32p(min),
			MaxReplicas:    max,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: int32p(cpu)}},
			}},
		},
	}
	// Created the way kubectl would, with its own field manager.
	out, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), h, metav1.CreateOptions{FieldManager: "kubectl-create"})
	if err != nil {
		t.Fatalf("create hpa: %v", err)
	}
	return out
}

func getHPA(t *testing.T, ns, name string) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	h, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get hpa: %v", err)
	}
	return h
}

func spec(h *autoscalingv2.HorizontalPodAutoscaler) (min, max, cpu int32) {
	min = 1
	if h.Spec.MinReplicas != nil {
		min = *h.Spec.MinReplicas
	}
	if i := resourceMetric(h.Spec.Metrics, "cpu"); i >= 0 {
		cpu = *h.Spec.Metrics[i].Resource.Target.AverageUtilization
	}
	return min, h.Spec.MaxReplicas, cpu
}

func hpaEvents(t *testing.T, ns, name string) []corev1.Event {
	t.Helper()
	list, err := clientset.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	return list.Items
}

func desired(ns, name string, min int) Desired {
	return Desired{Mode: actuator.Active, Target: "api", Namespace: ns, Name: name,
		Reasons: []string{fmt.Sprintf("forecast p90 demand 7200 rps / 800 per pod → %d pods", min)},
		Want:    Want{MinReplicas: min, Ceiling: 30}}
}

func TestApplyRaisesFloor(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	createHPA(t, ns, "api", 2, 20, 70)
	var j actuator.Journal
	a := New(clientset, &j)

	ch, err := a.Apply(ctx, desired(ns, "api", 10))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	h := getHPA(t, ns, "api")
	if min, max, cpu := spec(h); min != 10 || max != 20 || cpu != 70 {
		t.Errorf("spec min %d max %d cpu %d, want 10 20 70", min, max, cpu)
	}
	wantAnn := map[string]string{AnnotationOwnerMin: "2", AnnotationOwnerMax: "20", AnnotationApplied: "min=10,max=20"}
	for k, v := range wantAnn {
		if h.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, h.Annotations[k], v)
		}
	}
	// Server-side apply: prescale owns minReplicas, visibly.
	if !ownsField(h, FieldManager, "f:minReplicas") {
		t.Errorf("field manager %q does not own spec.minReplicas: %+v", FieldManager, h.ManagedFields)
	}
	evs := hpaEvents(t, ns, "api")
	if len(evs) != 1 || evs[0].Reason != ReasonFloorChanged || !strings.Contains(evs[0].Message, "minReplicas 2 → 10") ||
		!strings.Contains(evs[0].Message, "800 per pod") || evs[0].InvolvedObject.UID != h.UID {
		t.Fatalf("events %+v, want one %s with the change and its reason", evs, ReasonFloorChanged)
	}

	// Idempotent: the next tick writes nothing and records no event.
	rv := h.ResourceVersion
	if ch, err := a.Apply(ctx, desired(ns, "api", 10)); err != nil || ch.Status != actuator.InSync {
		t.Fatalf("second Apply = %v, %v", ch.Status, err)
	}
	if h := getHPA(t, ns, "api"); h.ResourceVersion != rv || len(hpaEvents(t, ns, "api")) != 1 {
		t.Errorf("in-sync apply wrote: rv %s → %s, %d events", rv, h.ResourceVersion, len(hpaEvents(t, ns, "api")))
	}

	// Level-triggered: someone lowers the floor; the next tick puts it back.
	h = getHPA(t, ns, "api")
	h.Spec.MinReplicas = int32p(2)
	if _, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h, metav1.UpdateOptions{FieldManager: "cron-job"}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := a.Apply(ctx, desired(ns, "api", 10)); ch.Status != actuator.Applied {
		t.Errorf("after a lowering: %v", ch.Status)
	}
	if min, _, _ := spec(getHPA(t, ns, "api")); min != 10 {
		t.Errorf("floor %d after re-assert, want 10", min)
	}
	// Floor down to the owner's, never below.
	if _, err := a.Apply(ctx, desired(ns, "api", 1)); err != nil {
		t.Fatal(err)
	}
	if min, _, _ := spec(getHPA(t, ns, "api")); min != 2 {
		t.Errorf("floor %d with a plan of 1, want the owner's 2", min)
	}
	if got := j.Changes(); len(got) != 4 {
		t.Errorf("journal has %d changes, want 4", len(got))
	}
}

func ownsField(h *autoscalingv2.HorizontalPodAutoscaler, manager, field string) bool {
	for _, mf := range h.ManagedFields {
		if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.FieldsV1 != nil &&
			strings.Contains(string(mf.FieldsV1.Raw), field) {
			return true
		}
	}
	return false
}

func TestConcurrentEditRetried(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	createHPA(t, ns, "api", 2, 20, 70)
	a := New(clientset, nil)
	var attempts atomic.Int32
	a.beforeWrite = func() {
		if attempts.Add(1) > 1 {
			return
		}
		// A person raises maxReplicas between prescale's read and write.
		h := getHPA(t, ns, "api")
		h.Spec.MaxReplicas = 25
		if _, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Errorf("concurrent edit: %v", err)
		}
	}
	ch, err := a.Apply(ctx, desired(ns, "api", 10))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	if n := attempts.Load(); n != 2 {
		t.Errorf("%d write attempts, want 2 (a conflict, then a write on the fresh read)", n)
	}
	h := getHPA(t, ns, "api")
	if min, max, _ := spec(h); min != 10 || max != 25 || h.Annotations[AnnotationOwnerMax] != "25" {
		t.Errorf("min %d max %d owner max %q: the concurrent edit must survive", min, max, h.Annotations[AnnotationOwnerMax])
	}
}

func TestPause(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	h := createHPA(t, ns, "api", 2, 20, 70)
	h.Annotations = map[string]string{AnnotationPaused: "true"}
	if _, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := New(clientset, nil)
	ch, err := a.Apply(ctx, desired(ns, "api", 10))
	if err != nil || ch.Status != actuator.Paused {
		t.Fatalf("Apply = %v, %v; want paused", ch.Status, err)
	}
	if min, _, _ := spec(getHPA(t, ns, "api")); min != 2 || len(hpaEvents(t, ns, "api")) != 0 {
		t.Errorf("paused HPA changed: min %d, %d events", min, len(hpaEvents(t, ns, "api")))
	}
	// Unpaused: picked up.
	h = getHPA(t, ns, "api")
	delete(h.Annotations, AnnotationPaused)
	if _, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ch, _ := a.Apply(ctx, desired(ns, "api", 10)); ch.Status != actuator.Applied {
		t.Errorf("unpaused: %v", ch.Status)
	}
}

func TestShadowWritesNothing(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	before := createHPA(t, ns, "api", 2, 20, 70)
	var j actuator.Journal
	a := New(clientset, &j)
	d := desired(ns, "api", 10)
	d.Mode = actuator.Shadow
	ch, err := a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.WouldApply || len(ch.Fields) != 1 || ch.Fields[0].To != "10" {
		t.Fatalf("shadow Apply = %v %v %+v", ch.Status, err, ch.Fields)
	}
	h := getHPA(t, ns, "api")
	if h.ResourceVersion != before.ResourceVersion || len(hpaEvents(t, ns, "api")) != 0 {
		t.Errorf("shadow wrote: rv %s → %s, %d events", before.ResourceVersion, h.ResourceVersion, len(hpaEvents(t, ns, "api")))
	}
	if len(j.Changes()) != 1 {
		t.Errorf("shadow not recorded")
	}
}

func TestMissingDeletedRecreated(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	a := New(clientset, nil)
	ch, err := a.Apply(ctx, desired(ns, "api", 10))
	if err != nil || ch.Status != actuator.Missing || !hasNote(ch.Reasons, "not found") {
		t.Fatalf("absent HPA: %v %v %q", ch.Status, err, ch.Reasons)
	}
	createHPA(t, ns, "api", 2, 20, 70)
	if ch, err := a.Apply(ctx, desired(ns, "api", 10)); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("created: %v %v", ch.Status, err)
	}
	if err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if ch, err := a.Apply(ctx, desired(ns, "api", 10)); err != nil || ch.Status != actuator.Missing {
		t.Fatalf("deleted: %v %v", ch.Status, err)
	}
	// Recreated with other values: they are the owner's now.
	createHPA(t, ns, "api", 4, 12, 80)
	ch, err = a.Apply(ctx, desired(ns, "api", 10))
	if err != nil || ch.Status != actuator.Applied || !hasNote(ch.Reasons, "was recreated") {
		t.Fatalf("recreated: %v %v %q", ch.Status, err, ch.Reasons)
	}
	h := getHPA(t, ns, "api")
	if min, max, _ := spec(h); min != 10 || max != 12 || h.Annotations[AnnotationOwnerMin] != "4" || h.Annotations[AnnotationOwnerMax] != "12" {
		t.Errorf("recreated HPA: min %d max %d annotations %v", min, max, h.Annotations)
	}
}

func TestRuleRaisesMaxAndTargetThenRestore(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "pricing")
	createHPA(t, ns, "pricing", 3, 20, 70)
	a := New(clientset, nil)
	d := desired(ns, "pricing", 15)
	d.Reasons = []string{"volatility rule vix: VIX 31 above 25"}
	d.Want = Want{MinReplicas: 15, MaxReplicas: 40, RaiseMax: true, Ceiling: 40, Target: 60, Resource: "cpu"}
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	h := getHPA(t, ns, "pricing")
	if min, max, cpu := spec(h); min != 15 || max != 40 || cpu != 60 {
		t.Errorf("spec %d %d %d, want 15 40 60", min, max, cpu)
	}
	if h.Annotations[AnnotationOwnerTarget] != "cpu=70" || h.Annotations[AnnotationOwnerMax] != "20" {
		t.Errorf("annotations %v", h.Annotations)
	}

	ch, err := a.Restore(ctx, actuator.Active, "pricing", ns, "pricing", []string{"prescale restore"})
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Restore = %v, %v", ch.Status, err)
	}
	h = getHPA(t, ns, "pricing")
	if min, max, cpu := spec(h); min != 3 || max != 20 || cpu != 70 {
		t.Errorf("restored spec %d %d %d, want the owner's 3 20 70", min, max, cpu)
	}
	for k := range h.Annotations {
		if strings.HasPrefix(k, "prescale.io/") {
			t.Errorf("annotation %s left after restore", k)
		}
	}
	var restored bool
	for _, e := range hpaEvents(t, ns, "pricing") {
		restored = restored || (e.Reason == ReasonRestored && strings.Contains(e.Message, "minReplicas 15 → 3"))
	}
	if !restored {
		t.Errorf("no %s event: %+v", ReasonRestored, hpaEvents(t, ns, "pricing"))
	}
	// Nothing left to restore.
	if ch, err := a.Restore(ctx, actuator.Active, "pricing", ns, "pricing", nil); err != nil || ch.Status != actuator.InSync {
		t.Errorf("second Restore = %v, %v", ch.Status, err)
	}
}

// TestMangledRecord: someone edits prescale's record of the owner's values
// into numbers an HPA cannot hold (a negative floor, a maxReplicas past
// int32). The next tick writes the live values, not those, says why in
// the change's reasons, and records the live values as the owner's;
// restore then leaves the HPA as it is and removes the record.
func TestMangledRecord(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	createHPA(t, ns, "api", 3, 20, 70)
	a := New(clientset, nil)
	if _, err := a.Apply(ctx, desired(ns, "api", 8)); err != nil {
		t.Fatal(err)
	}
	h := getHPA(t, ns, "api")
	h.Annotations[AnnotationOwnerMin] = "-3"
	h.Annotations[AnnotationOwnerMax] = "99999999999"
	if _, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	// A plan below the live floor: the floor stays at the live 8, as
	// the owner's value is unknown and 8 is at least it.
	ch, err := a.Apply(ctx, desired(ns, "api", 2))
	if err != nil || ch.Status != actuator.InSync {
		t.Fatalf("Apply = %v %v, %v; want in sync (nothing to write)", ch.Status, ch.Fields, err)
	}
	if !strings.Contains(strings.Join(ch.Reasons, "; "), `owner-min-replicas="-3"`) {
		t.Errorf("reasons %q do not name the mangled record", ch.Reasons)
	}
	if min, max, _ := spec(getHPA(t, ns, "api")); min != 8 || max != 20 {
		t.Errorf("spec %d/%d after a mangled record, want the live 8/20", min, max)
	}
	// A plan above it is written, and the record with it, healed.
	if ch, err := a.Apply(ctx, desired(ns, "api", 12)); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply 12 = %v, %v", ch.Status, err)
	}
	h = getHPA(t, ns, "api")
	if min, max, _ := spec(h); min != 12 || max != 20 || h.Annotations[AnnotationOwnerMin] != "8" || h.Annotations[AnnotationOwnerMax] != "20" {
		t.Errorf("spec %d/%d, record %q/%q; want 12/20 and the record 8/20", min, max, h.Annotations[AnnotationOwnerMin], h.Annotations[AnnotationOwnerMax])
	}
	// Mangled again, then restored: the live values stay, the record goes.
	h.Annotations[AnnotationOwnerMin] = "40"
	if _, err := clientset.AutoscalingV2().HorizontalPodAutoscalers(ns).Update(ctx, h, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	ch, err = a.Restore(ctx, actuator.Active, "api", ns, "api", []string{"prescale restore"})
	if err != nil || ch.Status != actuator.Applied || !strings.Contains(strings.Join(ch.Reasons, "; "), "not replica counts") {
		t.Fatalf("Restore = %v %q, %v", ch.Status, ch.Reasons, err)
	}
	h = getHPA(t, ns, "api")
	if min, max, _ := spec(h); min != 12 || max != 20 {
		t.Errorf("restored spec %d/%d, want the live 12/20", min, max)
	}
	for k := range h.Annotations {
		if strings.HasPrefix(k, "prescale.io/") {
			t.Errorf("annotation %s left after restore", k)
		}
	}
}

func TestRestoreAll(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	a := New(clientset, nil)
	for i, name := range []string{"a", "b", "c"} {
		createDeployment(t, ns, name)
		createHPA(t, ns, name, int32(i+1), 10, 70)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := a.Apply(ctx, desired(ns, name, 6)); err != nil {
			t.Fatal(err)
		}
	}
	changes, err := a.RestoreAll(ctx, actuator.Active, ns, []string{"prescale restore --all"})
	if err != nil || len(changes) != 2 {
		t.Fatalf("RestoreAll = %d changes, %v; want 2", len(changes), err)
	}
	for i, name := range []string{"a", "b", "c"} {
		if min, _, _ := spec(getHPA(t, ns, name)); min != int32(i+1) {
			t.Errorf("%s: min %d, want %d", name, min, i+1)
		}
	}
}

// TestManaged: each prescale deployment (shard) finds, across namespaces,
// the HPAs it changed and has not restored, and never another shard's.
func TestManaged(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	shardA := New(clientset, nil)
	shardA.Manager = "prescale-shard-a"
	shardB := New(clientset, nil)
	shardB.Manager = "prescale-shard-b"
	for _, name := range []string{"x", "y", "z"} {
		createDeployment(t, ns, name)
		createHPA(t, ns, name, 2, 10, 70)
	}
	if _, err := shardA.Apply(ctx, desired(ns, "x", 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := shardB.Apply(ctx, desired(ns, "y", 6)); err != nil {
		t.Fatal(err)
	}
	if got := getHPA(t, ns, "x").Annotations[AnnotationManagedBy]; got != "prescale-shard-a" {
		t.Errorf("x annotated managed-by %q, want prescale-shard-a", got)
	}
	inNS := func(a *Actuator) []string {
		t.Helper()
		refs, err := a.Managed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range refs {
			if r.Namespace == ns {
				out = append(out, r.Name)
			}
		}
		return out
	}
	if got := inNS(shardA); len(got) != 1 || got[0] != "x" {
		t.Errorf("shard a manages %v, want [x]", got)
	}
	if got := inNS(shardB); len(got) != 1 || got[0] != "y" {
		t.Errorf("shard b manages %v, want [y]", got)
	}
	// Restored, the HPA is nobody's any more.
	if _, err := shardA.Restore(ctx, actuator.Active, "api", ns, "x", []string{"target left the policy"}); err != nil {
		t.Fatal(err)
	}
	if got := inNS(shardA); len(got) != 0 {
		t.Errorf("after restore shard a manages %v, want none", got)
	}
	if _, ok := getHPA(t, ns, "x").Annotations[AnnotationManagedBy]; ok {
		t.Error("restore left the managed-by annotation")
	}
}

// TestRBAC runs the actuator as the ServiceAccount bound only to the
// ClusterRole in deploy/rbac: it can do its work, and cannot patch a
// Deployment.
func TestRBAC(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	createDeployment(t, ns, "api")
	createHPA(t, ns, "api", 2, 20, 70)

	as := kubetest.AsPrescale(t, restConfig)
	saClient := kubernetes.NewForConfigOrDie(as)

	// RBAC takes effect as soon as the binding is stored, but the
	// authorizer's cache may lag a moment: wait for the first allowed read.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := saClient.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service account cannot read HPAs: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	a := New(saClient, nil)
	ch, err := a.Apply(ctx, desired(ns, "api", 10))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply as the service account = %v, %v", ch.Status, err)
	}
	if min, _, _ := spec(getHPA(t, ns, "api")); min != 10 {
		t.Errorf("min %d, want 10", min)
	}
	if evs := hpaEvents(t, ns, "api"); len(evs) != 1 {
		t.Errorf("%d events written as the service account, want 1", len(evs))
	}
	if ch, err := a.Restore(ctx, actuator.Active, "api", ns, "api", nil); err != nil || ch.Status != actuator.Applied {
		t.Errorf("Restore as the service account = %v, %v", ch.Status, err)
	}

	// The placeholder Deployment, and only it, can be scaled.
	placeholder, pc := headroomtest.Placeholder(t, "../headroom/testdata/placeholder.yaml")
	placeholder.Namespace = ns // a fresh namespace per run: go test -count=2 runs again
	// The PriorityClass is cluster-wide: an earlier run (or package) may
	// have made it.
	if _, err := clientset.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := clientset.AppsV1().Deployments(placeholder.Namespace).Create(ctx, placeholder, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hr := &headroom.Actuator{Client: saClient}
	ch, err = hr.Apply(ctx, headroom.Desired{Mode: actuator.Active, Namespace: placeholder.Namespace, Name: placeholder.Name, Replicas: 3})
	if err != nil || ch.Status != actuator.Applied {
		t.Errorf("scale the placeholder as the service account = %v, %v", ch.Status, err)
	}

	_, err = saClient.AppsV1().Deployments(ns).Patch(ctx, "api", types.MergePatchType, []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("patch deployment as the service account: err %v, want Forbidden", err)
	}
	// Nor scale a real workload through the scale subresource: only the
	// placeholder Deployment, by name.
	_, err = saClient.AppsV1().Deployments(ns).UpdateScale(ctx, "api",
		&autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}, metav1.UpdateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("scale deployment api as the service account: err %v, want Forbidden", err)
	}
}
