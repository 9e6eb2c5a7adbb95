package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/internal/kubetest"
)

// startControllerManager runs kube-controller-manager against env with
// only the HPA, Deployment and ReplicaSet controllers, as the admin user
// of env's kubeconfig, on loopback, without leader election and without
// its own HTTPS endpoint (--secure-port=0: nothing here reads it).
func startControllerManager(t *testing.T, env *kubetest.Env, extra ...string) *kubetest.Process {
	t.Helper()
	bin := kubetest.Binary(t, "kube-controller-manager", "", "kube-control-plane.sh")
	args := append([]string{
		"--kubeconfig=" + env.KubeConfig,
		"--controllers=horizontal-pod-autoscaler-controller,deployment-controller,replicaset-controller",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--v=2",
	}, extra...)
	return kubetest.StartProcess(t, "kube-controller-manager", bin, args...)
}

// startScheduler runs kube-scheduler against env as its admin, on
// loopback, without leader election or its own HTTPS endpoint.
func startScheduler(t *testing.T, env *kubetest.Env) *kubetest.Process {
	t.Helper()
	bin := kubetest.Binary(t, "kube-scheduler", "", "kube-control-plane.sh")
	return kubetest.StartProcess(t, "kube-scheduler", bin,
		"--kubeconfig="+env.KubeConfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
	)
}

// startKwok runs kwok against env, managing every node, with its kubelet
// endpoints on a loopback port (returned) and kwok's own fast stages,
// except that a pod bound to a node goes Running and Ready after podStart.
// extra are more kwok configuration files (testdata).
func startKwok(t *testing.T, env *kubetest.Env, podStart time.Duration, extra ...string) (*kubetest.Process, int) {
	t.Helper()
	bin := kubetest.Binary(t, "kwok", "PRESCALE_KWOK", "kwok.sh")
	stages, err := os.ReadFile("testdata/kwok-stages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "kwok.yaml")
	stages = bytes.ReplaceAll(stages, []byte("{{DELAY_MS}}"), []byte(strconv.FormatInt(podStart.Milliseconds(), 10)))
	if err := os.WriteFile(cfg, stages, 0o600); err != nil {
		t.Fatal(err)
	}
	port := kubetest.FreePort(t)
	args := []string{
		"--kubeconfig=" + env.KubeConfig,
		"--manage-all-nodes=true",
		"--server-address=127.0.0.1:" + strconv.Itoa(port),
		"--node-ip=127.0.0.1",
		"--node-port=" + strconv.Itoa(port),
		"--config=" + cfg,
	}
	for _, f := range extra {
		args = append(args, "--config="+f)
	}
	return kubetest.StartProcess(t, "kwok", bin, args...), port
}

// createNode adds a node for kwok with room for pods pods, waits until kwok
// reports it Ready, and then removes the not-ready taint the API server put
// on it at creation (TaintNodesByCondition), as the node lifecycle
// controller would: that controller is not run, since it judges nodes by
// heartbeats that kwok sends only every 20-45 s.
func createNode(ctx context.Context, t *testing.T, kube kubernetes.Interface, kwok *kubetest.Process, name string, pods int) {
	t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"type": "kwok"},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake",
				// Every kwok node is 127.0.0.1:port: metrics-server reads
				// each node's own path (kwok's Metric in testdata).
				"metrics.k8s.io/resource-metrics-path": "/metrics/nodes/" + name + "/metrics/resource"}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("1Ti"),
				corev1.ResourcePods: *resource.NewQuantity(int64(pods), resource.DecimalSI)},
			Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1000"), corev1.ResourceMemory: resource.MustParse("1Ti"),
				corev1.ResourcePods: *resource.NewQuantity(int64(pods), resource.DecimalSI)},
		},
	}
	if _, err := kube.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	kwok.WaitFor(t, "node "+name+" Ready", 60*time.Second, func(ctx context.Context) (bool, error) {
		n, err := kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		if !ready {
			return false, nil
		}
		var keep []corev1.Taint
		for _, tn := range n.Spec.Taints {
			if tn.Key != corev1.TaintNodeNotReady {
				keep = append(keep, tn)
			}
		}
		if len(keep) == len(n.Spec.Taints) {
			return true, nil
		}
		n.Spec.Taints = keep
		_, err = kube.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err == nil, err
	})
}
