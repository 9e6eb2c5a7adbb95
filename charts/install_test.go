package charts_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/prescale/prescale/internal/kubetest"
)

var scalingPolicies = schema.GroupVersionResource{Group: "prescale.io", Version: "v1alpha1", Resource: "scalingpolicies"}

// The README's Install and Uninstall, end to end, on a real API server
// (envtest) with the pinned Helm: `helm install` of the chart creates its
// objects and the ScalingPolicy CRD, which is then served and takes the
// README's policy (strict field validation, server-side); `helm
// uninstall` removes every object it installed, and keeps the CRD (Helm
// never deletes crds/: the README's last step, kubectl delete crd, does).
// No kubelet runs here: nothing waits for the pods.
func TestInstallUninstall(t *testing.T) {
	ctx := context.Background()
	env := kubetest.Start(t)
	kc := "--kubeconfig=" + env.KubeConfig
	dyn := dynamic.NewForConfigOrDie(env.Config)

	// Step 1, as the README writes it (the chart from this directory).
	steps := readmeInstall(t)
	if len(steps) < 3 || steps[0].words[0] != "helm" || steps[1].stdin == "" {
		t.Fatalf("the README's Install is not helm install, kubectl apply -f - <<YAML, kubectl get: %v", steps)
	}
	var args []string
	for _, w := range steps[0].words[1:] {
		args = append(args, strings.Replace(w, "charts/prescale", "./prescale", 1))
	}
	out := helm(t, append(args, kc)...)
	if !strings.Contains(out, "STATUS: deployed") {
		t.Fatalf("helm install:\n%s", out)
	}
	installed, _ := render(t) // what the chart holds, by Kind/name
	if _, ok := installed["CustomResourceDefinition/scalingpolicies.prescale.io"]; !ok || len(installed) < 10 {
		t.Fatalf("the chart renders %d objects (%v): want the daemon, its RBAC and the CRD", len(installed), keys(installed))
	}
	for key := range installed {
		kind, name, _ := strings.Cut(key, "/")
		if !exists(ctx, t, dyn, kind, name) {
			t.Errorf("after helm install, %s is not on the API server", key)
		}
	}

	// Step 2: the CRD is served and the README's own policy applies, in
	// shadow.
	policy := steps[1].stdin
	if !strings.Contains(policy, "namespace: shop") {
		t.Fatalf("the README's Install policy is not in namespace shop:\n%s", policy)
	}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := sigsyaml.Unmarshal([]byte(policy), &obj.Object); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(scalingPolicies).Namespace("shop").Create(ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatalf("kubectl apply of the README's ScalingPolicy after helm install: %v", err)
	}
	if l, err := dyn.Resource(scalingPolicies).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 1 {
		t.Fatalf("kubectl get scalingpolicies -A: %v", err)
	}
	// Step 3 once the Deployment's pod runs: its first plans, in shadow.
	checkShadow(ctx, t, env, dyn, steps[2])

	out = helm(t, "uninstall", "prescale", kc, "--namespace", "prescale", "--wait")
	if !strings.Contains(out, `release "prescale" uninstalled`) {
		t.Errorf("helm uninstall:\n%s", out)
	}
	for key := range installed {
		kind, name, _ := strings.Cut(key, "/")
		if kind == "CustomResourceDefinition" {
			if !exists(ctx, t, dyn, kind, name) {
				t.Errorf("helm uninstall deleted the CRD %s (Helm keeps crds/; deleting it deletes every policy)", name)
			}
			continue
		}
		if exists(ctx, t, dyn, kind, name) {
			t.Errorf("after helm uninstall, %s is still there", key)
		}
	}
	if out := helm(t, "list", kc, "--all-namespaces", "--short"); strings.TrimSpace(out) != "" {
		t.Errorf("helm list after uninstall: %q", out)
	}
}

// resources maps the chart's kinds to their API resources and whether
// they are namespaced (in the release's namespace).
var resources = map[string]struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}{
	"Deployment":               {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	"Service":                  {schema.GroupVersionResource{Version: "v1", Resource: "services"}, true},
	"ServiceAccount":           {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true},
	"ConfigMap":                {schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
	"PodDisruptionBudget":      {schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, true},
	"Role":                     {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true},
	"RoleBinding":              {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, true},
	"ClusterRole":              {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false},
	"ClusterRoleBinding":       {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false},
	"CustomResourceDefinition": {schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, false},
}

func exists(ctx context.Context, t *testing.T, dyn dynamic.Interface, kind, name string) bool {
	t.Helper()
	r, ok := resources[kind]
	if !ok {
		t.Fatalf("the chart renders a %s: add it to resources", kind)
	}
	var err error
	if r.namespaced {
		_, err = dyn.Resource(r.gvr).Namespace("prescale").Get(ctx, name, metav1.GetOptions{})
	} else {
		_, err = dyn.Resource(r.gvr).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get %s %s: %v", kind, name, err)
	}
	return true
}
