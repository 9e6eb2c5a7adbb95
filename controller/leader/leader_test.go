package leader_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prescale/prescale/controller/leader"
	"github.com/prescale/prescale/internal/kubetest"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

// client reaches the envtest API server (internal/kubetest fails the test
// binary when its binaries are missing: CI always runs these tests).
var client kubernetes.Interface

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, "controller/leader", func() { client = kubetest.Client }))
}

// onBackends runs test on the real API server and on client-go's fake
// clientset, which checks the package's own logic apart from the API
// server's behaviour.
func onBackends(t *testing.T, test func(t *testing.T, c kubernetes.Interface)) {
	t.Run("apiserver", func(t *testing.T) { test(t, client) })
	t.Run("fake", func(t *testing.T) { test(t, fake.NewClientset()) })
}

// namespace creates a fresh namespace named after the test.
func namespace(t *testing.T, c kubernetes.Interface) string {
	t.Helper()
	name := strings.Trim(strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), "-")
	if len(name) > 50 {
		name = strings.Trim(name[:50], "-")
	}
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// Short durations keep the tests quick; their ratios are the defaults'.
const (
	leaseDuration = 3 * time.Second
	renewDeadline = 2 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

// cluster is what all candidates of a test share: how many lead right
// now (never more than one), and the most that ever did at once.
type cluster struct {
	leading atomic.Int32
	most    atomic.Int32
}

// candidate is one prescale instance contending for the Lease.
type candidate struct {
	id       string
	cancel   context.CancelFunc
	returned chan error // Run's result

	mu      sync.Mutex
	started []time.Time // each time its leading function started
	stops   int         // onStoppedLeading calls
	gauge   []bool      // SetLeader calls, in order
}

func (c *candidate) leads() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.started) > c.stops
}

func (c *candidate) terms() (started []time.Time, stops int, gauge []bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.started...), c.stops, append([]bool(nil), c.gauge...)
}

// start runs a candidate whose leading function acts until its context
// ends, counting itself in cl while it does; act, when not nil, replaces
// the wait (to return early).
func (cl *cluster) start(t *testing.T, c kubernetes.Interface, ns, id string, act func(ctx context.Context)) *candidate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cand := &candidate{id: id, cancel: cancel, returned: make(chan error, 1)}
	cfg := leader.Config{
		Client: c, Namespace: ns, Name: "prescale", Identity: id,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		SetLeader: func(b bool) { cand.mu.Lock(); cand.gauge = append(cand.gauge, b); cand.mu.Unlock() },
	}
	go func() {
		cand.returned <- leader.Run(ctx, cfg, func(ctx context.Context) {
			n := cl.leading.Add(1)
			for m := cl.most.Load(); n > m && !cl.most.CompareAndSwap(m, n); m = cl.most.Load() {
			}
			cand.mu.Lock()
			cand.started = append(cand.started, time.Now())
			cand.mu.Unlock()
			if act != nil {
				act(ctx)
			} else {
				<-ctx.Done()
				// An actuation finishing after the context ended: the
				// Lease must stay held meanwhile, or a follower would act
				// beside it.
				time.Sleep(300 * time.Millisecond)
			}
			cl.leading.Add(-1)
		}, func() {
			cand.mu.Lock()
			cand.stops++
			cand.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-cand.returned:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: Run did not return 10s after its context was cancelled", id)
		}
	})
	return cand
}

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

func holder(t *testing.T, c kubernetes.Interface, ns string) string {
	t.Helper()
	l, err := c.CoordinationV1().Leases(ns).Get(context.Background(), "prescale", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get lease %s/prescale: %v", ns, err)
	}
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// TestTakeover is the scenario on a real API server: two
// instances, exactly one leads, the leader is stopped and the other takes
// over within the lease duration, and never do both lead at once.
func TestTakeover(t *testing.T) {
	onBackends(t, func(t *testing.T, c kubernetes.Interface) {
		ns := namespace(t, c)
		var cl cluster
		a := cl.start(t, c, ns, "prescale-a", nil)
		b := cl.start(t, c, ns, "prescale-b", nil)

		if !waitFor(2*leaseDuration, func() bool { return a.leads() || b.leads() }) {
			t.Fatalf("no leader after %s", 2*leaseDuration)
		}
		// Several renewals later, still the same single leader.
		time.Sleep(3 * retryPeriod)
		if a.leads() == b.leads() {
			t.Fatalf("a leads %v, b leads %v: want exactly one", a.leads(), b.leads())
		}
		first, second := a, b
		if b.leads() {
			first, second = b, a
		}
		if got := holder(t, c, ns); got != first.id {
			t.Fatalf("lease holder %q, want the leading candidate %q", got, first.id)
		}

		stoppedAt := time.Now()
		first.cancel()
		if !waitFor(leaseDuration, second.leads) {
			t.Fatalf("%s did not take over within the lease duration %s after %s stopped", second.id, leaseDuration, first.id)
		}
		started, _, _ := second.terms()
		takeover := started[0].Sub(stoppedAt)
		t.Logf("%s took over %s after %s was stopped (lease %s, retry %s)", second.id, takeover.Round(time.Millisecond), first.id, leaseDuration, retryPeriod)
		// The Lease was released only once the leader's function returned,
		// which took at least its 300ms of finishing work.
		if takeover < 300*time.Millisecond {
			t.Errorf("takeover after %s: before the old leader's actuation finished", takeover)
		}
		select {
		case err := <-first.returned:
			if err != nil {
				t.Errorf("%s: Run returned %v, want nil", first.id, err)
			}
			first.returned <- err // for the cleanup
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Run did not return after its context was cancelled", first.id)
		}
		if got := holder(t, c, ns); got != second.id {
			t.Errorf("lease holder %q, want %q", got, second.id)
		}
		if m := cl.most.Load(); m != 1 {
			t.Errorf("at most %d candidates led at once, want 1", m)
		}
		fs, fstops, fgauge := first.terms()
		if len(fs) != 1 || fstops != 1 || fmt.Sprint(fgauge) != "[true false]" {
			t.Errorf("%s: %d terms, %d onStoppedLeading, gauge %v; want 1, 1, [true false]", first.id, len(fs), fstops, fgauge)
		}
		ss, sstops, sgauge := second.terms()
		if len(ss) != 1 || sstops != 0 || fmt.Sprint(sgauge) != "[true]" {
			t.Errorf("%s: %d terms, %d onStoppedLeading, gauge %v; want 1, 0, [true]", second.id, len(ss), sstops, sgauge)
		}
	})
}

// TestCrashedLeader: a leader that vanished without releasing the Lease
// (a killed pod) holds it until the lease duration has passed since its
// last renewal; the candidate takes it then, not before (the old leader
// might still be acting) and not much later.
func TestCrashedLeader(t *testing.T) {
	onBackends(t, func(t *testing.T, c kubernetes.Interface) {
		ns := namespace(t, c)
		ghost, secs := "prescale-crashed", int32(leaseDuration/time.Second)
		renewed := metav1.NewMicroTime(time.Now())
		if _, err := c.CoordinationV1().Leases(ns).Create(context.Background(), &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "prescale", Namespace: ns},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &ghost, LeaseDurationSeconds: &secs,
				AcquireTime: &renewed, RenewTime: &renewed},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create lease: %v", err)
		}
		var cl cluster
		b := cl.start(t, c, ns, "prescale-b", nil)
		if !waitFor(leaseDuration+4*retryPeriod, b.leads) {
			t.Fatalf("candidate did not take over within %s of the crashed leader's last renewal", leaseDuration+4*retryPeriod)
		}
		started, _, _ := b.terms()
		// client-go measures expiry from when this candidate first observed
		// the Lease, which is after renewed.
		if d := started[0].Sub(renewed.Time); d < leaseDuration {
			t.Errorf("took over %s after the last renewal, before the lease duration %s", d, leaseDuration)
		} else {
			t.Logf("took over %s after the crashed leader's last renewal", d.Round(time.Millisecond))
		}
	})
}

// TestLeadingFunctionReturns: a leading function that gives up while
// still leading releases the Lease at once, Run returns, and a follower
// takes over at its next retry.
func TestLeadingFunctionReturns(t *testing.T) {
	onBackends(t, func(t *testing.T, c kubernetes.Interface) {
		ns := namespace(t, c)
		var cl cluster
		a := cl.start(t, c, ns, "prescale-a", func(ctx context.Context) {})
		if !waitFor(2*leaseDuration, func() bool { s, _, _ := a.terms(); return len(s) == 1 }) {
			t.Fatal("a never led")
		}
		select {
		case err := <-a.returned:
			if err != nil {
				t.Fatalf("Run returned %v, want nil", err)
			}
			a.returned <- err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its leading function did")
		}
		if got := holder(t, c, ns); got != "" {
			t.Errorf("lease holder %q after the leading function returned, want released", got)
		}
		_, stops, gauge := a.terms()
		if stops != 1 || fmt.Sprint(gauge) != "[true false]" {
			t.Errorf("onStoppedLeading %d times, gauge %v; want 1, [true false]", stops, gauge)
		}
		b := cl.start(t, c, ns, "prescale-b", nil)
		if !waitFor(4*retryPeriod, b.leads) {
			t.Errorf("b did not lead within %s of a released lease", 4*retryPeriod)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	cs := fake.NewClientset()
	for _, tc := range []struct {
		name string
		cfg  leader.Config
		want string
	}{
		{"no client", leader.Config{Namespace: "prescale", Name: "prescale"}, "no Kubernetes client"},
		{"no namespace", leader.Config{Client: cs, Name: "prescale"}, "both are required"},
		{"no name", leader.Config{Client: cs, Namespace: "prescale"}, "both are required"},
		{"renew deadline not under the lease duration", leader.Config{Client: cs, Namespace: "prescale", Name: "prescale",
			LeaseDuration: 10 * time.Second, RenewDeadline: 10 * time.Second}, "leaseDuration must be greater than renewDeadline"},
		{"retry period above the renew deadline", leader.Config{Client: cs, Namespace: "prescale", Name: "prescale",
			RetryPeriod: 9 * time.Second}, "renewDeadline must be greater than retryPeriod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := leader.Run(ctx, tc.cfg, func(context.Context) { t.Error("led with a bad config") }, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIdentity(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ podName, want string }{
		{"prescale-7d9f8-x2x4k", "prescale-7d9f8-x2x4k"},
		{"", host + "_" + strconv.Itoa(os.Getpid())},
	} {
		t.Setenv("POD_NAME", tc.podName)
		got, err := leader.Identity()
		if err != nil || got != tc.want {
			t.Errorf("POD_NAME=%q: Identity() = %q, %v; want %q", tc.podName, got, err, tc.want)
		}
	}
}
