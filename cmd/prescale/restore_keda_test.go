package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/actuator/keda"
	"github.com/prescale/prescale/internal/kubetest"
)

// `prescale restore` on a KEDA ScaledObject prescale raised, on a real API
// server with KEDA's CRD (scripts/keda-crds.sh): by name and with --all,
// the owner's minReplicaCount comes back.
func TestRestoreScaledObject(t *testing.T) {
	ctx := context.Background()
	dir := os.Getenv("PRESCALE_KEDA_CRDS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "keda", "crd")
	}
	env := kubetest.Start(t)
	if err := kubetest.InstallCRD(env.Config, filepath.Join(dir, "keda.sh_scaledobjects.yaml")); err != nil {
		t.Fatalf("%v (run: export PRESCALE_KEDA_CRDS=\"$(scripts/keda-crds.sh)\"; scripts/test.sh does it)", err)
	}
	const ns = "tickets"
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(env.Config)
	so := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": "api", "namespace": ns},
		"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "api"}, "minReplicaCount": int64(2), "maxReplicaCount": int64(20),
			"triggers": []any{map[string]any{"type": "rabbitmq", "metadata": map[string]any{"queueName": "orders", "mode": "QueueLength", "value": "50", "hostFromEnv": "RABBITMQ_HOST"}}}},
	}}
	if _, err := dyn.Resource(keda.ScaledObjects).Namespace(ns).Create(ctx, so, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := &keda.Actuator{Dynamic: dyn}
	raise := func() {
		t.Helper()
		ch, err := a.Apply(ctx, keda.Desired{Mode: actuator.Active, Target: "tickets-api", Namespace: ns, Name: "api",
			Reasons: []string{"on-sale T-1h"}, Want: hpa.Want{MinReplicas: 8, KeepMax: true}})
		if err != nil || ch.Status != actuator.Applied {
			t.Fatalf("raise: %v %v", ch.Status, err)
		}
	}
	minCount := func() int64 {
		t.Helper()
		obj, err := dyn.Resource(keda.ScaledObjects).Namespace(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		v, _, _ := unstructured.NestedInt64(obj.Object, "spec", "minReplicaCount")
		return v
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runRestore(ctx, append([]string{"--kubeconfig", env.KubeConfig}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	raise()
	if code, out, errOut := run("--dry-run", ns+"/api"); code != exitOK || out != "tickets/api: would restore: minReplicaCount 8 → 2\n" || minCount() != 8 {
		t.Errorf("dry-run: exit %d, stdout %q, stderr %q, min %d", code, out, errOut, minCount())
	}
	if code, out, errOut := run(ns + "/api"); code != exitOK || out != "tickets/api: restored: minReplicaCount 8 → 2\n" || minCount() != 2 {
		t.Errorf("restore: exit %d, stdout %q, stderr %q, min %d", code, out, errOut, minCount())
	}
	raise()
	if code, out, errOut := run("--all", "--namespace", ns); code != exitOK || out != "tickets/api: restored: minReplicaCount 8 → 2\n"+notRestored+"\n" || minCount() != 2 {
		t.Errorf("--all: exit %d, stdout %q, stderr %q, min %d", code, out, errOut, minCount())
	}
	if code, _, errOut := run(ns + "/nope"); code != exitFailure || errOut == "" {
		t.Errorf("unknown name: exit %d, stderr %q", code, errOut)
	}
}
