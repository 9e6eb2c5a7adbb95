package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const elbPolicy = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  targets:
    - name: web
      signals:
        demand:
          query: sum(rate(http_requests_total[2m]))
          step: 5m
      capacity:
        perPod: 20
        leadTime: 5m
        window: 15m
      hpa:
        namespace: default
        name: web
        minReplicas: 2
        maxReplicas: 60
`

// plan reports each target's impact from the history it is given: the
// forecast floors over the last 7 and 14 days against the HPA alone and a
// cooler HPA at equal cost, and the daemon's stand-down verdict on them;
// JSON keys are added (impact), the resources unchanged; --impact=false
// leaves it out; too short a history says why it was not judged.
func TestPlanImpact(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(pol, []byte(elbPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := "demand=../../testdata/elb_request_count_8c0756.csv"
	code, out, errOut := runCmd(t, "plan", "--config", pol, "--input", trace, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Resources []map[string]any   `json:"resources"`
		Impact    []targetImpactJSON `json:"impact"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Resources) == 0 || len(doc.Impact) != 1 {
		t.Fatalf("resources %d, impact %+v", len(doc.Resources), doc.Impact)
	}
	r := doc.Impact[0]
	if r.Policy != "web" || r.Target != "web" || r.Last7d == nil || r.Last14d == nil || r.NotJudged != "" {
		t.Fatalf("impact %+v", r)
	}
	// The ELB trace holds 14 days: the 14-day window is what there is, the
	// 7-day one its last 7 days.
	if d := r.Last7d.To.Sub(r.Last7d.From); d != 7*24*time.Hour {
		t.Errorf("last 7d spans %v", d)
	}
	if d := r.Last14d.To.Sub(r.Last14d.From); d < 13*24*time.Hour || d > 14*24*time.Hour {
		t.Errorf("last 14d spans %v", d)
	}
	for name, w := range map[string]*impactWindowJSON{"7d": r.Last7d, "14d": r.Last14d} {
		if math.Abs(w.UnservedSaved-(w.UnservedReactive-w.UnservedPredictive)) > 1e-12 {
			t.Errorf("%s: saved %v is not %v − %v", name, w.UnservedSaved, w.UnservedReactive, w.UnservedPredictive)
		}
		if w.ReplicaHoursPaid < 0 || w.UnservedReactive <= 0 {
			t.Errorf("%s: floors paid %v replica-h (floors only add pods); the HPA alone left %v unserved", name, w.ReplicaHoursPaid, w.UnservedReactive)
		}
		if w.EqualCostRatio == nil || math.Abs(*w.EqualCostRatio*w.UnservedAtEqualCost-w.UnservedPredictive) > 1e-12 {
			t.Errorf("%s: equal-cost ratio %v for %v against %v", name, w.EqualCostRatio, w.UnservedPredictive, w.UnservedAtEqualCost)
		}
	}
	// The daemon's verdict: the floors stand when they leave at most 80% of
	// what a cooler HPA leaves at equal replica-hours.
	if pays := r.Last14d.UnservedPredictive <= 0.8*r.Last14d.UnservedAtEqualCost+1e-5; r.StoodDown == pays || r.Why == "" {
		t.Errorf("stood down %v (%q) with %v unserved against %v at equal cost", r.StoodDown, r.Why, r.Last14d.UnservedPredictive, r.Last14d.UnservedAtEqualCost)
	}
	t.Logf("14d: unserved %.3g → %.3g, %.3g at equal cost, paid %.3g replica-h; stood down %v: %s", r.Last14d.UnservedReactive, r.Last14d.UnservedPredictive, r.Last14d.UnservedAtEqualCost, r.Last14d.ReplicaHoursPaid, r.StoodDown, r.Why)

	// The table says the same.
	code, out, errOut = runCmd(t, "plan", "--config", pol, "--input", trace)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	verdict := "web: floors pay: "
	if r.StoodDown {
		verdict = "web: stood down: "
	}
	for _, want := range []string{"\nimpact: ", verdict + r.Why, "last 7d  (7d): unserved ", "last 14d (", "gain per cost "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// --impact=false, and a history too short to judge.
	if _, out, _ := runCmd(t, "plan", "--config", pol, "--input", trace, "--impact=false", "--json"); strings.Contains(out, `"impact"`) {
		t.Errorf("--impact=false printed an impact:\n%s", out)
	}
	code, out, errOut = runCmd(t, "plan", "--config", pol, "--input", trace, "--at", "2014-04-10T20:00", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	doc.Impact = nil
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Impact) != 1 || doc.Impact[0].Last14d != nil || !strings.Contains(doc.Impact[0].NotJudged, "fewer than the 1d the impact") {
		t.Errorf("20 hours of history: impact %+v", doc.Impact)
	}
}
