package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// AsPrescale installs deploy/rbac's ServiceAccount, ClusterRole and
// ClusterRoleBinding, exactly as shipped, on the control plane cfg reaches,
// and returns a copy of cfg that impersonates that ServiceAccount: code
// under test then runs with the permissions the manifests grant and no
// more. Installing them again (another test) is harmless. The authorizer
// may lag the binding a moment; callers retry their first call.
// Each name in extra is a directory of deploy/rbac with a further
// ClusterRole and binding installed too ("pod-usage": what `run
// --pod-usage` adds).
func AsPrescale(t testing.TB, cfg *rest.Config, extra ...string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	dir0 := filepath.Join(moduleRoot(), "deploy", "rbac")
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	var sa corev1.ServiceAccount
	for file, into := range map[string]any{"clusterrole.yaml": &role, "clusterrolebinding.yaml": &binding, "serviceaccount.yaml": &sa} {
		b, err := os.ReadFile(filepath.Join(dir0, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	c := kubernetes.NewForConfigOrDie(cfg)
	// In order: the namespace holds the ServiceAccount.
	for _, step := range []struct {
		what   string
		create func() error
	}{
		{"namespace " + sa.Namespace, func() error {
			_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sa.Namespace}}, metav1.CreateOptions{})
			return err
		}},
		{"service account", func() error {
			_, err := c.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, &sa, metav1.CreateOptions{})
			return err
		}},
		{"cluster role", func() error {
			_, err := c.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{})
			return err
		}},
		{"cluster role binding", func() error {
			_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{})
			return err
		}},
	} {
		if err := step.create(); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("install deploy/rbac: %s: %v", step.what, err)
		}
	}
	for _, dir := range extra {
		var role rbacv1.ClusterRole
		var binding rbacv1.ClusterRoleBinding
		for file, into := range map[string]any{"clusterrole.yaml": &role, "clusterrolebinding.yaml": &binding} {
			b, err := os.ReadFile(filepath.Join(dir0, dir, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(b, into); err != nil {
				t.Fatalf("%s/%s: %v", dir, file, err)
			}
		}
		if _, err := c.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("install deploy/rbac/%s: cluster role: %v", dir, err)
		}
		if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("install deploy/rbac/%s: cluster role binding: %v", dir, err)
		}
	}
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s", sa.Namespace, sa.Name),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + sa.Namespace, "system:authenticated"},
	}
	return as
}
