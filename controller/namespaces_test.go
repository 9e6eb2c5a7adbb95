package controller

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/metrics"
)

// Two teams, each with a ScalingPolicy "web" and a target "web" in its own
// namespace: one loop keeps their fits, floors and series apart (keys and
// the target label are NAMESPACE/POLICY/TARGET).
func TestSameNameInTwoNamespaces(t *testing.T) {
	team := func(ns string, perPod int) string {
		return strings.NewReplacer("NS", ns, "PERPOD", strconv.Itoa(perPod)).Replace(`apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
  namespace: NS
spec:
  targets:
    - name: web
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: PERPOD
        operatingPoints: []
        leadTime: 5m
        window: 15m
      hpa:
        namespace: NS
        name: web
        mode: shadow
        minReplicas: 1
        maxReplicas: 200
`)
	}
	doc := team("team-a", 10) + "---\n" + team("team-b", 40)
	exp := metrics.NewExporter("test", nil)
	var now time.Time
	l, _ := elbLoop(t, doc, &now, Config{Tick: 5 * time.Minute, Refit: 15 * time.Minute}, NewMemoryActuator(), exp, nil)
	plans, err := l.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 {
		t.Fatalf("%d plans, want 2", len(plans))
	}
	floorA, floorB := floorOfPlan(plans[0]), floorOfPlan(plans[1])
	// Four times the capacity per pod: about a quarter of the pods.
	if floorA <= floorB || floorB < 2 {
		t.Fatalf("planned floors %d (team-a, 10 per pod) and %d (team-b, 40 per pod): want team-a's higher", floorA, floorB)
	}
	for label, want := range map[string]int{"team-a/web/web": floorA, "team-b/web/web": floorB} {
		if got := testutil.ToFloat64(exp.Desired.WithLabelValues(label, "hpa", "minReplicas")); int(got) != want {
			t.Errorf("prescale_desired{target=%q} = %v, want %d", label, got, want)
		}
		if n := testutil.CollectAndCount(exp.Forecast, "prescale_forecast"); n != 4 {
			t.Errorf("%d prescale_forecast series, want mean and quantile for each team's target", n)
		}
		if got := testutil.ToFloat64(exp.FailStatic.WithLabelValues(label)); got != 0 {
			t.Errorf("prescale_fail_static{target=%q} = %v", label, got)
		}
	}
	if n := testutil.CollectAndCount(exp.Desired, "prescale_desired"); n != 4 {
		t.Errorf("%d prescale_desired series, want the two teams' minReplicas and maxReplicas apart", n)
	}
	fits := 0
	for k := range l.fits {
		if k.signal == "demand" {
			fits++
		}
	}
	if fits != 2 {
		t.Errorf("%d demand fits, want one per team: %v", fits, l.fits)
	}
}
