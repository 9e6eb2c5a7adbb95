package e2e

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/sim"
)

// speed is how many simulated seconds the replay runs per real second:
// one simulated minute every 125 ms, a day in 3 minutes.
const speed = 480

// onClock is a simulated duration on the replay's clock.
func onClock(d time.Duration) time.Duration { return d / speed }

// TestReplayDay replays a day of NYC taxi demand (testdata, 2014-07-15, a
// Tuesday, with the week before it as history) through a cluster of real
// controllers: kube-controller-manager's HPA, Deployment and ReplicaSet
// controllers, kube-scheduler, and kwok's node, whose pods go Ready a set
// time after they are bound. Two Deployments take the same demand: one
// with its HPA alone, one whose HPA's minReplicas prescale's HPA actuator
// (actuator/hpa) raises to the simulator's predictive floors. Demand above
// the capacity of each Deployment's Ready pods is measured every simulated
// minute from the cluster's own Pods, and set beside the simulator's
// figures for the same trace and timings.
//
// Time runs 480 times faster than the trace's: the HPA syncs every 125 ms
// (a simulated minute) and pods start 250 ms after they are bound (two
// simulated minutes). The behaviour's windows and periods are whole
// seconds in the API, so the smallest is 1 s (8 simulated minutes): the
// scale-down stabilisation, and the policies' period, with a scale-up
// policy wide enough (10x per period) not to bind. The simulator is given
// the same settings on the trace's clock.
//
// The CPU metric comes from the same in-test metrics API as the fidelity
// test, which spreads each minute's demand over the Ready pods: at this
// speed metrics-server's smallest resolution (10 s) would be 80 simulated
// minutes of lag.
func TestReplayDay(t *testing.T) {
	// Each test runs its own control plane and mostly waits on it: run
	// side by side, the package takes as long as its longest test.
	t.Parallel()
	if testing.Short() {
		t.Skip("replays a day in 3 minutes")
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2014, 7, 15, 0, 0, 0, 0, ny)
	full, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := window(full, day.AddDate(0, 0, -8), day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}

	const podStart = 2 * time.Minute // simulated
	behavior := sim.Behavior{
		ScaleUp: sim.ScalingRules{Select: sim.SelectMax, Tolerance: 0.1, Policies: []sim.ScalingPolicy{
			{Type: sim.PercentPolicy, Value: 900, Period: 8 * time.Minute}}},
		ScaleDown: sim.ScalingRules{Stabilization: 8 * time.Minute, Select: sim.SelectMax, Tolerance: 0.1, Policies: []sim.ScalingPolicy{
			{Type: sim.PercentPolicy, Value: 100, Period: 8 * time.Minute}}},
	}
	cfg := sim.Config{
		TargetUtilization: 0.7,
		SyncPeriod:        time.Minute,
		Behavior:          behavior,
		MinReplicas:       1,
		MaxReplicas:       100,
		PodStart:          podStart,
		PlanInterval:      time.Minute,
		EvalFrom:          day,
		Record:            true,
	}
	ctx := context.Background()
	rep, err := sim.Backtest(ctx, tr, sim.Setup{Config: cfg, PeakReplicas: 20, Location: ny, NoSweep: true})
	if err != nil {
		t.Fatal(err)
	}
	simReactive, _ := rep.Result("reactive")
	simPredictive, _ := rep.Result("predictive")
	capacity := rep.Capacity
	i0 := int(day.Sub(rep.Demand.Start) / time.Minute)
	const minutes = 24 * 60
	demand := rep.Demand.Values[i0 : i0+minutes]
	floors := simPredictive.Timeline.Floor[i0 : i0+minutes]

	env := kubetest.Start(t)
	kube := env.Client
	ns := "replay"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	m := serveMetricsAPI(t, env.Config, kube, ns)
	startScheduler(t, env)
	kwok, _ := startKwok(t, env, onClock(podStart))
	createNode(ctx, t, kube, kwok, "kwok-0", 500)
	kcm := startControllerManager(t, env,
		"--horizontal-pod-autoscaler-sync-period="+onClock(cfg.SyncPeriod).String(),
		"--horizontal-pod-autoscaler-cpu-initialization-period=0s",
	)

	const requestMilli = 1000 // a pod's capacity is its CPU request
	apps := []string{"reactive", "predictive"}
	init := max(1, int32(math.Ceil(demand[0]/(capacity*cfg.TargetUtilization))))
	for _, app := range apps {
		m.setDemand(app, int64(demand[0]/capacity*requestMilli))
		createWorkload(ctx, t, kube, ns, app, init, requestMilli)
		createHPA(ctx, t, kube, ns, app, cfg.MinReplicas, cfg.MaxReplicas, cfg.TargetUtilization, realBehavior(behavior))
	}
	for _, app := range apps {
		kcm.WaitFor(t, app+"'s first pods Ready", 60*time.Second, func(ctx context.Context) (bool, error) {
			ready, _, err := podsOf(ctx, kube, ns, app)
			return ready >= int(init), err
		})
	}

	act := hpa.New(kube, nopRecorder{})
	type run struct{ unserved, demand, podMinutes, morningUnserved, morningDemand float64 }
	runs := map[string]*run{"reactive": {}, "predictive": {}}
	lastFloor := int32(-1)
	var late time.Duration
	start := time.Now()
	for i, d := range demand {
		at := start.Add(time.Duration(i) * onClock(time.Minute))
		if wait := time.Until(at); wait > 0 {
			time.Sleep(wait)
		} else {
			late = max(late, -wait)
		}
		if exited, err := kcm.Exited(); exited {
			t.Fatalf("kube-controller-manager exited: %v", err)
		}
		for _, app := range apps {
			m.setDemand(app, int64(d/capacity*requestMilli))
		}
		if f := max(floors[i], cfg.MinReplicas); f != lastFloor {
			_, err := act.Apply(ctx, hpa.Desired{Mode: actuator.Active, Target: "predictive", Namespace: ns, Name: "predictive",
				Reasons: []string{"replayed floor"}, Want: hpa.Want{MinReplicas: int(f), Resource: "cpu", KeepMax: true, KeepTarget: true}})
			if err != nil {
				t.Fatalf("minute %d: floor %d: %v", i, f, err)
			}
			lastFloor = f
		}
		local := day.Add(time.Duration(i) * time.Minute)
		morning := local.Hour() >= 5 && local.Hour() < 10
		for _, app := range apps {
			ready, bound, err := podsOf(ctx, kube, ns, app)
			if err != nil {
				t.Fatal(err)
			}
			short := max(0, d-float64(ready)*capacity)
			r := runs[app]
			r.unserved += short
			r.demand += d
			r.podMinutes += float64(bound)
			if morning {
				r.morningUnserved += short
				r.morningDemand += d
			}
		}
	}
	t.Logf("replayed %d simulated minutes in %s (the loop fell behind its clock by at most %s)",
		minutes, time.Since(start).Round(time.Second), late.Round(time.Millisecond))

	simMorning := func(r sim.Result) float64 {
		var u, d float64
		for i := range minutes {
			if h := day.Add(time.Duration(i) * time.Minute).Hour(); h >= 5 && h < 10 {
				u += r.Timeline.Unserved[i0+i]
				d += demand[i]
			}
		}
		return u / d
	}
	cluster := map[string]*run{"reactive": runs["reactive"], "predictive": runs["predictive"]}
	simRes := map[string]sim.Result{"reactive": simReactive, "predictive": simPredictive}
	t.Logf("%-10s  %21s  %21s  %21s", "", "unserved (cluster/sim)", "05-10h unserved", "pod-hours")
	for _, app := range apps {
		r, s := cluster[app], simRes[app]
		t.Logf("%-10s  %9.3f%% / %7.3f%%  %9.3f%% / %7.3f%%  %9.1f / %9.1f", app,
			100*r.unserved/r.demand, 100*s.UnservedFraction,
			100*r.morningUnserved/r.morningDemand, 100*simMorning(s),
			r.podMinutes/60, s.ReplicaHours)
	}

	re, pr := runs["reactive"], runs["predictive"]
	if re.morningUnserved == 0 {
		t.Errorf("the HPA alone served the whole morning ramp: the replay shows no gap for the floors to close")
	}
	if !(pr.morningUnserved < re.morningUnserved/2) {
		t.Errorf("with floors, %.3f%% of the morning's demand went unserved, against %.3f%% with the HPA alone; want less than half",
			100*pr.morningUnserved/pr.morningDemand, 100*re.morningUnserved/re.morningDemand)
	}
	if !(simMorning(simPredictive) < simMorning(simReactive)) {
		t.Errorf("the simulator does not have the floors serve more of the morning ramp (%.3f%% vs %.3f%% unserved)",
			100*simMorning(simPredictive), 100*simMorning(simReactive))
	}
}

// podsOf counts an app's Ready pods and the pods bound to a node (starting
// or Ready, not being deleted).
func podsOf(ctx context.Context, kube kubernetes.Interface, ns, app string) (ready, bound int, err error) {
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return 0, 0, fmt.Errorf("list %s's pods: %w", app, err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" {
			continue
		}
		bound++
		if p.Status.Phase == corev1.PodRunning && podReady(&p) {
			ready++
		}
	}
	return ready, bound, nil
}

// realBehavior is b on the replay's clock.
func realBehavior(b sim.Behavior) sim.Behavior {
	conv := func(r sim.ScalingRules) sim.ScalingRules {
		r.Stabilization = onClock(r.Stabilization)
		ps := make([]sim.ScalingPolicy, len(r.Policies))
		for i, p := range r.Policies {
			p.Period = onClock(p.Period)
			ps[i] = p
		}
		r.Policies = ps
		return r
	}
	return sim.Behavior{ScaleUp: conv(b.ScaleUp), ScaleDown: conv(b.ScaleDown)}
}

// window is s from from (inclusive) to to (exclusive).
func window(s forecast.Series, from, to time.Time) (forecast.Series, error) {
	i := int(from.Sub(s.Start) / s.Step)
	j := int(to.Sub(s.Start) / s.Step)
	if i < 0 || j > s.Len() || i >= j {
		return forecast.Series{}, fmt.Errorf("trace %s..%s holds no %s..%s", s.Start, s.End(), from, to)
	}
	return s.Slice(i, j), nil
}

type nopRecorder struct{}

func (nopRecorder) Record(context.Context, actuator.Change) {}
