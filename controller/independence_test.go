package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/policy"
)

// independentTarget is the target whose floors are compared: testPolicy's
// web (the ELB trace at 20 requests a pod, the owner's p90) without its
// broken neighbour, at the default operating points, so that it starts
// at the lowest and is judged a day after its first floor.
var independentTarget = strings.Replace(testPolicy[:strings.Index(testPolicy, "    - name: broken\n")],
	"        operatingPoints: []\n", "", 1)

// neighbours are other targets on the same query with other settings
// (quantile, pod size, lead time, window, operating points, step), in a
// policy of their own listed first and beside web in its policy: what a
// shared cache keyed by query, a calibration carried across targets or
// a selection reused for another target's options would leak into web.
const neighbours = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: batch
spec:
  targets:
    - name: batch
      signals:
        demand:
          query: elb
          step: 10m
      capacity:
        perPod: 7
        quantile: 0.5
        leadTime: 20m
        window: 1h
        operatingPoints: []
      hpa:
        namespace: default
        name: batch
        mode: active
        minReplicas: 1
        maxReplicas: 200
---
`

const webNeighbour = `    - name: web-canary
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: 3
        quantile: 0.95
        leadTime: 10m
        window: 30m
        operatingPoints: [0.5]
      hpa:
        namespace: default
        name: web-canary
        mode: active
        minReplicas: 4
        maxReplicas: 500
`

// TestTargetFloorsIndependent: a target's floors, reasons and judgement are
// the same whether or not other targets share its query, its policy or the
// daemon, tick by tick across refits, reselections and its first
// judgement (a day after its first floor, at its own time of day).
func TestTargetFloorsIndependent(t *testing.T) {
	run := func(doc string) (floors []int, reasons []string, others int, verdict string) {
		t.Helper()
		var now time.Time
		act := NewMemoryActuator()
		loop, _ := elbLoop(t, doc, &now, Config{Tick: 5 * time.Minute, Refit: 15 * time.Minute}, act, nil, nil)
		for range 600 { // two days and two hours: refits, reselections and a judgement
			plans, err := loop.Tick(context.Background())
			if err != nil {
				t.Fatalf("tick at %s: %v", now.Format(time.RFC3339), err)
			}
			found := false
			for _, p := range plans {
				for _, r := range p.Resources {
					if r.Kind != policy.KindHPA || r.Field != policy.FieldMinReplicas {
						continue
					}
					if r.Target != "web" {
						others++
						continue
					}
					found = true
					floors = append(floors, r.Desired.(int))
					reasons = append(reasons, strings.Join(r.Reasons, "; "))
				}
			}
			if !found {
				t.Fatalf("tick at %s: no minReplicas planned for web", now.Format(time.RFC3339))
			}
			now = now.Add(5 * time.Minute)
		}
		lg := loop.ledgers["web/web"]
		if lg == nil || lg.computed.IsZero() {
			t.Fatalf("web's floors were not judged in %d ticks", len(floors))
		}
		return floors, reasons, others, lg.why
	}
	alone, aloneWhy, n, aloneVerdict := run(independentTarget)
	if n != 0 {
		t.Fatalf("alone: %d floors planned for other targets", n)
	}
	crowd, crowdWhy, n, crowdVerdict := run(neighbours + independentTarget + webNeighbour)
	if n != 2*len(alone) {
		t.Fatalf("with neighbours: %d floors planned for the other two targets over %d ticks, want %d", n, len(alone), 2*len(alone))
	}
	if aloneVerdict != crowdVerdict {
		t.Errorf("web's judgement differs beside other targets:\n alone:  %s\n beside: %s", aloneVerdict, crowdVerdict)
	}
	rose := false
	for i := range alone {
		if alone[i] != crowd[i] {
			t.Errorf("tick %d: web's floor %d alone, %d beside other targets", i, alone[i], crowd[i])
		}
		if aloneWhy[i] != crowdWhy[i] {
			t.Errorf("tick %d: web's reasons differ beside other targets:\n alone:  %s\n beside: %s", i, aloneWhy[i], crowdWhy[i])
		}
		rose = rose || alone[i] > 2
	}
	if !rose {
		t.Errorf("web's floor never rose above the owner's 2: %v (the comparison would hold for a loop that plans nothing)", alone)
	}
}
