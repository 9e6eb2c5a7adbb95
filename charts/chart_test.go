// Package charts_test checks the Helm chart with a real Helm (v4, pinned,
// built by scripts/helm.sh): helm lint, and helm template rendered into
// typed objects that equal the kustomize base (deploy/) where the two
// overlap. It never skips: without Helm it fails and says how to get it.
package charts_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/prescale/prescale/config"
)

// helm returns the pinned Helm: $PRESCALE_HELM, else ../.cache/helm/helm.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("PRESCALE_HELM")
	if bin == "" {
		bin, _ = filepath.Abs("../.cache/helm/helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: these tests need the pinned Helm;\nrun: export PRESCALE_HELM=\"$(scripts/helm.sh)\" (scripts/test.sh does it)", bin)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	_ = scheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// objects decodes a multi-document stream: typed objects by "Kind/name",
// and those outside the scheme (ServiceMonitor, PrometheusRule) as
// unstructured.
func objects(t *testing.T, stream string) (map[string]runtime.Object, map[string]*unstructured.Unstructured) {
	t.Helper()
	typed, other := map[string]runtime.Object{}, map[string]*unstructured.Unstructured{}
	for _, doc := range strings.Split(stream, "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "\n")) == "" || !strings.Contains(doc, "kind:") {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := sigsyaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		key := u.GetKind() + "/" + u.GetName()
		obj, _, err := decoder.Decode([]byte(doc), nil, nil)
		if runtime.IsNotRegisteredError(err) {
			other[key] = u
			continue
		}
		if err != nil {
			t.Errorf("%s does not decode strictly into its type: %v", key, err)
			continue
		}
		typed[key] = obj
	}
	return typed, other
}

func render(t *testing.T, set ...string) (map[string]runtime.Object, map[string]*unstructured.Unstructured) {
	t.Helper()
	args := []string{"template", "prescale", "./prescale", "--namespace", "prescale", "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return objects(t, helm(t, args...))
}

func kustomize(t *testing.T, dir string) (map[string]runtime.Object, map[string]*unstructured.Unstructured) {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	y, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return objects(t, string(y))
}

func TestLint(t *testing.T) {
	out := helm(t, "lint", "--strict", "./prescale")
	if !strings.Contains(out, "0 chart(s) failed") {
		t.Errorf("helm lint:\n%s", out)
	}
	for _, set := range []string{"rbac.podUsage=true,serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true", "policies.source=crd", "policies.source=files"} {
		if out := helm(t, "lint", "--strict", "./prescale", "--set", set); !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint --set %s:\n%s", set, out)
		}
	}
}

// The chart renders the kustomize base's objects, the same where they
// overlap: the Deployment's pod (but its image tag and the hashed name
// kustomize gives the Prometheus ConfigMap), the RBAC (so the chart passes
// the RBAC table deploy/manifests_test.go checks the base against), the
// Service, the disruption budget and the CRD.
func TestSameAsKustomize(t *testing.T) {
	h, hOther := render(t)
	k, _ := kustomize(t, "../deploy")
	if len(hOther) != 0 {
		t.Errorf("default values render objects that need other CRDs: %v", keys(hOther))
	}
	for key, ko := range k {
		if strings.HasPrefix(key, "Namespace/") {
			continue // Helm installs into the release's namespace (--create-namespace)
		}
		name := key
		if strings.HasPrefix(key, "ConfigMap/prescale-prometheus") {
			name = "ConfigMap/prescale-prometheus"
		}
		ho, ok := h[name]
		if !ok {
			t.Errorf("kustomize renders %s, the chart does not", key)
			continue
		}
		switch kv := ko.(type) {
		case *appsv1.Deployment:
			hv := ho.(*appsv1.Deployment)
			kp, hp := kv.Spec.Template.Spec.DeepCopy(), hv.Spec.Template.Spec.DeepCopy()
			if !strings.HasSuffix(hp.Containers[0].Image, ":0.1.0") {
				t.Errorf("chart image %s: want the chart's appVersion as the tag", hp.Containers[0].Image)
			}
			kp.Containers[0].Image, hp.Containers[0].Image = "", ""
			hp.Containers[0].ImagePullPolicy = ""
			for i := range kp.Volumes {
				if cm := kp.Volumes[i].ConfigMap; cm != nil && strings.HasPrefix(cm.Name, "prescale-prometheus") {
					cm.Name = "prescale-prometheus"
				}
			}
			same(t, key+" pod", kp, hp)
			same(t, key+" replicas", kv.Spec.Replicas, hv.Spec.Replicas)
			same(t, key+" strategy", kv.Spec.Strategy, hv.Spec.Strategy)
			same(t, key+" selector", kv.Spec.Selector, hv.Spec.Selector)
		case *rbacv1.ClusterRole:
			same(t, key, kv.Rules, ho.(*rbacv1.ClusterRole).Rules)
		case *rbacv1.Role:
			same(t, key, kv.Rules, ho.(*rbacv1.Role).Rules)
		case *rbacv1.ClusterRoleBinding:
			same(t, key, []any{kv.RoleRef, kv.Subjects}, []any{ho.(*rbacv1.ClusterRoleBinding).RoleRef, ho.(*rbacv1.ClusterRoleBinding).Subjects})
		case *rbacv1.RoleBinding:
			same(t, key, []any{kv.RoleRef, kv.Subjects}, []any{ho.(*rbacv1.RoleBinding).RoleRef, ho.(*rbacv1.RoleBinding).Subjects})
		case *corev1.Service:
			same(t, key, kv.Spec, ho.(*corev1.Service).Spec)
		case *policyv1.PodDisruptionBudget:
			same(t, key, kv.Spec, ho.(*policyv1.PodDisruptionBudget).Spec)
		case *apiextensionsv1.CustomResourceDefinition:
			same(t, key, kv.Spec, ho.(*apiextensionsv1.CustomResourceDefinition).Spec)
		case *corev1.ConfigMap:
			hv := ho.(*corev1.ConfigMap)
			if name == "ConfigMap/prescale-prometheus" {
				var kc, hc map[string]any
				_ = yaml.Unmarshal([]byte(kv.Data["prometheus.yaml"]), &kc)
				_ = yaml.Unmarshal([]byte(hv.Data["prometheus.yaml"]), &hc)
				same(t, key, kc, hc)
			} else {
				same(t, key, kv.Data, hv.Data)
			}
		case *corev1.ServiceAccount:
		default:
			t.Errorf("%s (%T) is not compared", key, ko)
		}
	}
	for key := range h {
		if _, ok := k[key]; !ok && key != "ConfigMap/prescale-prometheus" {
			t.Errorf("the chart renders %s, kustomize does not", key)
		}
	}
}

// The optional parts: the pod-usage RBAC and flag, the ServiceMonitor, the
// PrometheusRule (the alert rules file) and the dashboard ConfigMap with
// the sidecar's label, each only when asked.
func TestOptions(t *testing.T) {
	h, other := render(t, "rbac.podUsage=true", "serviceMonitor.enabled=true", "prometheusRule.enabled=true", "grafanaDashboard.enabled=true")
	pu, _ := kustomize(t, "../deploy/rbac/pod-usage")
	same(t, "pod-usage ClusterRole", pu["ClusterRole/prescale-pod-usage"].(*rbacv1.ClusterRole).Rules, h["ClusterRole/prescale-pod-usage"].(*rbacv1.ClusterRole).Rules)
	if args := h["Deployment/prescale"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--pod-usage") {
		t.Errorf("rbac.podUsage without --pod-usage: %v", args)
	}
	_, mon := kustomize(t, "../deploy/monitoring")
	same(t, "ServiceMonitor", mon["ServiceMonitor/prescale"].Object["spec"], other["ServiceMonitor/prescale"].Object["spec"])

	var alerts map[string]any
	b, _ := os.ReadFile("../deploy/prometheus/alerts.yaml")
	if err := sigsyaml.Unmarshal(b, &alerts); err != nil {
		t.Fatal(err)
	}
	same(t, "PrometheusRule", alerts["groups"], other["PrometheusRule/prescale"].Object["spec"].(map[string]any)["groups"])

	dash := h["ConfigMap/prescale-dashboard"].(*corev1.ConfigMap)
	if dash.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v: want the Grafana sidecar's grafana_dashboard: \"1\"", dash.Labels)
	}
	want, _ := os.ReadFile("../deploy/grafana/prescale.json")
	var w, g any
	_ = json.Unmarshal(want, &w)
	if err := json.Unmarshal([]byte(dash.Data["prescale.json"]), &g); err != nil || !reflect.DeepEqual(w, g) {
		t.Errorf("the dashboard ConfigMap is not deploy/grafana/prescale.json (%v)", err)
	}

	for _, c := range []struct {
		source     string
		has, hasnt string
	}{{"crd", "--scalingpolicies", "--config=/etc/prescale/policy"}, {"files", "--config=/etc/prescale/policy", "--scalingpolicies"}} {
		h, _ := render(t, "policies.source="+c.source)
		args := h["Deployment/prescale"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Args
		if !slices.Contains(args, c.has) || slices.Contains(args, c.hasnt) {
			t.Errorf("policies.source=%s: args %v", c.source, args)
		}
	}
}

// Policy files given as values reach the ConfigMap and load; a target
// without a mode runs in shadow.
func TestPolicyFiles(t *testing.T) {
	doc := `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  targets:
    - name: web
      signals:
        demand:
          query: sum(rate(http_requests_total{app="web"}[5m]))
      capacity:
        perPod: 50
      hpa:
        namespace: shop
        name: web
        maxReplicas: 20
`
	vals := filepath.Join(t.TempDir(), "values.yaml")
	b, _ := yaml.Marshal(map[string]any{"policies": map[string]any{"files": map[string]string{"web.yaml": doc}}})
	if err := os.WriteFile(vals, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h, _ := objects(t, helm(t, "template", "prescale", "./prescale", "--namespace", "prescale", "-f", vals))
	cm := h["ConfigMap/prescale-policy"].(*corev1.ConfigMap)
	ps, err := config.Parse([]byte(cm.Data["web.yaml"]), "web.yaml")
	if err != nil || len(ps) != 1 {
		t.Fatalf("the policy file in the ConfigMap: %v", err)
	}
	if m := ps[0].Spec.Targets[0].HPA.Mode; m != "shadow" {
		t.Errorf("mode %q, want the default shadow", m)
	}
}

// The chart's copies of the dashboard and the alert rules are deploy/'s
// (go run ./internal/crdgen copies them: Helm reads only the chart's files).
func TestFilesCurrent(t *testing.T) {
	for chart, src := range map[string]string{"prescale/files/alerts.yaml": "../deploy/prometheus/alerts.yaml", "prescale/files/prescale.json": "../deploy/grafana/prescale.json"} {
		a, _ := os.ReadFile(chart)
		b, err := os.ReadFile(src)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s is not %s: run go run ./internal/crdgen", chart, src)
		}
	}
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		wy, _ := sigsyaml.Marshal(want)
		gy, _ := sigsyaml.Marshal(got)
		t.Errorf("%s differs between kustomize and the chart:\nkustomize:\n%s\nchart:\n%s", what, wy, gy)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
