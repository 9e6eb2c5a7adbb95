package kubetest

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) {
	os.Exit(Main(m, "internal/kubetest", nil))
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// TestNamespace: each call gets a namespace of its own, named after the
// test (so a second run of the same test, go test -count=2, gets another),
// and when the test ends the namespace and what the test put in it are
// gone, not left Terminating.
func TestNamespace(t *testing.T) {
	ctx := context.Background()
	var names []string
	for range 2 {
		t.Run("Same name: twice/Ünïcode_and a long tail that goes well past fifty characters", func(t *testing.T) {
			ns := Namespace(t)
			names = append(names, ns)
			if !dnsLabel.MatchString(ns) || len(ns) > 63 || !strings.HasPrefix(ns, "testnamespace-same-name--twice-") {
				t.Errorf("namespace %q: not a DNS label named after the test", ns)
			}
			if _, err := Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "left"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := Client.CoreV1().Events(ns).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "left"},
				InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Namespace: ns, Name: "left"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("two runs of one test got namespaces %q, want two different ones", names)
	}
	for _, ns := range names {
		if got, err := Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s after its test: %v, phase %q; want it gone", ns, err, got.Status.Phase)
		}
		// Without the namespace controller, a namespace removed by its
		// finalizer alone would leave these behind in storage.
		for what, list := range map[string]func() (int, error){
			"config maps": func() (int, error) {
				l, err := Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
				return len(l.Items), err
			},
			"events": func() (int, error) {
				l, err := Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
				return len(l.Items), err
			},
		} {
			if n, err := list(); err != nil || n != 0 {
				t.Errorf("%s left in %s: %d (%v)", what, ns, n, err)
			}
		}
	}
}

func TestNamespacePrefix(t *testing.T) {
	for test, want := range map[string]string{
		"TestPlaceholder":                         "testplaceholder-",
		"TestHandOver/plan_above_pods":            "testhandover-plan-above-pods-",
		"Test/__":                                 "test-",
		"ÄÖÜ":                                     "test-",
		"TestX/" + strings.Repeat("a", 60):        "testx-" + strings.Repeat("a", 44) + "-",
		"TestX/" + strings.Repeat("a", 43) + "_b": "testx-" + strings.Repeat("a", 43) + "-",
	} {
		if got := namespacePrefix(test); got != want {
			t.Errorf("namespacePrefix(%q) = %q, want %q", test, got, want)
		}
	}
}
