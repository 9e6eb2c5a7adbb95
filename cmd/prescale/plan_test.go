package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	want := map[string]bool{"target": true, "kind": true, "name": true, "field": true, "current": true, "desired": true, "reasons": true}
	got := map[string]any{}
	for _, r := range rs {
		if len(r) != len(want) {
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

func TestPlanWithTrace(t *testing.T) {
	code, out, errOut := runCmd(t, "plan", "--config", "../../deploy/examples/ticketing-on-sale.yaml",
		"--input", "demand=../../testdata/nyc_taxi.csv", "--at", "2015-01-20T09:00")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"tickets-api hpa tickets/api minReplicas: 2 → 10",
		"forecast p90 demand",
		"16 pods × 20 connections = 320 > 200",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "warning: policy ticketing: target tickets-api wants a floor of") {
		t.Errorf("stderr: %s", errOut)
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
		{[]string{"plan", "--config", "../../testdata/policies/minimal.yaml", "--input", "web.demand=../../testdata/nyc_taxi.csv"}, exitFailure, "no target \"web\""},
	} {
		code, _, errOut := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, code, errOut, c.code, c.msg)
		}
	}
}

// A fresh daemon's first tick is bounded by the max step up; after the
// default warm-up the floor is where a running daemon holds it.
func TestPlanWarmup(t *testing.T) {
	args := []string{"plan", "--config", "../../deploy/examples/pricing-trading-hours.yaml", "--at", "2026-12-07T09:30"}
	_, out, _ := runCmd(t, append(args, "--warmup", "0")...)
	if !strings.Contains(out, "gateway hpa pricing/gateway minReplicas: 2 → 12") || !strings.Contains(out, "limit: max step up 10 from 2 → 12") {
		t.Errorf("first tick:\n%s", out)
	}
	_, out, _ = runCmd(t, args...)
	if !strings.Contains(out, "gateway hpa pricing/gateway minReplicas: 2 → 15") {
		t.Errorf("after warm-up:\n%s", out)
	}
}
