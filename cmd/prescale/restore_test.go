package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/internal/kubetest"
)

// The restore logic runs against a real API server in actuator/hpa;
// TestRestoreUsage and TestRestoreLine cover the command's arguments and
// output, and TestRestoreAgainstAPIServer the whole command on its own
// control plane.

func TestRestoreUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{name: "help", args: []string{"--help"}, code: exitOK, out: "prescale restore --all --namespace shop"},
		{name: "nothing named", args: nil, code: exitUsage, err: "either NAMESPACE/NAME arguments or --all"},
		{name: "both names and all", args: []string{"--all", "shop/web"}, code: exitUsage, err: "either NAMESPACE/NAME arguments or --all"},
		{name: "bad name", args: []string{"web"}, code: exitUsage, err: `"web": want NAMESPACE/NAME`},
		{name: "namespace without all", args: []string{"--namespace", "shop", "shop/web"}, code: exitUsage, err: "--namespace goes with --all"},
		{name: "bad flag", args: []string{"--bogus"}, code: exitUsage},
		{name: "unreadable kubeconfig", args: []string{"--kubeconfig", filepath.Join(os.TempDir(), "prescale-no-such-kubeconfig"), "shop/web"},
			code: exitFailure, err: "prescale restore: kubeconfig:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runRestore(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) || !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("stdout %q stderr %q, want %q / %q", stdout.String(), stderr.String(), tt.out, tt.err)
			}
		})
	}
}

func TestRestoreLine(t *testing.T) {
	tests := []struct {
		ch   actuator.Change
		want string
	}{
		{actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "minReplicas", From: "10", To: "2"}, {Field: "annotations", From: "prescale.io/*", To: "removed"}}},
			"restored: minReplicas 10 → 2"},
		{actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "annotations", From: "prescale.io/*", To: "removed"}}},
			"restored: owner's values already in place; annotations removed"},
		{actuator.Change{Status: actuator.WouldApply, Fields: []actuator.FieldChange{{Field: "maxReplicas", From: "40", To: "20"}}}, "would restore: maxReplicas 40 → 20"},
		{actuator.Change{Status: actuator.InSync}, "not changed by prescale: nothing to restore"},
		{actuator.Change{Status: actuator.Failed, Err: errors.New("forbidden")}, "failed: forbidden"},
	}
	for _, tt := range tests {
		if got := restoreLine(tt.ch); got != tt.want {
			t.Errorf("restoreLine(%v) = %q, want %q", tt.ch.Status, got, tt.want)
		}
	}
}

// TestRestoreAgainstAPIServer runs `prescale restore` against a real API
// server, through a kubeconfig file as a person would, on HPAs prescale's
// actuator raised: the owner's values come back, prescale's annotations
// go, the restore is an Event, and names that match nothing fail clearly.
func TestRestoreAgainstAPIServer(t *testing.T) {
	ctx := context.Background()
	env := kubetest.Start(t)
	c := env.Client
	const ns = "shop"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two workloads whose owners set minReplicas 2 / maxReplicas 10 and
	// 3 / 20, both raised by prescale's actuator as the daemon would.
	a := hpa.New(c, nil)
	for _, w := range []struct {
		name          string
		min, max, cpu int32
		want          hpa.Want
	}{
		{"frontend", 2, 10, 70, hpa.Want{MinReplicas: 8, MaxReplicas: 16, RaiseMax: true, Ceiling: 16, Resource: "cpu"}},
		{"backend", 3, 20, 60, hpa.Want{MinReplicas: 12, Ceiling: 20, Resource: "cpu"}},
	} {
		createWorkload(t, c.AppsV1().Deployments(ns), c.AutoscalingV2().HorizontalPodAutoscalers(ns), w.name, w.min, w.max, w.cpu)
		ch, err := a.Apply(ctx, hpa.Desired{Mode: actuator.Active, Target: w.name, Namespace: ns, Name: w.name,
			Reasons: []string{"Black Friday T-2h"}, Want: w.want})
		if err != nil || ch.Status != actuator.Applied {
			t.Fatalf("raise %s: %v %v", w.name, ch.Status, err)
		}
	}
	get := func(name string) *autoscalingv2.HorizontalPodAutoscaler {
		t.Helper()
		h, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := get("frontend"); *h.Spec.MinReplicas != 8 || h.Spec.MaxReplicas != 16 || h.Annotations[hpa.AnnotationOwnerMin] != "2" {
		t.Fatalf("frontend not raised: min %d max %d annotations %v", *h.Spec.MinReplicas, h.Spec.MaxReplicas, h.Annotations)
	}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runRestore(ctx, append([]string{"--kubeconfig", env.KubeConfig}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	prescaleAnnotations := func(h *autoscalingv2.HorizontalPodAutoscaler) []string {
		var out []string
		for k := range h.Annotations {
			if strings.HasPrefix(k, "prescale.io/") {
				out = append(out, k)
			}
		}
		return out
	}

	// --dry-run says what it would do and changes nothing.
	code, out, errOut := run("--dry-run", ns+"/frontend")
	if code != exitOK || out != "shop/frontend: would restore: minReplicas 8 → 2, maxReplicas 16 → 10\n" || errOut != "" {
		t.Errorf("dry-run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if h := get("frontend"); *h.Spec.MinReplicas != 8 || len(prescaleAnnotations(h)) == 0 {
		t.Errorf("dry-run changed the HPA: min %d, annotations %v", *h.Spec.MinReplicas, h.Annotations)
	}

	code, out, errOut = run(ns + "/frontend")
	if code != exitOK || out != "shop/frontend: restored: minReplicas 8 → 2, maxReplicas 16 → 10\n" || errOut != "" {
		t.Errorf("restore: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	h := get("frontend")
	if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 10 {
		t.Errorf("restored min %d max %d, want the owner's 2 10", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if left := prescaleAnnotations(h); len(left) > 0 {
		t.Errorf("annotations left after restore: %v", left)
	}
	if cpu := h.Spec.Metrics[0].Resource.Target.AverageUtilization; cpu == nil || *cpu != 70 {
		t.Errorf("target utilisation %v, want the owner's 70 untouched", cpu)
	}
	evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var restored []corev1.Event
	for _, e := range evs.Items {
		if e.Reason == hpa.ReasonRestored && e.InvolvedObject.Name == "frontend" {
			restored = append(restored, e)
		}
	}
	if len(restored) != 1 || !strings.Contains(restored[0].Message, "minReplicas 8 → 2") || !strings.Contains(restored[0].Message, "prescale restore") ||
		restored[0].InvolvedObject.Kind != "HorizontalPodAutoscaler" || restored[0].InvolvedObject.UID != h.UID {
		t.Errorf("%s events on frontend: %+v", hpa.ReasonRestored, restored)
	}

	// Again: nothing to do, still success.
	if code, out, _ := run(ns + "/frontend"); code != exitOK || out != "shop/frontend: not changed by prescale: nothing to restore\n" {
		t.Errorf("second restore: exit %d, stdout %q", code, out)
	}

	// A name that matches no HPA is bad input: exit 1 with a clear error;
	// the names that exist are still restored.
	code, out, errOut = run(ns+"/fronted", ns+"/backend")
	if code != exitFailure {
		t.Errorf("unknown HPA: exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(errOut, "prescale restore: HPA shop/fronted not found, nor a ScaledObject") || !strings.Contains(out, "shop/fronted: not found") {
		t.Errorf("unknown HPA: stdout %q, stderr %q", out, errOut)
	}
	if h := get("backend"); *h.Spec.MinReplicas != 3 || h.Spec.MaxReplicas != 20 || len(prescaleAnnotations(h)) > 0 {
		t.Errorf("backend beside an unknown name: min %d max %d annotations %v", *h.Spec.MinReplicas, h.Spec.MaxReplicas, h.Annotations)
	}

	// An unknown namespace with --all finds nothing and says so.
	if code, out, _ := run("--all", "--namespace", "nowhere"); code != exitOK || !strings.Contains(out, "nothing to restore") || !strings.Contains(out, "not restored by this command: node-group minimums") {
		t.Errorf("--all in an empty namespace: exit %d, stdout %q", code, out)
	}
	// An unknown context in a good kubeconfig is a failure, not a panic.
	if code, _, errOut := run("--context", "prod", ns+"/frontend"); code != exitFailure || !strings.Contains(errOut, "prescale restore: kubeconfig:") {
		t.Errorf("unknown context: exit %d, stderr %q", code, errOut)
	}
}

// createWorkload creates a Deployment and its HPA the way kubectl would,
// with the owner's floor, ceiling and CPU target.
func createWorkload(t *testing.T, deps interface {
	Create(context.Context, *appsv1.Deployment, metav1.CreateOptions) (*appsv1.Deployment, error)
}, hpas interface {
	Create(context.Context, *autoscalingv2.HorizontalPodAutoscaler, metav1.CreateOptions) (*autoscalingv2.HorizontalPodAutoscaler, error)
}, name string, min, max, cpu int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	replicas := min
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := deps.Create(context.Background(), d, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatalf("create deployment %s: %v", name, err)
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &min,
			MaxReplicas:    max,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &cpu}},
			}},
		},
	}
	if _, err := hpas.Create(context.Background(), h, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatalf("create hpa %s: %v", name, err)
	}
}
