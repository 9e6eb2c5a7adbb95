package crd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/live"
	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/metrics/trace"
)

var dyn dynamic.Interface

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, "controller/crd", func() {
		if err := kubetest.InstallCRD(kubetest.Config, "../../deploy/crd/prescale.io_scalingpolicies.yaml"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		dyn = dynamic.NewForConfigOrDie(kubetest.Config)
	}))
}

// policyYAML is a ScalingPolicy in namespace ns managing HPA hpaNS/web
// (hpaNS "" leaves hpa.namespace out: the policy's own) in mode active,
// sized on the ELB trace replayed as query "elb".
func policyYAML(ns, hpaNS string) string {
	hns := ""
	if hpaNS != "" {
		hns = "\n        namespace: " + hpaNS
	}
	return `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
  namespace: ` + ns + `
spec:
  targets:
    - name: web
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: 20
        leadTime: 5m
        window: 15m
        operatingPoints: [] # the owner's p90 from the first tick (the lifecycle, not the operating points, is tested)
      hpa:` + hns + `
        name: web
        mode: active
        minReplicas: 2
        maxReplicas: 60
`
}

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func create(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := object(t, doc)
	got, err := dyn.Resource(v1alpha1.Resource).Namespace(u.GetNamespace()).Create(context.Background(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create scalingpolicy: %v", err)
	}
	return got
}

func get(t *testing.T, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := dyn.Resource(v1alpha1.Resource).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get scalingpolicy %s/%s: %v", ns, name, err)
	}
	return u
}

func status(t *testing.T, ns, name string) v1alpha1.ScalingPolicyStatus {
	t.Helper()
	var st v1alpha1.ScalingPolicyStatus
	raw, _, _ := unstructured.NestedMap(get(t, ns, name).Object, "status")
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("status of %s/%s: %v", ns, name, err)
	}
	return st
}

func cond(st v1alpha1.ScalingPolicyStatus, typ string) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return metav1.Condition{}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// events lists the Events on ScalingPolicy ns/name with the reason.
func events(t *testing.T, ns, name, reason string) []corev1.Event {
	t.Helper()
	list, err := kubetest.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == v1alpha1.Kind && e.InvolvedObject.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// createWorkload creates a Deployment and its HPA as their owner would.
func createWorkload(t *testing.T, ns, name string, min, max int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &min,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := kubetest.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cpu := int32(70)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &min, MaxReplicas: max,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &cpu}}}},
		},
	}
	if _, err := kubetest.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(context.Background(), h, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func hpa(t *testing.T, ns, name string) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	h, err := kubetest.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// rig is the daemon's wiring of a Source into the loop: the Source's
// policies, the live actuator on the test API server, the ELB trace
// replayed as query "elb", the Source's Report as the loop's.
type rig struct {
	exp  *metrics.Exporter
	src  *Source
	loop *controller.Loop
	now  time.Time
	// inject, when set, edits each Report before the Source writes it.
	inject func(*controller.Report)
	// stop stops the Source's watch: the daemon is gone.
	stop context.CancelFunc
	// rigStart is the clock's start.
	rigStart time.Time
}

func newRig(t *testing.T, own string) *rig {
	t.Helper()
	return newRigBackfilling(t, own, -1) // the tests judge after a day of floors
}

// newRigBackfilling is newRig whose loop backfills (Config.Backfills).
func newRigBackfilling(t *testing.T, own string, backfills int) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &rig{exp: metrics.NewExporter("test", nil), stop: cancel}
	r.src = New(dyn, kubetest.Client, Options{Namespace: own, Reloads: r.exp})
	if err := r.src.Start(ctx, ""); err != nil {
		t.Fatal(err)
	}
	tr, err := trace.ReadFile("../../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	r.now = tr.Start.Add(10 * 24 * time.Hour).Truncate(5 * time.Minute)
	r.rigStart = r.now
	rep := metrics.NewReplay(func() time.Time { return r.now })
	rep.Add("elb", tr)
	hist := metrics.NewHistory(rep, metrics.HistoryConfig{Step: 5 * time.Minute, Window: 10 * 24 * time.Hour}, nil)
	act := live.New(kubetest.Client, nil, &actuator.Journal{})
	r.loop = controller.New(controller.Config{Tick: 5 * time.Minute, Refit: 15 * time.Minute, Now: func() time.Time { return r.now }, Report: func(ctx context.Context, rep controller.Report) {
		if r.inject != nil {
			r.inject(&rep)
		}
		r.src.Report(ctx, rep)
	}, Verdicts: r.src.Verdict, Backfills: backfills},
		r.src.Policies, hist, act, r.exp, nil)
	return r
}

// reloads checks the ScalingPolicy source's reload metrics.
func (r *rig) reloads(t *testing.T, when string, failures, ok float64) {
	t.Helper()
	if v := testutil.ToFloat64(r.exp.PolicyReloadFailures.WithLabelValues(ReloadSource)); v != failures {
		t.Errorf("%s: prescale_config_reload_failures_total{source=scalingpolicy} %v, want %v", when, v, failures)
	}
	if v := testutil.ToFloat64(r.exp.PolicyReloadOK.WithLabelValues(ReloadSource)); v != ok {
		t.Errorf("%s: prescale_config_last_reload_successful{source=scalingpolicy} %v, want %v", when, v, ok)
	}
}

func (r *rig) tick(t *testing.T) {
	t.Helper()
	if _, err := r.loop.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
	r.now = r.now.Add(5 * time.Minute)
}

// The lifecycle on the real API server: a ScalingPolicy is
// created and acted on, an invalid edit is rejected with the problem in
// its status and an Event while the last good version stays in force,
// and deleting it hands its floors back.
func TestLifecycle(t *testing.T) {
	ns := kubetest.Namespace(t)
	createWorkload(t, ns, "web", 2, 60)
	r := newRig(t, "prescale-system")

	// Create: hpa.namespace left out is the policy's namespace.
	create(t, policyYAML(ns, ""))
	waitFor(t, "the policy in force", func() bool { return len(r.src.Policies()) == 1 })
	good := r.src.Policies()[0]
	if got := good.Spec.Targets[0].HPA.Namespace; got != ns {
		t.Errorf("hpa.namespace defaulted to %q, want the policy's %q", got, ns)
	}
	waitFor(t, "Accepted=True", func() bool {
		return cond(status(t, ns, "web"), v1alpha1.ConditionAccepted).Status == metav1.ConditionTrue
	})
	r.reloads(t, "created", 0, 1)
	accepted := testutil.ToFloat64(r.exp.PolicyReloadSuccess.WithLabelValues(ReloadSource))
	if accepted <= 0 {
		t.Errorf("created: prescale_config_last_reload_success_timestamp_seconds %v, want the time it was accepted", accepted)
	}

	r.tick(t)
	floor := *hpa(t, ns, "web").Spec.MinReplicas
	if floor <= 2 {
		t.Fatalf("after a tick in mode active the HPA's minReplicas is %d, want it raised above the owner's 2", floor)
	}
	st := status(t, ns, "web")
	if st.Mode != "active" || st.TargetCount != 1 || len(st.Targets) != 1 {
		t.Fatalf("status = %+v", st)
	}
	ts := st.Targets[0]
	if ts.DesiredFloor == nil || *ts.DesiredFloor != floor || ts.OwnerFloor == nil || *ts.OwnerFloor != 2 || ts.HPA != ns+"/web" {
		t.Errorf("target status = %+v, want desired %d, owner 2", ts, floor)
	}
	if c := cond(st, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v", c)
	}
	if len(events(t, ns, "web", v1alpha1.ReasonApplied)) == 0 {
		t.Error("no Applied Event for the floor prescale raised")
	}
	if len(events(t, ns, "web", v1alpha1.ReasonAccepted)) == 0 {
		t.Error("no Accepted Event")
	}
	r.tick(t)
	st = status(t, ns, "web")
	if st.Targets[0].MASE == nil && st.Targets[0].Coverage == nil {
		t.Logf("no score yet after two ticks (the first refit scores at the next one)")
	}

	// An invalid edit: a cron that does not parse. The API server takes
	// it (the schema cannot check cron syntax); prescale refuses it.
	u := get(t, ns, "web")
	bad := []any{map[string]any{"name": "open", "schedule": map[string]any{"cron": "every morning", "duration": "1h", "minReplicas": int64(10)}}}
	if err := unstructured.SetNestedSlice(u.Object, bad, "spec", "rules"); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(v1alpha1.Resource).Namespace(ns).Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("the API server refused the edit: %v", err)
	}
	waitFor(t, "Accepted=False", func() bool {
		return cond(status(t, ns, "web"), v1alpha1.ConditionAccepted).Status == metav1.ConditionFalse
	})
	c := cond(status(t, ns, "web"), v1alpha1.ConditionAccepted)
	if c.Reason != v1alpha1.ReasonInvalid || !strings.Contains(c.Message, "spec.rules[0].schedule.cron") || !strings.Contains(c.Message, "generation 1 stays in force") {
		t.Errorf("Accepted = %+v, want the cron problem and the version kept", c)
	}
	if got := r.src.Policies(); len(got) != 1 || got[0] != good {
		t.Errorf("after a rejected edit the policies in force are %v, want the last good version", got)
	}
	if ev := events(t, ns, "web", v1alpha1.ReasonRejected); len(ev) != 1 || ev[0].Type != corev1.EventTypeWarning || !strings.Contains(ev[0].Message, "spec.rules[0].schedule.cron") {
		t.Errorf("Rejected Events = %+v", ev)
	}
	r.reloads(t, "rejected edit", 1, 0)
	if v := testutil.ToFloat64(r.exp.PolicyReloadSuccess.WithLabelValues(ReloadSource)); v != accepted {
		t.Errorf("rejected edit: success time moved from %v to %v", accepted, v)
	}
	r.tick(t) // still acting on the last good version
	if got := *hpa(t, ns, "web").Spec.MinReplicas; got <= 2 {
		t.Errorf("after the rejected edit the floor is %d: the last good version is no longer in force", got)
	}

	// Deletion hands the floor back to the owner.
	if err := dyn.Resource(v1alpha1.Resource).Namespace(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the policy gone", func() bool { return len(r.src.Policies()) == 0 })
	r.reloads(t, "the rejected object deleted", 1, 1)
	r.tick(t)
	h := hpa(t, ns, "web")
	if *h.Spec.MinReplicas != 2 {
		t.Errorf("after deleting the policy minReplicas is %d, want the owner's 2 back", *h.Spec.MinReplicas)
	}
}

// A policy in namespace A naming an HPA in namespace B is refused, with a
// status message and an Event, and nothing is written to B.
func TestOtherNamespaceRefused(t *testing.T) {
	a, b := kubetest.Namespace(t), kubetest.Namespace(t)
	createWorkload(t, b, "web", 2, 60)
	before := hpa(t, b, "web")
	r := newRig(t, "prescale-system")
	create(t, policyYAML(a, b))
	waitFor(t, "Accepted=False", func() bool {
		return cond(status(t, a, "web"), v1alpha1.ConditionAccepted).Status == metav1.ConditionFalse
	})
	c := cond(status(t, a, "web"), v1alpha1.ConditionAccepted)
	if c.Reason != v1alpha1.ReasonOutOfNamespace || !strings.Contains(c.Message, "spec.targets[0].hpa.namespace") || !strings.Contains(c.Message, "own namespace only") {
		t.Errorf("Accepted = %+v", c)
	}
	if ev := events(t, a, "web", v1alpha1.ReasonRejected); len(ev) != 1 || !strings.Contains(ev[0].Message, "outside the policy's namespace") {
		t.Errorf("Rejected Events = %+v", ev)
	}
	if len(r.src.Policies()) != 0 {
		t.Fatalf("a refused policy is in force")
	}
	r.reloads(t, "refused", 1, 0)
	r.tick(t)
	r.tick(t)
	after := hpa(t, b, "web")
	if after.ResourceVersion != before.ResourceVersion || *after.Spec.MinReplicas != 2 {
		t.Errorf("the HPA in the other namespace was written: resourceVersion %s → %s, minReplicas %d", before.ResourceVersion, after.ResourceVersion, *after.Spec.MinReplicas)
	}
}

// The CRD's schema is the files' schema: every example policy, applied as
// a ScalingPolicy, is taken by the real API server; its CEL rules and
// enums refuse what can be checked statically, with their messages.
func TestSchema(t *testing.T) {
	ns := kubetest.Namespace(t)
	files, _ := filepath.Glob("../../deploy/examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			u := object(t, doc)
			u.SetNamespace(ns)
			u.SetName(fmt.Sprintf("%s-%d", u.GetName(), i))
			if _, err := dyn.Resource(v1alpha1.Resource).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
				t.Errorf("%s: the API server refused the example: %v", f, err)
			}
			// And the daemon decodes it as it decodes the file (tenancy
			// aside: the examples name their own namespaces).
			if _, problems := Parse(u, ns); len(problems) > 0 {
				for _, p := range problems {
					if !strings.Contains(p, "own namespace only") && !strings.Contains(p, "cluster-level resources come only") {
						t.Errorf("%s: %s", f, p)
					}
				}
			}
		}
	}
	for _, c := range []struct{ name, edit, want string }{
		{"floor above ceiling", "minReplicas: 2\n        maxReplicas: 60", "minReplicas (the owner's floor) must not be above maxReplicas"},
		{"unknown mode", "mode: active", `Unsupported value: "yolo"`},
		{"unknown field", "mode: active", `unknown field "spec.targets[0].hpa.minReplica"`},
	} {
		doc := policyYAML(ns, "")
		switch c.name {
		case "floor above ceiling":
			doc = strings.Replace(doc, c.edit, "minReplicas: 61\n        maxReplicas: 60", 1)
		case "unknown mode":
			doc = strings.Replace(doc, c.edit, "mode: yolo", 1)
		case "unknown field":
			doc = strings.Replace(doc, c.edit, "mode: active\n        minReplica: 3", 1)
		}
		u := object(t, doc)
		u.SetName("bad")
		_, err := dyn.Resource(v1alpha1.Resource).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{FieldValidation: "Strict"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// What `kubectl get scalingpolicies -A` shows: the API server's table of
// the printer columns, printed as kubectl prints it.
func TestPrinterColumns(t *testing.T) {
	ns := kubetest.Namespace(t)
	createWorkload(t, ns, "web", 2, 60)
	r := newRig(t, "prescale-system")
	shadow := strings.Replace(policyYAML(ns, ""), "mode: active", "mode: shadow\n        promote: {after: 7d}", 1)
	create(t, shadow)
	create(t, strings.Replace(strings.Replace(policyYAML(ns, ""), "name: web\n  namespace", "name: broken\n  namespace", 1), "query: elb", "query: no_such_series", 1))
	waitFor(t, "both in force", func() bool { return len(r.src.Policies()) == 2 })
	r.tick(t)
	out := table(t, "")
	t.Logf("kubectl get scalingpolicies -A\n%s", out)
	for _, want := range []string{"NAMESPACE", "NAME", "MODE", "TARGETS", "PROMOTED", "ACCEPTED", "NEXT CHANGE", "AGE", "shadow", "0/1", "True"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if c := cond(status(t, ns, "broken"), v1alpha1.ConditionReady); c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "web:") {
		t.Errorf("Ready of a policy without data = %+v", c)
	}
	if c := cond(status(t, ns, "web"), v1alpha1.ConditionPromoted); c.Status != metav1.ConditionFalse {
		t.Errorf("Promoted of a fresh shadow target = %+v", c)
	}
	// In shadow the target's reason says why the floor is what it is, not
	// the mode (which the status shows in mode).
	if ts := status(t, ns, "web").Targets; len(ts) != 1 || ts[0].Mode != "shadow" || strings.HasPrefix(ts[0].Reason, "mode ") || ts[0].Reason == "" {
		t.Errorf("shadow target's status: %+v, want its floor's reason, not the mode", ts)
	}
	// A policy file is decoded the same: the CRD's spec is the file's.
	file := strings.Replace(policyYAML(ns, ns), "mode: active", "mode: shadow\n        promote: {after: 7d}", 1)
	if _, err := config.Parse([]byte(file), "web.yaml"); err != nil {
		t.Errorf("the same document as a file: %v", err)
	}
}

// table is `kubectl get scalingpolicies` (ns "" for -A) as the API
// server's table prints it.
func table(t *testing.T, ns string) string {
	t.Helper()
	path := "/apis/prescale.io/v1alpha1/scalingpolicies"
	if ns != "" {
		path = "/apis/prescale.io/v1alpha1/namespaces/" + ns + "/scalingpolicies"
	}
	out, err := kubetest.Table(context.Background(), kubetest.Config, path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
