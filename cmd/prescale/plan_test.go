package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPlanJSONShape(t *testing.T) {
	code, out, errOut := runCmd(t, "plan", "--config", "../../deploy/examples/shop-black-friday.yaml", "--at", "2026-11-26T22:00", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc) != 2 || doc["at"] == nil || doc["resources"] == nil {
		t.Fatalf("top-level keys: %s", out)
	}
	var at string
	json.Unmarshal(doc["at"], &at)
	if at != "2026-11-26T22:00:00-05:00" {
		t.Errorf("at = %q", at)
	}
	var rs []map[string]any
	if err := json.Unmarshal(doc["resources"], &rs); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"target": true, "kind": true, "name": true, "field": true, "current": true, "desired": true, "reasons": true,
		"snapshot": true} // snapshot only on a class change that takes one
	got := map[string]any{}
	for _, r := range rs {
		if _, snap := r["snapshot"]; len(r) != len(want)-1 && !(snap && len(r) == len(want)) {
			t.Errorf("resource keys %v", r)
		}
		for k := range r {
			if !want[k] {
				t.Errorf("unexpected key %q", k)
			}
		}
		got[r["target"].(string)+" "+r["kind"].(string)+" "+r["field"].(string)] = r["desired"]
	}
	for k, v := range map[string]any{
		"backend hpa minReplicas":        15.0,
		"backend hpa maxReplicas":        50.0,
		"frontend hpa minReplicas":       10.0,
		"backend database instanceClass": "db.r5.xlarge",
		"backend cache nodeType":         "cache.r5.large",
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

// The forecast floors' sizing, with --no-stand-down: nyc_taxi's demand
// outgrows the example's maxReplicas 16, so the floors buy nothing and the
// impact report's verdict stands them down (TestPlanFollowsTheVerdict).
func TestPlanWithTrace(t *testing.T) {
	code, out, errOut := runCmd(t, "plan", "--config", "../../deploy/examples/ticketing-on-sale.yaml",
		"--input", "demand=../../testdata/nyc_taxi.csv", "--at", "2015-01-20T09:00", "--no-stand-down")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"forecast p90 demand",
		"tickets-api connectionPool tickets/api-db-pool:DB_POOL_SIZE poolSize: 10 = 10",
		"16 pods × 20 connections = 320 > 160 (0.8 × max_connections 200 of db.t3.large): pool 10 per pod",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "warning: policy ticketing: database tickets-db: forecast load") {
		t.Errorf("stderr: %s", errOut)
	}
	checkWarmFloor(t, out)
}

// checkWarmFloor: after the warm-up the daemon holds the floor the
// capacity model gives for the forecast (ceil(demand / (360 per pod × 0.7)),
// within the owner's 2..16), already in place (no change pending).
func checkWarmFloor(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`tickets-api hpa tickets/api minReplicas: (\d+) = (\d+)\n\s+- forecast p90 demand ([0-9.e+]+) over`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no settled forecast floor for tickets-api in:\n%s", out)
	}
	floor, _ := strconv.Atoi(m[1])
	demand, _ := strconv.ParseFloat(m[3], 64)
	want := int(math.Ceil(demand/(360*0.7) - 1e-9))
	want = max(2, min(16, want))
	// The demand is printed to 4 significant digits: allow the pod either
	// side of a rounding edge.
	if floor < want-1 || floor > want+1 || floor < 2 || floor > 16 {
		t.Errorf("warm floor %d for forecast demand %v: the capacity model gives %d", floor, demand, want)
	}
}

func TestPlanErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"plan"}, exitUsage, "--config is required"},
		{[]string{"plan", "--config", "../../testdata/policies/invalid.yaml"}, exitFailure, "does not validate"},
		{[]string{"plan", "--config", t.TempDir()}, exitFailure, "no policy in"},
		{[]string{"plan", "--config", "../../testdata/policies/minimal.yaml", "--at", "tomorrow"}, exitUsage, "--at"},
		{[]string{"plan", "--config", "../../testdata/policies/minimal.yaml", "--input", "nofile"}, exitUsage, ""},
		{[]string{"plan", "--config", "../../testdata/policies/minimal.yaml", "--input", "web.demand=../../testdata/nyc_taxi.csv"}, exitUsage, "no target \"web\""},
	} {
		code, _, errOut := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

// A fresh daemon's first tick is bounded by the max step up; after the
// default warm-up the floor is where a running daemon holds it (the
// forecast floors, --no-stand-down: see TestPlanWithTrace).
func TestPlanWarmup(t *testing.T) {
	args := []string{"plan", "--config", "../../deploy/examples/ticketing-on-sale.yaml",
		"--input", "demand=../../testdata/nyc_taxi.csv", "--at", "2015-01-20T09:00", "--no-stand-down"}
	_, out, _ := runCmd(t, append(args, "--warmup", "0")...)
	if !strings.Contains(out, "tickets-api hpa tickets/api minReplicas: 2 → 10") || !strings.Contains(out, "limit: max step up 8 from 2 → 10") {
		t.Errorf("first tick:\n%s", out)
	}
	_, out, _ = runCmd(t, args...)
	checkWarmFloor(t, out)
}

// The DB preview carries state: a class planned in an earlier window is
// the class now, held by the hysteresis, and comes down only in a window
// (the pricing onboarding: up in the window of December 1, 02:00 ET; back
// after T+7d and 72 quiet hours, in the window of December 18, 02:00 ET).
func TestPlanWarmupCarriesClass(t *testing.T) {
	plan := func(at, warmup string) map[string]map[string]any {
		code, out, errOut := runCmd(t, "plan", "--config", "../../deploy/examples/pricing-trading-hours.yaml", "--at", at, "--warmup", warmup, "--json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var raw struct {
			Resources []map[string]any `json:"resources"`
		}
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := map[string]map[string]any{}
		for _, r := range raw.Resources {
			got[r["kind"].(string)+" "+r["name"].(string)+" "+r["field"].(string)] = r
		}
		return got
	}
	key := "database pricing-db instanceClass"
	// Without a warm-up the class planned on December 1 is forgotten.
	if r := plan("2026-12-03T12:00", "0")[key]; r["current"] != "db.r5.xlarge" {
		t.Errorf("no warm-up: current %v", r["current"])
	}
	r := plan("2026-12-03T12:00", "72h")[key]
	if r["current"] != "db.r5.2xlarge" || r["desired"] != "db.r5.2xlarge" {
		t.Errorf("with a warm-up across the window: %v → %v, want the class planned on December 1 (db.r5.2xlarge)", r["current"], r["desired"])
	}
	r = plan("2026-12-18T01:59", "360h")[key]
	if r["current"] != "db.r5.2xlarge" || r["desired"] != "db.r5.2xlarge" || !strings.Contains(fmt.Sprint(r["reasons"]), "waiting for a change window") {
		t.Errorf("the night before the window: %v", r)
	}
	r = plan("2026-12-18T02:00", "360h")[key]
	if r["current"] != "db.r5.2xlarge" || r["desired"] != "db.r5.xlarge" || r["snapshot"] != true {
		t.Errorf("in the window after the hysteresis: %v", r)
	}
}

// TestPlanDSTWarnings: plan warns about an --at that does not exist in the
// policy's zone (2026-03-08 02:30 in New York, where clocks jump from 02:00
// to 03:00) and about the times the policy names within a week: the
// pricing example's 02:00 change windows on that day.
func TestPlanDSTWarnings(t *testing.T) {
	code, _, errOut := runCmd(t, "plan", "--config", "../../deploy/examples/pricing-trading-hours.yaml", "--at", "2026-03-06T09:00", "--warmup", "0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`spec.databases[0].changeWindows[0].schedule: cron "0 2 * * *" names 02:00 on Sun 2026-03-08, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it does not fire then, so pricing-db's change window does not open that day`,
		`spec.caches[0].changeWindows[0].schedule: cron "0 2 * * *" names 02:00 on Sun 2026-03-08`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	code, _, errOut = runCmd(t, "plan", "--config", "../../deploy/examples/pricing-trading-hours.yaml", "--at", "2026-03-08T02:30", "--warmup", "0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if want := "warning: --at 2026-03-08 02:30, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it is taken as 2026-03-08 01:30 EST"; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
	// A week with no clock change: no such warning.
	_, _, errOut = runCmd(t, "plan", "--config", "../../deploy/examples/pricing-trading-hours.yaml", "--at", "2026-06-10T09:00", "--warmup", "0")
	if strings.Contains(errOut, "does not exist") || strings.Contains(errOut, "happens twice") {
		t.Errorf("DST warning in June:\n%s", errOut)
	}
}
