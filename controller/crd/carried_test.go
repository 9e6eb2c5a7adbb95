package crd

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/policy"
)

// twoTargets is a ScalingPolicy in ns with target web (the owner's p90
// and the default operating points) and target low, whose floors at p10
// sit under what the HPA holds anyway: they buy nothing, and stand down.
func twoTargets(ns string) string {
	return `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
  namespace: ` + ns + `
spec:
  targets:
    - name: web
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: 20
        leadTime: 5m
        window: 15m
      hpa:
        name: web
        mode: active
        minReplicas: 2
        maxReplicas: 60
    - name: low
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: 20
        quantile: 0.1
        leadTime: 5m
        window: 15m
      hpa:
        name: low
        mode: active
        minReplicas: 2
        maxReplicas: 60
`
}

func (r *rig) plan(t *testing.T) policy.Plan {
	t.Helper()
	plans, err := r.loop.Tick(context.Background())
	if err != nil || len(plans) != 1 {
		t.Fatalf("tick: %d plans, %v", len(plans), err)
	}
	return plans[0]
}

func targetStatus(st v1alpha1.ScalingPolicyStatus, name string) *v1alpha1.TargetStatus {
	for i := range st.Targets {
		if st.Targets[i].Name == name {
			return &st.Targets[i]
		}
	}
	return nil
}

// A restart (or a change of leader) keeps each target's last verdict in
// force until the new process has floors of its own to judge: a daemon
// ticks until it has judged both targets' floors on their history (low's
// stand down), is stopped, and a new daemon on the same API server, at
// its first tick, keeps low stood down (no forecast floor), keeps web at
// the operating point judged, says why, and leaves the impact figures in
// the status as they were; its Source's first write, before any tick,
// keeps the targets' status too. A follower whose Source watched from the
// start, taking over, carries the verdict as the status holds it then.
func TestVerdictSurvivesRestart(t *testing.T) {
	ns := kubetest.Namespace(t)
	createWorkload(t, ns, "web", 2, 60)
	createWorkload(t, ns, "low", 2, 60)
	r := newRig(t, "prescale-system")
	create(t, twoTargets(ns))
	waitFor(t, "the policy in force", func() bool { return len(r.src.Policies()) == 1 })
	// A follower: its Source watches from before any judgement, its loop
	// does not tick until it takes over.
	follower := newRig(t, "prescale-system")
	waitFor(t, "the policy in force in the follower", func() bool { return len(follower.src.Policies()) == 1 })

	// The first judgement comes after a day of floors, at each target's
	// point of the day: within two days.
	start := time.Now()
	var before v1alpha1.ScalingPolicyStatus
	for i := 0; ; i++ {
		r.plan(t)
		r.now = r.now.Add(15 * time.Minute)
		before = status(t, ns, "web")
		if w, l := targetStatus(before, "web"), targetStatus(before, "low"); w != nil && w.Impact != nil && l != nil && l.Impact != nil {
			break
		}
		if i > 2*24*4+8 {
			t.Fatalf("no judgement of both targets after %d ticks: %+v", i, before.Targets)
		}
	}
	t.Logf("both targets judged after %s of ticks (%s)", r.now.Sub(r.rigStart), time.Since(start).Round(time.Millisecond))
	web, low := targetStatus(before, "web").Impact, targetStatus(before, "low").Impact
	if !low.StandDown || web.StandDown || web.Last14d == nil || low.Last14d == nil {
		t.Fatalf("judged: web %+v, low %+v; want low stood down, web standing, both with figures", *web, *low)
	}
	t.Logf("web at p%s: %s", web.OperatingQuantile, web.Reason)

	// The daemon stops; a new one starts, later, on the same API server.
	r.stop()
	r2 := newRig(t, "prescale-system")
	// At 19:00 UTC, when ELB's demand is high: low's forecast floor is
	// above nothing, for the stand-down to have a floor to take away.
	r2.now = r.now.Truncate(24 * time.Hour).Add(19 * time.Hour)
	if r2.now.Before(r.now) {
		r2.now = r2.now.Add(24 * time.Hour)
	}
	waitFor(t, "the policy in force in the new daemon", func() bool { return len(r2.src.Policies()) == 1 })
	// Its Source wrote the status when it admitted the object: the
	// targets' status, impact included, is as the old daemon left it.
	time.Sleep(200 * time.Millisecond) // the admission's write, if any
	if got := status(t, ns, "web"); !reflect.DeepEqual(got.Targets, before.Targets) {
		t.Errorf("after the new daemon admitted the policy the targets' status is\n%+v\nwant as the old daemon left it\n%+v", got.Targets, before.Targets)
	}

	plan := r2.plan(t)
	after := status(t, ns, "web")
	lowFloor := floorOf(t, plan, "low")
	why := strings.Join(lowFloor.Reasons, "; ")
	if !strings.Contains(why, "stood down, it does not pay: "+controller.CarriedPrefix) || !strings.Contains(why, low.Reason) {
		t.Errorf("low's first plan after the restart: %q; want its forecast floor stood down by the verdict carried over", why)
	}
	webFloor := floorOf(t, plan, "web")
	why = strings.Join(webFloor.Reasons, "; ")
	if strings.Contains(why, "not judged yet") || strings.Contains(why, "stood down") {
		t.Errorf("web's first plan after the restart: %q; want the verdict carried over", why)
	}
	if web.OperatingQuantile != "0.9" && !strings.Contains(why, "operating point p"+pct(web.OperatingQuantile)+", not the owner's p90: "+controller.CarriedPrefix) {
		t.Errorf("web's first plan after the restart: %q; want its floor at the operating point p%s judged, carried over", why, pct(web.OperatingQuantile))
	}
	// The metrics say the same from the first tick: the stand-down, the
	// operating point, the figures as the status held them.
	for _, c := range []struct {
		g      *prometheus.GaugeVec
		labels []string
		want   float64
	}{
		{r2.exp.StoodDown, []string{ns + "/web/low"}, 1},
		{r2.exp.StoodDown, []string{ns + "/web/web"}, 0},
		{r2.exp.OperatingQuantile, []string{ns + "/web/web"}, mustFloat(t, web.OperatingQuantile)},
		{r2.exp.ImpactReplicaHoursPaid, []string{ns + "/web/web", "14d"}, 3600 * *web.Last14d.ExtraReplicaHours},
		{r2.exp.ImpactUnservedSaved, []string{ns + "/web/low", "7d"}, *low.Last7d.UnservedReactive - *low.Last7d.UnservedPredictive},
		{r2.exp.ImpactDays, []string{ns + "/web/web", "14d", "better"}, float64(web.Last14d.DaysBetter)},
		{r2.exp.ImpactDays, []string{ns + "/web/low", "14d", "worse"}, float64(low.Last14d.DaysWorse)},
	} {
		if v := testutil.ToFloat64(c.g.WithLabelValues(c.labels...)); v != c.want {
			t.Errorf("after the restart %v: %v, want %v", c.labels, v, c.want)
		}
	}
	for _, name := range []string{"web", "low"} {
		b, a := targetStatus(before, name).Impact, targetStatus(after, name).Impact
		if a == nil {
			t.Fatalf("%s: no impact in the status after the new daemon's first tick", name)
		}
		if !reflect.DeepEqual(a.Last7d, b.Last7d) || !reflect.DeepEqual(a.Last14d, b.Last14d) || a.StandDown != b.StandDown ||
			a.OperatingQuantile != b.OperatingQuantile || a.ComputedAt == nil || !a.ComputedAt.Equal(b.ComputedAt) {
			t.Errorf("%s: impact after the restart %+v, want the figures and verdict of %+v", name, *a, *b)
		}
		if !strings.HasPrefix(a.Reason, controller.CarriedPrefix+before.LastPlanned.UTC().Format(time.RFC3339)) || !strings.HasSuffix(a.Reason, ": "+b.Reason) {
			t.Errorf("%s: reason after the restart %q, want it carried over from the status written at %v: %q", name, a.Reason, before.LastPlanned, b.Reason)
		}
	}
	// The follower takes over: it carries the verdict of the status as
	// it is now, not as it was when its Source started.
	follower.now = r2.now.Add(5 * time.Minute)
	plan = follower.plan(t)
	if why := strings.Join(floorOf(t, plan, "low").Reasons, "; "); !strings.Contains(why, "stood down, it does not pay: "+controller.CarriedPrefix) || !strings.Contains(why, low.Reason) {
		t.Errorf("low's first plan in the follower: %q; want its forecast floor stood down by the verdict carried over", why)
	}
	if why := strings.Join(floorOf(t, plan, "web").Reasons, "; "); strings.Contains(why, "not judged yet") {
		t.Errorf("web's first plan in the follower: %q; want the verdict carried over", why)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pct is a quantile string as a percentile ("0.5" → "50").
func pct(q string) string {
	switch q {
	case "0.3":
		return "30"
	case "0.5":
		return "50"
	case "0.7":
		return "70"
	}
	return q
}

func floorOf(t *testing.T, p policy.Plan, target string) policy.Resource {
	t.Helper()
	r, ok := p.Find(target, policy.KindHPA, policy.FieldMinReplicas)
	if !ok {
		t.Fatalf("no minReplicas for %s in %+v", target, p.Resources)
	}
	return r
}
