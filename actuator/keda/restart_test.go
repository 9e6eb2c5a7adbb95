package keda_test

// The daemon's side of KEDA targets across a restart, on the real API
// server with KEDA's CRD (installed by this package's TestMain): the live
// actuator lists the ScaledObjects prescale changed, and a loop started
// after the target left the policy restores the owner's minReplicaCount.

import (
	"context"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/keda"
	"github.com/prescale/prescale/actuator/live"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/policy"
)

func TestRestoredAfterRestartWhenTargetLeft(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	dyn := dynamic.NewForConfigOrDie(kubetest.Config)
	so := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": "api", "namespace": ns},
		"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "api"}, "minReplicaCount": int64(2), "maxReplicaCount": int64(20),
			"triggers": []any{map[string]any{"type": "rabbitmq", "metadata": map[string]any{"queueName": "orders", "mode": "QueueLength", "value": "50", "hostFromEnv": "RABBITMQ_HOST"}}}},
	}}
	if _, err := dyn.Resource(keda.ScaledObjects).Namespace(ns).Create(ctx, so, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatalf("create scaledobject (is KEDA's CRD installed? scripts/keda-crds.sh): %v", err)
	}
	// An HPA of the same name that prescale never changed: restoring must
	// still reach the ScaledObject, and leave the HPA alone.
	two := int32(2)
	h, err := kubetest.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MinReplicas: &two, MaxReplicas: 5,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "other"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	p := &config.Policy{Metadata: config.Metadata{Name: "ticketing"}, Spec: config.Spec{Targets: []config.Target{{Name: "tickets-api",
		HPA: config.HPA{Namespace: ns, ScaledObject: "api", Mode: "active"}}}}}
	before := live.New(kubetest.Client, nil, &actuator.Journal{}, live.WithDynamic(dyn))
	out, err := before.Apply(ctx, p, policy.Resource{Target: "tickets-api", Kind: policy.KindHPA, Name: ns + "/api", Field: policy.FieldMinReplicas,
		Current: 2, Desired: 8, Reasons: []string{"on-sale T-1h: floor 8"}})
	if err != nil || out.Applied != 8 {
		t.Fatalf("apply floor 8: %+v, %v", out, err)
	}
	if min := minCount(t, dyn, ns); min != 8 {
		t.Fatalf("minReplicaCount %d after the apply, want 8", min)
	}

	// prescale restarts; meanwhile the target left the policy. The new
	// process finds the ScaledObject from its annotations...
	after := live.New(kubetest.Client, nil, &actuator.Journal{}, live.WithDynamic(dyn))
	refs, err := after.ManagedHPAs(ctx)
	if err != nil || !contains(refs, controller.HPARef{Namespace: ns, Name: "api"}) {
		t.Fatalf("ManagedHPAs = %v, %v; want %s/api listed", refs, err, ns)
	}
	// ...another prescale (a different manager name) does not claim it...
	other := live.New(kubetest.Client, nil, &actuator.Journal{}, live.WithDynamic(dyn), live.WithManager("prescale-shard-b"))
	if refs, _ := other.ManagedHPAs(ctx); contains(refs, controller.HPARef{Namespace: ns, Name: "api"}) {
		t.Errorf("another manager lists %s/api: %v", ns, refs)
	}
	// ...and its first tick, with no policy naming it, gives it back.
	loop := controller.New(controller.Config{}, func() []*config.Policy { return nil }, nil, after, nil, nil)
	if _, err := loop.Tick(ctx); err != nil {
		t.Fatalf("tick: %v", err)
	}
	if min := minCount(t, dyn, ns); min != 2 {
		t.Errorf("minReplicaCount %d after the restart, want the owner's 2", min)
	}
	if refs, _ := after.ManagedHPAs(ctx); contains(refs, controller.HPARef{Namespace: ns, Name: "api"}) {
		t.Errorf("still listed after the restore: %v", refs)
	}
	if got, _ := kubetest.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{}); got.ResourceVersion != h.ResourceVersion {
		t.Error("the HPA prescale never changed was written")
	}
}

func minCount(t *testing.T, dyn dynamic.Interface, ns string) int64 {
	t.Helper()
	obj, err := dyn.Resource(keda.ScaledObjects).Namespace(ns).Get(context.Background(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _ := unstructured.NestedInt64(obj.Object, "spec", "minReplicaCount")
	return v
}

func contains(refs []controller.HPARef, r controller.HPARef) bool {
	for _, x := range refs {
		if x == r {
			return true
		}
	}
	return false
}
