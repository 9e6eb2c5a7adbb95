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
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
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
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
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

// Namespace creates a fresh namespace named after the test.
func Namespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.Trim(name, "-")
	if _, err := Client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}
