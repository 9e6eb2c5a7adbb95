package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// fakeKubelet plays the kubelet for the fidelity test, which runs no nodes:
// a new pod goes Running and Ready once it has been Pending for delay (so
// that a scale up has Pending pods for a while, as on a cluster). Pods are
// never bound to a node, so the API server deletes them at once on a
// scale down.
//
// A pod starts only just after a sync of its app's HPA (start, called by
// the metrics server), never during one: the controller reads the pods
// from its informer after it has read the metrics, and a pod that went
// Ready in between would be Ready to the metrics server and Pending to
// the controller. Starting pods 200 ms after a sync leaves the informer
// the rest of the sync period to see them.
type fakeKubelet struct {
	kube  kubernetes.Interface
	ns    string
	delay time.Duration
	ctx   context.Context
	t     *testing.T

	mu      sync.Mutex
	pending map[string]map[string]time.Time // app -> pod -> created
}

func startFakeKubelet(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns string, delay time.Duration) *fakeKubelet {
	t.Helper()
	k := &fakeKubelet{kube: kube, ns: ns, delay: delay, ctx: ctx, t: t, pending: map[string]map[string]time.Time{}}
	w, err := kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type != watch.Added {
				continue
			}
			app := p.Labels["app"]
			k.mu.Lock()
			if k.pending[app] == nil {
				k.pending[app] = map[string]time.Time{}
			}
			k.pending[app][p.Name] = p.CreationTimestamp.Time
			k.mu.Unlock()
		}
	}()
	return k
}

// start starts, 200 ms from now, the app's pods Pending for delay by then.
func (k *fakeKubelet) start(app string) {
	time.AfterFunc(200*time.Millisecond, func() {
		now := time.Now()
		var due []string
		k.mu.Lock()
		for name, created := range k.pending[app] {
			if now.Sub(created) >= k.delay {
				due = append(due, name)
				delete(k.pending[app], name)
			}
		}
		k.mu.Unlock()
		for _, name := range due {
			k.run(name)
		}
	})
}

func (k *fakeKubelet) run(name string) {
	ctx := k.ctx
	if ctx.Err() != nil {
		return
	}
	p, err := k.kube.CoreV1().Pods(k.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		return // scaled away before it started
	}
	now := metav1.Now()
	p.Status.Phase = corev1.PodRunning
	p.Status.StartTime = &now
	p.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	if _, err := k.kube.CoreV1().Pods(k.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		k.t.Logf("fake kubelet: start pod %s: %v", name, err)
	}
}
