package keda

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/internal/kubetest"
)

// RestoreAll hands back every ScaledObject prescale changed in the
// namespace, leaves the others alone (not even a write), and with
// DryRun changes nothing.
func TestRestoreAll(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	createScaledObject(t, ns, "api", 2, 20, nil)
	createScaledObject(t, ns, "worker", -1, 10, nil)
	createScaledObject(t, ns, "untouched", 1, 5, nil)
	a := newActuator(&actuator.Journal{})
	for _, d := range []Desired{floor(ns, "api", 8), floor(ns, "worker", 4)} {
		if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied {
			t.Fatalf("apply %s: %v %+v", d.Name, err, ch)
		}
	}
	rv := get(t, ns, "untouched").GetResourceVersion()

	dry, served, err := a.RestoreAll(ctx, actuator.DryRun, ns, []string{"prescale restore"})
	if err != nil || !served || len(dry) != 2 {
		t.Fatalf("dry run: served %v, %v, %+v", served, err, dry)
	}
	for _, ch := range dry {
		if ch.Status != actuator.WouldApply {
			t.Errorf("dry run %s: %s, want %s", ch.Ref.Name, ch.Status, actuator.WouldApply)
		}
	}
	if min, _ := spec(get(t, ns, "api")); min != 8 {
		t.Errorf("the dry run wrote: api min %d", min)
	}

	changes, served, err := a.RestoreAll(ctx, actuator.Active, ns, []string{"prescale restore"})
	if err != nil || !served || len(changes) != 2 {
		t.Fatalf("restore: served %v, %v, %+v", served, err, changes)
	}
	for _, ch := range changes {
		if ch.Status != actuator.Applied || ch.Ref.Kind != "scaledobject" {
			t.Errorf("restore %s: %s %s", ch.Ref.Name, ch.Ref.Kind, ch.Status)
		}
	}
	if min, max := spec(get(t, ns, "api")); min != 2 || max != 20 {
		t.Errorf("api restored to %d..%d, want the owner's 2..20", min, max)
	}
	if min, max := spec(get(t, ns, "worker")); min != -1 || max != 10 {
		t.Errorf("worker restored to min %d (want unset, KEDA's default) max %d", min, max)
	}
	if get(t, ns, "untouched").GetResourceVersion() != rv {
		t.Error("a ScaledObject prescale never changed was written")
	}
	// Nothing left to hand back.
	if again, _, err := a.RestoreAll(ctx, actuator.Active, ns, nil); err != nil || len(again) != 0 {
		t.Errorf("second restore: %v %+v", err, again)
	}
}

// On a cluster that does not serve the resource (KEDA not installed) the
// list is a 404 from the real API server: nothing to restore, no error.
func TestRestoreAllWithoutKEDA(t *testing.T) {
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	_, err := dyn.Resource(schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledjobs-not-served"}).List(context.Background(), metav1.ListOptions{})
	if !notServed(err) {
		t.Fatalf("listing a resource the API server does not serve: %v, want Not Found", err)
	}
}
