package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/sim"
)

// TestHPAFidelity drives kube-controller-manager's HPA controller and the
// simulator's HPA (sim.HPA) with the same metric series and behaviour, and
// compares their replica decisions at every sync of the controller.
//
// The metric is served by an in-test metrics.k8s.io server registered with
// the aggregator, not by metrics-server: the comparison needs the exact
// input of each sync (which pods were Ready, what each used), and the
// server that answers the controller's list is the one place that knows
// it. metrics-server's 10 s minimum resolution and scrape timing would
// leave each sync's input unknown to the test.
//
// Demand comes from the NYC taxi trace (testdata), one 30-minute value
// every 1.2 s, spread over the Ready pods; pods start 1.5 s after they are
// created, so scale-ups see Pending pods. Two HPAs, with different
// behaviours, run side by side.
func TestHPAFidelity(t *testing.T) {
	// Not in parallel with the other tests here: their control planes'
	// load delays this controller's clock readings and informers by more
	// than the timing this comparison allows for (measured: 2 of 3 runs
	// side by side had syncs it could not explain).
	env := kubetest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := env.Client
	ns := "fidelity"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m := serveMetricsAPI(t, env.Config, kube, ns)
	m.after = startFakeKubelet(ctx, t, kube, ns, 1500*time.Millisecond).start
	writes := watchScale(ctx, t, kube, ns)
	kcm := startControllerManager(t, env,
		"--horizontal-pod-autoscaler-sync-period=700ms",
		// No CPU initialisation period: within it (5 minutes by default)
		// the controller ignores a pod's sample until one metric window
		// has passed since the pod went Ready, compared in whole seconds
		// (the API's timestamps), which would make a pod's state at a
		// sync depend on where the second boundaries fell. Outside it, a
		// Ready pod with a metric is counted, as here.
		"--horizontal-pod-autoscaler-cpu-initialization-period=0s",
	)

	const requestMilli, target = 200, 0.6
	apps := []struct {
		name     string
		min, max int32
		behavior sim.Behavior
	}{
		{"rate-limited", 2, 30, sim.Behavior{
			ScaleUp: sim.ScalingRules{Stabilization: 3 * time.Second, Select: sim.SelectMax, Tolerance: 0.1, Policies: []sim.ScalingPolicy{
				{Type: sim.PodsPolicy, Value: 2, Period: 5 * time.Second},
				{Type: sim.PercentPolicy, Value: 50, Period: 5 * time.Second},
			}},
			ScaleDown: sim.ScalingRules{Stabilization: 8 * time.Second, Select: sim.SelectMin, Tolerance: 0.1, Policies: []sim.ScalingPolicy{
				{Type: sim.PercentPolicy, Value: 30, Period: 4 * time.Second},
				{Type: sim.PodsPolicy, Value: 3, Period: 6 * time.Second},
			}},
		}},
		{"default-up", 1, 30, func() sim.Behavior {
			b := sim.DefaultBehavior()
			b.ScaleDown.Stabilization = 5 * time.Second
			return b
		}()},
	}
	for _, a := range apps {
		createWorkload(ctx, t, kube, ns, a.name, a.min, requestMilli)
		createHPA(ctx, t, kube, ns, a.name, a.min, a.max, target, a.behavior)
	}

	// Demand: 32 hours of NYC taxi passengers (testdata) from midnight in
	// New York, one 30-minute value a step, scaled so that its peak needs
	// 24 pods at the target: the night's low of a few pods, the morning
	// ramp, the evening peak, the next night and morning.
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	var series []float64
	peak := 0.0
	for i := 0; i < 64 && i < s.Len(); i++ {
		v := s.Values[i]
		if math.IsNaN(v) {
			continue
		}
		series = append(series, v)
		peak = max(peak, v)
	}
	step := 1200 * time.Millisecond
	for i, v := range series {
		milli := int64(v / peak * 24 * requestMilli * target)
		for _, a := range apps {
			m.setDemand(a.name, milli)
		}
		if i == 0 {
			time.Sleep(3 * time.Second) // the controllers' first syncs
		}
		if exited, err := kcm.Exited(); exited {
			t.Fatalf("kube-controller-manager exited: %v", err)
		}
		time.Sleep(step)
	}

	for _, a := range apps {
		t.Run(a.name, func(t *testing.T) {
			in := m.inputs(a.name)
			if len(in) < len(series) {
				t.Fatalf("%d syncs seen over %d steps of %s; want at least one a step", len(in), len(series), step)
			}
			// The controller reads its clock after the metrics server
			// records a sync, and stamps a scale event once its write
			// returns, so a recommendation or scale event that falls that
			// close to a window's edge is in the window for one and out of
			// it for the other. Two more simulated HPAs, with every window
			// and period shortened and lengthened by skew, tell such a sync
			// from a different decision. skew is the longest the
			// controller's scale writes were seen to trail the syncs they
			// followed (a watch on the Deployment), with 50 ms for the
			// watch itself: at least 100 ms, at most 400 ms (past that the
			// comparison would blur syncs 700 ms apart).
			lag := writeLag(in, writes.of(a.name))
			skew := min(max(lag+50*time.Millisecond, 100*time.Millisecond), 400*time.Millisecond).Round(time.Millisecond)
			t.Logf("scale writes trailed their syncs by up to %s: windows compared within %s", lag.Round(time.Millisecond), skew)
			hs := []*sim.HPA{
				{Min: a.min, Max: a.max, Target: target, Behavior: a.behavior},
				{Min: a.min, Max: a.max, Target: target, Behavior: shiftWindows(a.behavior, -skew)},
				{Min: a.min, Max: a.max, Target: target, Behavior: shiftWindows(a.behavior, skew)},
			}
			// ups and downs count the controller's scale changes; shaped
			// counts the syncs where its decision differs from the replica
			// calculator's raw proposal: the behaviour (stabilisation,
			// rate limits) decided them, which is what the comparison is for.
			var same, atEdge, ups, downs, shaped int
			// other[i] is set for a sync neither explains.
			other := make([]bool, len(in))
			var diffs []string
			for i := 0; i+1 < len(in); i++ {
				x := in[i]
				want := in[i+1].Current // the scale the controller left for its next sync
				pm := sim.PodMetrics{Ready: x.Ready, Unready: x.Unready, Utilization: float64(x.PerPod) / requestMilli}
				var got [3]int32
				for j, h := range hs {
					got[j], _ = h.Sync(x.At, x.Current, pm)
				}
				switch {
				case want > x.Current:
					ups++
				case want < x.Current:
					downs++
				}
				if raw, err := sim.DesiredReplicas(x.Current, pm, target, a.behavior.ScaleUp.Tolerance, a.behavior.ScaleDown.Tolerance); err == nil && min(max(raw, a.min), a.max) != want {
					shaped++
				}
				switch {
				case got[0] == want:
					same++
				case got[1] == want || got[2] == want:
					atEdge++
					t.Logf("sync %d at +%s: controller %d, sim %d; %d with windows %s shorter, %d with them %s longer (a window's edge)",
						i, x.At.Sub(in[0].At).Round(time.Millisecond), want, got[0], got[1], skew, got[2], skew)
				default:
					other[i] = true
					diffs = append(diffs, fmt.Sprintf("sync %d at +%s: current %d, %d ready (%dm each), %d pending: controller %d, sim %d (%d, %d with windows %s shorter, longer)",
						i, x.At.Sub(in[0].At).Round(time.Millisecond), x.Current, x.Ready, x.PerPod, x.Unready, want, got[0], got[1], got[2], skew))
				}
			}
			n := len(in) - 1
			t.Logf("%d syncs, %d scale-ups and %d scale-downs by the controller, %d decided by its behaviour rather than the raw proposal: %d decided as the simulator does, %d within %s of a window's edge, %d otherwise",
				n, ups, downs, shaped, same, atEdge, skew, len(diffs))
			for _, d := range diffs {
				t.Log(d)
			}
			// Under load (other control planes on the machine), a few
			// syncs in some runs (1-4 of 110 in 3 of 13 runs) decide a
			// change one sync before or after the simulator, which the
			// skew does not explain; the two agree again at once. Those
			// are tolerated, up to 5% of the syncs and never three in a
			// row, and listed in the log; a difference in the decision
			// logic that shows in fewer syncs than that passes unseen.
			run := 0
			for i, o := range other {
				if run = 0; o {
					run = 1
				}
				if o && i > 0 && other[i-1] {
					run = 2
					if i > 1 && other[i-2] {
						run = 3
					}
				}
				if run >= 3 {
					t.Errorf("syncs %d to %d: 3 in a row decided otherwise than the simulator", i-2, i)
					break
				}
			}
			if len(diffs)*100 > 5*n {
				t.Errorf("%d of %d syncs decided otherwise than the simulator, beyond a window's edge; want at most 5%%", len(diffs), n)
			}
			// The series must exercise what is compared: scaling both ways,
			// and decisions the behaviour shaped. How many changes a
			// rate-limited HPA makes depends on where its periods fall
			// (10 unloaded, 6 up and 4 down; 8 on a loaded 2-core machine),
			// so the floor is on each direction and on the shaped syncs
			// (66-80 of 110 unloaded), not on the total.
			if ups < 2 || downs < 2 {
				t.Errorf("the controller scaled up %d and down %d times; the series should move it at least twice each way", ups, downs)
			}
			if shaped < 10 {
				t.Errorf("%d syncs decided by the behaviour rather than the raw proposal; the series should exercise it in at least 10", shaped)
			}
			if same < n*9/10 {
				t.Errorf("%d of %d syncs decided as the simulator does; want at least 90%%", same, n)
			}
		})
	}
}

// createWorkload creates a Deployment of pods requesting requestMilli of
// CPU, with annotations on its pods.
func createWorkload(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string, replicas int32, requestMilli int64, annotations ...map[string]string) {
	t.Helper()
	lbl := map[string]string{"app": name}
	var podAnnotations map[string]string
	if len(annotations) > 0 {
		podAnnotations = annotations[0]
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl, Annotations: podAnnotations},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: new(int64),
					Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    *resource.NewMilliQuantity(requestMilli, resource.DecimalSI),
							corev1.ResourceMemory: resource.MustParse("64Mi"),
						}}}},
				},
			},
		},
	}
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment %s: %v", name, err)
	}
}

func createHPA(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string, min, max int32, target float64, b sim.Behavior) {
	t.Helper()
	util := int32(math.Round(target * 100))
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &min,
			MaxReplicas:    max,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rulesV2(b.ScaleUp), ScaleDown: rulesV2(b.ScaleDown)},
		},
	}
	if _, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, h, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create HPA %s: %v", name, err)
	}
}

// rulesV2 is the autoscaling/v2 form of a behaviour direction: the same
// settings the simulator is given.
func rulesV2(r sim.ScalingRules) *autoscalingv2.HPAScalingRules {
	win := int32(r.Stabilization / time.Second)
	sel := map[sim.SelectPolicy]autoscalingv2.ScalingPolicySelect{
		sim.SelectMax: autoscalingv2.MaxChangePolicySelect, sim.SelectMin: autoscalingv2.MinChangePolicySelect,
		sim.SelectDisabled: autoscalingv2.DisabledPolicySelect,
	}[r.Select]
	out := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &win, SelectPolicy: &sel}
	if r.Tolerance != 0.1 {
		q := resource.MustParse(strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", r.Tolerance), "0"), "."))
		out.Tolerance = &q
	}
	for _, p := range r.Policies {
		typ := autoscalingv2.PodsScalingPolicy
		if p.Type == sim.PercentPolicy {
			typ = autoscalingv2.PercentScalingPolicy
		}
		out.Policies = append(out.Policies, autoscalingv2.HPAScalingPolicy{Type: typ, Value: p.Value, PeriodSeconds: int32(p.Period / time.Second)})
	}
	return out
}

// scaleWrites records when each Deployment's spec.replicas was seen to
// change.
type scaleWrites struct {
	mu  sync.Mutex
	got map[string][]scaleWrite
}

type scaleWrite struct {
	at       time.Time
	replicas int32
}

func (w *scaleWrites) of(app string) []scaleWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]scaleWrite(nil), w.got[app]...)
}

func watchScale(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns string) *scaleWrites {
	t.Helper()
	w := &scaleWrites{got: map[string][]scaleWrite{}}
	wt, err := kube.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch deployments: %v", err)
	}
	go func() {
		defer wt.Stop()
		for ev := range wt.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || d.Spec.Replicas == nil {
				continue
			}
			at := time.Now()
			w.mu.Lock()
			list := w.got[d.Name]
			if len(list) == 0 || list[len(list)-1].replicas != *d.Spec.Replicas {
				w.got[d.Name] = append(list, scaleWrite{at, *d.Spec.Replicas})
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// writeLag is the longest time from a sync to the scale write that
// followed it (the first write to the next sync's replicas after it).
func writeLag(in []syncInput, writes []scaleWrite) time.Duration {
	var lag time.Duration
	for i := 0; i+1 < len(in); i++ {
		if in[i+1].Current == in[i].Current {
			continue
		}
		for _, w := range writes {
			if w.at.After(in[i].At) && w.replicas == in[i+1].Current {
				lag = max(lag, w.at.Sub(in[i].At))
				break
			}
		}
	}
	return lag
}

// shiftWindows lengthens (d > 0) or shortens every stabilisation window and
// policy period of b by d.
func shiftWindows(b sim.Behavior, d time.Duration) sim.Behavior {
	shift := func(r sim.ScalingRules) sim.ScalingRules {
		if r.Stabilization > 0 {
			r.Stabilization += d
		}
		ps := make([]sim.ScalingPolicy, len(r.Policies))
		for i, p := range r.Policies {
			p.Period += d
			ps[i] = p
		}
		r.Policies = ps
		return r
	}
	return sim.Behavior{ScaleUp: shift(b.ScaleUp), ScaleDown: shift(b.ScaleDown)}
}
