// Package kubetest starts a real kube-apiserver and etcd for the integration
// tests with controller-runtime's envtest, from KUBEBUILDER_ASSETS or the
// cache folder scripts/kube-apiserver.sh fills. It never skips: when the
// binaries are missing, Main fails the test binary and says how to get
// them, so CI cannot pass without having run the integration tests.
package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Config and Client reach the control plane Main started.
var (
	Config *rest.Config
	Client *kubernetes.Clientset
)

// Main starts the control plane, calls ready (to copy Config and Client),
// runs the tests and stops it; use it as
// os.Exit(kubetest.Main(m, "actuator/hpa", nil)) in TestMain.
func Main(m *testing.M, pkg string, ready func()) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = defaultAssets()
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %s not found in %q: these integration tests need a real API server;\n"+
				"run: export KUBEBUILDER_ASSETS=\"$(scripts/kube-apiserver.sh)\" (scripts/test.sh does it)\n", pkg, b, assets)
			return 1
		}
	}
	// envtest's default start timeout (20 s) is too short on a loaded
	// 2-core CI machine running other packages' tests beside this one:
	// a kube-apiserver that took 25 s failed a soak run there.
	env := &envtest.Environment{BinaryAssetsDirectory: assets,
		ControlPlaneStartTimeout: 2 * time.Minute, ControlPlaneStopTimeout: time.Minute}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: start envtest from %s: %v\n", pkg, assets, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: envtest control plane started in %s\n", pkg, time.Since(start).Round(10*time.Millisecond))
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: stop envtest: %v\n", pkg, err)
		}
	}()
	Config = cfg
	Client = kubernetes.NewForConfigOrDie(cfg)
	if ready != nil {
		ready()
	}
	return m.Run()
}

// Env is a control plane started for one test.
type Env struct {
	Config *rest.Config
	Client *kubernetes.Clientset
	// KubeConfig is a kubeconfig file for the admin user, for code under
	// test that loads its client the way users configure it (--kubeconfig).
	KubeConfig string
}

// Start starts a control plane for one test (a package whose other tests
// need none, so that they do not pay for it) and stops it when the test
// ends. Like Main, it never skips: without the binaries the test fails and
// says how to get them.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with configure called on the environment before it
// starts (to add kube-apiserver flags).
func StartWith(t testing.TB, configure func(*envtest.Environment)) *Env {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = defaultAssets()
	}
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			t.Fatalf("%s not found in %q: this test needs a real API server;\n"+
				"run: export KUBEBUILDER_ASSETS=\"$(scripts/kube-apiserver.sh)\" (scripts/test.sh does it)", b, assets)
		}
	}
	// envtest's default start timeout (20 s) is too short on a loaded
	// 2-core CI machine running other packages' tests beside this one:
	// a kube-apiserver that took 25 s failed a soak run there.
	env := &envtest.Environment{BinaryAssetsDirectory: assets,
		ControlPlaneStartTimeout: 2 * time.Minute, ControlPlaneStopTimeout: time.Minute}
	if configure != nil {
		configure(env)
	}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest from %s: %v", assets, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	t.Logf("envtest control plane started in %s", time.Since(start).Round(10*time.Millisecond))
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return &Env{Config: cfg, Client: kubernetes.NewForConfigOrDie(cfg), KubeConfig: kc}
}

// defaultAssets is <module root>/.cache/kube.
func defaultAssets() string {
	root := moduleRoot()
	if root == "" {
		return ""
	}
	return filepath.Join(root, ".cache", "kube")
}

// moduleRoot is the folder of go.mod, found from the working directory (a
// package folder while testing); "" when there is none.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Namespace creates a fresh namespace for the test, named after it with a
// random suffix the API server picks (generateName), so that running the
// tests again against the same control plane (go test -count=2 keeps the
// one Main started) never meets a namespace left by an earlier run.
//
// When the test ends, the namespace and what the test left in it are
// deleted, and it is gone when the next test starts: envtest runs no
// namespace controller, so deleting a namespace alone would leave it
// Terminating for good, with its objects still listed by cluster-wide
// lists. The cleanup does that controller's work itself: it deletes every
// namespaced kind discovery lists (deletecollection), then deletes and
// finalizes the namespace. An object carrying a finalizer nobody removes
// would outlive it in storage (none of these tests makes one). A failed
// cleanup fails the test.
func Namespace(t *testing.T) string {
	t.Helper()
	prefix := namespacePrefix(t.Name())
	var ns *corev1.Namespace
	var err error
	// A generated name may collide with an existing one: try again.
	for range 5 {
		ns, err = Client.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			break
		}
	}
	if err != nil {
		t.Fatalf("create namespace %s*: %v", prefix, err)
	}
	t.Cleanup(func() {
		if err := deleteNamespace(context.Background(), Config, ns.Name); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	return ns.Name
}

// namespacePrefix is the test's name as the start of a DNS label: lower
// case, other characters as "-", at most 50 characters, ending in "-"
// before the server's 5 random characters.
func namespacePrefix(test string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(test))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.Trim(name, "-")
	if name == "" {
		name = "test"
	}
	return name + "-"
}

// deleteNamespace deletes a namespace and everything in it, and returns
// once it is gone, on a control plane without the namespace controller
// (envtest): each namespaced kind that discovery lists and that supports
// deletecollection is emptied, then the namespace is deleted, finalized
// (its "kubernetes" finalizer removed, as that controller does) and
// deleted again, which removes it.
func deleteNamespace(ctx context.Context, cfg *rest.Config, name string) error {
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{} // deprecated kinds, emptied all the same
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	lists, err := c.Discovery().ServerPreferredNamespacedResources()
	if err != nil && len(lists) == 0 {
		// A partial answer (an aggregated API down) still lists the rest.
		return fmt.Errorf("delete namespace %s: discover its kinds: %w", name, err)
	}
	zero, background := int64(0), metav1.DeletePropagationBackground
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return fmt.Errorf("delete namespace %s: %w", name, err)
		}
		for _, r := range list.APIResources {
			if !slices.Contains(r.Verbs, "deletecollection") || strings.Contains(r.Name, "/") {
				continue
			}
			err := dyn.Resource(gv.WithResource(r.Name)).Namespace(name).DeleteCollection(ctx,
				metav1.DeleteOptions{GracePeriodSeconds: &zero, PropagationPolicy: &background}, metav1.ListOptions{})
			// NotFound: the kind went away since discovery (a CRD removed).
			if err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete namespace %s: delete its %s: %w", name, gv.WithResource(r.Name).GroupResource(), err)
			}
		}
	}
	nss := c.CoreV1().Namespaces()
	if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	ns, err := nss.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	ns.Spec.Finalizers = nil
	if _, err := nss.Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: finalize: %w", name, err)
	}
	if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s after finalizing it: %w", name, err)
	}
	if _, err := nss.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: still there after deleting and finalizing it (%v)", name, err)
	}
	return nil
}
