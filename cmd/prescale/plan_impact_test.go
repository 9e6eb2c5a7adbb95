package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
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

// planJSON runs plan --json and returns its minReplicas resource for
// target web and the target's impact report.
func planJSON(t *testing.T, args ...string) (desired float64, reasons string, im targetImpactJSON) {
	t.Helper()
	code, out, errOut := runCmd(t, append([]string{"plan", "--json"}, args...)...)
	if code != exitOK {
		t.Fatalf("plan %v: exit %d: %s", args, code, errOut)
	}
	var doc struct {
		Resources []struct {
			Target, Field string
			Desired       any
			Reasons       []string
		} `json:"resources"`
		Impact []targetImpactJSON `json:"impact"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Impact) != 1 {
		t.Fatalf("plan %v: impact %+v", args, doc.Impact)
	}
	for _, r := range doc.Resources {
		if r.Target == "web" && r.Field == "minReplicas" {
			return r.Desired.(float64), strings.Join(r.Reasons, "; "), doc.Impact[0]
		}
	}
	t.Fatalf("plan %v: no minReplicas for web", args)
	return
}

// forecastDemand is the forecast demand a floor's reasons start with
// ("forecast p30 demand 47.32 over ...").
func forecastDemand(t *testing.T, reasons string) string {
	t.Helper()
	m := regexp.MustCompile(`forecast (p\d+) demand ([0-9.e+]+) over`).FindStringSubmatch(reasons)
	if m == nil {
		t.Fatalf("no forecast demand in %q", reasons)
	}
	return m[1] + " " + m[2]
}

// plan's floors follow the impact report's verdict as the daemon's do:
// where the floors do not pay (Twitter's GOOG volume) the target stands
// down to its owner's floor; where an operating point pays best (the
// Alibaba CPU trace, p30) the floor is the forecast's at that quantile,
// the floor of the same policy asking p30 of the raw plan; with too short
// a history the lowest operating point; --no-stand-down and
// capacity.standDown: false print the floors at capacity.quantile.
func TestPlanFollowsTheVerdict(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pol := write("web.yaml", elbPolicy)
	goog := "demand=../../testdata/Twitter_volume_GOOG.csv"

	// Stood down: the owner's minReplicas, where the raw plan raises it.
	got, why, im := planJSON(t, "--config", pol, "--input", goog)
	raw, rawWhy, rawIm := planJSON(t, "--config", pol, "--input", goog, "--no-stand-down")
	if !im.StoodDown || !im.PlanStoodDown || im.PlanQuantile != 0 {
		t.Fatalf("GOOG: impact %+v: want the floors stood down, and the plan with them", im)
	}
	if got != 2 || !strings.Contains(why, "stood down, it does not pay: judged on its last 14 days of history: "+im.Why) {
		t.Errorf("GOOG: minReplicas %v (%s): want the owner's 2, stood down", got, why)
	}
	if raw <= 2 || strings.Contains(rawWhy, "stood down") || rawIm.PlanStoodDown || rawIm.PlanQuantile != 0.9 || !strings.Contains(rawIm.PlanWhy, "--no-stand-down") {
		t.Errorf("GOOG --no-stand-down: minReplicas %v (%s), plan %+v: want the p90 forecast floor above the owner's", raw, rawWhy, rawIm)
	}
	// capacity.standDown: false: judged, reported, not followed.
	keep := write("keep.yaml", strings.Replace(elbPolicy, "        window: 15m\n", "        window: 15m\n        standDown: false\n", 1))
	if got, why, im := planJSON(t, "--config", keep, "--input", goog); got != raw || im.StoodDown || !strings.Contains(im.Why, "capacity.standDown is false") || !strings.Contains(im.PlanWhy, "capacity.standDown is false") {
		t.Errorf("GOOG, standDown false: minReplicas %v (%s), impact %+v: want the raw plan's %v", got, why, im, raw)
	}

	// An operating point: the floor of the forecast's p30.
	ali := "demand=../../testdata/alibaba2018_cluster_usage_cpu.csv"
	got, why, im = planJSON(t, "--config", pol, "--input", ali)
	if im.StoodDown || im.OperatingQuantile != 0.3 || im.PlanQuantile != 0.3 || im.PlanStoodDown {
		t.Fatalf("Alibaba: impact %+v: want the floors at the operating point p30", im)
	}
	p30 := write("p30.yaml", strings.Replace(elbPolicy, "        window: 15m\n", "        window: 15m\n        quantile: 0.3\n        operatingPoints: []\n", 1))
	want, wantWhy, _ := planJSON(t, "--config", p30, "--input", ali, "--no-stand-down")
	p90, p90Why, _ := planJSON(t, "--config", pol, "--input", ali, "--no-stand-down")
	if got != want || forecastDemand(t, why) != forecastDemand(t, wantWhy) || !strings.Contains(why, "operating point p30, not the owner's p90") {
		t.Errorf("Alibaba: minReplicas %v (%s); want %v, the forecast's p30 floor (%s)", got, why, want, wantWhy)
	}
	if p90 == got {
		t.Errorf("Alibaba: the p90 floor %v (%s) is the p30 one: the case shows nothing", p90, p90Why)
	}

	// Too short a history to judge: the lowest operating point.
	_, why, im = planJSON(t, "--config", pol, "--input", "demand=../../testdata/elb_request_count_8c0756.csv", "--at", "2014-04-10T20:00")
	if im.NotJudged == "" || im.PlanQuantile != 0.3 || !strings.Contains(why, "operating point p30, not the owner's p90: the floors are not judged yet") {
		t.Errorf("20 hours of history: %s, impact %+v: want the lowest operating point", why, im)
	}

	// The table says how the plan sized the floors.
	code, out, errOut := runCmd(t, "plan", "--config", pol, "--input", goog)
	if code != exitOK || !strings.Contains(out, "    plan: stood down: the forecast floors do not pay") {
		t.Errorf("GOOG table (exit %d, %s):\n%s", code, errOut, out)
	}
	if _, out, _ := runCmd(t, "plan", "--config", pol, "--input", ali); !strings.Contains(out, "    plan: floors at p30: operating point p30") {
		t.Errorf("Alibaba table:\n%s", out)
	}
}
