package headroom

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/internal/headroomtest"
	"github.com/prescale/prescale/internal/kubetest"
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, "actuator/headroom", nil))
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		cur      int
		d        Desired
		lastDown time.Time
		want     int
		decrease bool
	}{
		{name: "up at once", cur: 0, d: Desired{Replicas: 6}, want: 6},
		{name: "same", cur: 6, d: Desired{Replicas: 6}, want: 6},
		{name: "down one pod by default", cur: 6, d: Desired{Replicas: 0}, want: 5, decrease: true},
		{name: "down by the step", cur: 6, d: Desired{Replicas: 0, MaxStepDown: 4}, want: 2, decrease: true},
		{name: "held in the period", cur: 6, d: Desired{Replicas: 0, MaxStepDown: 4, Period: 10 * time.Minute}, lastDown: now.Add(-time.Minute), want: 6},
		{name: "negative plan is zero", cur: 1, d: Desired{Replicas: -3}, want: 0, decrease: true},
	}
	for _, tt := range tests {
		want, _, dec := decide(tt.cur, tt.d, tt.lastDown, now)
		if want != tt.want || dec != tt.decrease {
			t.Errorf("%s: decide = %d %v, want %d %v", tt.name, want, dec, tt.want, tt.decrease)
		}
	}
}

func TestPlaceholder(t *testing.T) {
	ctx := context.Background()
	c := kubetest.Client
	dep, pc := headroomtest.Placeholder(t, "testdata/placeholder.yaml")
	if pc.Value != PlaceholderPriority {
		t.Fatalf("manifest priority %d, want %d", pc.Value, PlaceholderPriority)
	}
	dep.Namespace = kubetest.Namespace(t)
	a := &Actuator{Client: c}
	d := Desired{Mode: actuator.Active, Target: "shop", Namespace: dep.Namespace, Name: dep.Name, Replicas: 4,
		Reasons: []string{"Black Friday T-2h: nodes +50%"}}

	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Missing || !strings.Contains(strings.Join(ch.Reasons, ";"), "not found") {
		t.Fatalf("absent placeholder: %v %v %q", ch.Status, err, ch.Reasons)
	}
	// Cluster-wide, so left by an earlier run (go test -count=2) or test.
	if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().Deployments(dep.Namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	replicas := func() int32 {
		got, err := c.AppsV1().Deployments(dep.Namespace).Get(ctx, dep.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *got.Spec.Replicas
	}
	// Shadow: nothing written.
	shadow := d
	shadow.Mode = actuator.Shadow
	if ch, _ := a.Apply(ctx, shadow); ch.Status != actuator.WouldApply || replicas() != 0 {
		t.Errorf("shadow: %v, replicas %d", ch.Status, replicas())
	}
	ch, err := a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied || replicas() != 4 {
		t.Fatalf("Apply = %v %v, replicas %d; want applied, 4", ch.Status, err, replicas())
	}
	for _, r := range ch.Reasons {
		if strings.HasPrefix(r, "warning:") {
			t.Errorf("unexpected warning with a -10 priority class: %s", r)
		}
	}
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.InSync {
		t.Errorf("second Apply: %v", ch.Status)
	}
	// Down, paced: one step per period.
	now := time.Now()
	a.Now = func() time.Time { return now }
	d.Replicas, d.MaxStepDown, d.Period = 0, 2, 5*time.Minute
	a.Apply(ctx, d)
	a.Apply(ctx, d)
	if got := replicas(); got != 2 {
		t.Errorf("after two ticks inside the period: %d replicas, want 2", got)
	}
	now = now.Add(6 * time.Minute)
	a.Apply(ctx, d)
	if got := replicas(); got != 0 {
		t.Errorf("after the period: %d replicas, want 0", got)
	}
}

func TestPriorityWarning(t *testing.T) {
	ctx := context.Background()
	c := kubetest.Client
	dep, _ := headroomtest.Placeholder(t, "testdata/placeholder.yaml")
	dep.Namespace = kubetest.Namespace(t)
	dep.Spec.Template.Spec.PriorityClassName = ""
	if _, err := c.AppsV1().Deployments(dep.Namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := &Actuator{Client: c}
	ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Namespace: dep.Namespace, Name: dep.Name, Replicas: 1})
	if err != nil || !strings.Contains(strings.Join(ch.Reasons, ";"), "no priorityClassName") {
		t.Errorf("no warning: %v %q", err, ch.Reasons)
	}
}
