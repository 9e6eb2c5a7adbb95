package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// shortTrace writes the first n rows of testdata/nyc_taxi.csv (half-hourly)
// to a temporary file.
func shortTrace(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile("../../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	path := filepath.Join(t.TempDir(), "taxi.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines[:n+1], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBacktestJSONContract: DESIGN.md's keys, exactly, for the four
// strategies, and a PNG when --plot asks for one.
func TestBacktestJSONContract(t *testing.T) {
	in := shortTrace(t, 4*48)
	plot := filepath.Join(t.TempDir(), "bt.png")
	code, out, errOut := runCLI("backtest", "--input", in, "--timezone", "America/New_York", "--warmup", "36h", "--json", "--plot", plot)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var raw struct {
		Strategies    map[string]map[string]json.RawMessage `json:"strategies"`
		ReactiveCurve []curvePointJSON                      `json:"reactive_curve"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	got := struct{ Strategies map[string]map[string]float64 }{map[string]map[string]float64{}}
	var names []string
	for n := range raw.Strategies {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "oracle,predictive,reactive,schedule" {
		t.Fatalf("strategies %v", names)
	}
	for n, m := range raw.Strategies {
		var keys []string
		got.Strategies[n] = map[string]float64{}
		for k, v := range m {
			keys = append(keys, k)
			var f float64
			if json.Unmarshal(v, &f) == nil {
				got.Strategies[n][k] = f
			}
		}
		sort.Strings(keys)
		// DESIGN.md's keys, exactly, with equal_cost added for every
		// strategy but the oracle (keys are added, never changed).
		want := "actuations,equal_cost,node_hours,replica_hours,underprovisioned_minutes,unserved_fraction"
		if n == "predictive" {
			want = "actuations,equal_cost,node_hours,replica_hours,stand_down,underprovisioned_minutes,unserved_fraction"
		}
		if n == "oracle" {
			want = "actuations,node_hours,replica_hours,underprovisioned_minutes,unserved_fraction"
		}
		if strings.Join(keys, ",") != want {
			t.Errorf("%s keys %v", n, keys)
		}
		m := got.Strategies[n]
		if m["replica_hours"] <= 0 || m["unserved_fraction"] < 0 || m["unserved_fraction"] > 1 {
			t.Errorf("%s: %v", n, m)
		}
	}
	// Reactive's curve: the default sweep at least, cost rising as unserved
	// falls, and reactive at 70% on it.
	if len(raw.ReactiveCurve) < 11 {
		t.Fatalf("reactive_curve has %d points, want the 11 of 0.40..0.90", len(raw.ReactiveCurve))
	}
	for i, p := range raw.ReactiveCurve[1:] {
		q := raw.ReactiveCurve[i]
		if p.ReplicaHours < q.ReplicaHours || p.UnservedFraction > q.UnservedFraction || p.HPATarget >= q.HPATarget {
			t.Errorf("curve not monotone at %d: %+v then %+v", i+1, q, p)
		}
	}
	var eq equalCostJSON
	if err := json.Unmarshal(raw.Strategies["reactive"]["equal_cost"], &eq); err != nil {
		t.Fatal(err)
	}
	if r := got.Strategies["reactive"]; math.Abs(eq.ReactiveReplicaHours-r["replica_hours"]) > 1e-6*r["replica_hours"] ||
		math.Abs(eq.ReactiveUnservedFraction-r["unserved_fraction"]) > 1e-9 {
		t.Errorf("reactive at 70%% is on its own curve: equal_cost %+v, result %v", eq, r)
	}
	if got.Strategies["oracle"]["unserved_fraction"] != 0 {
		t.Errorf("oracle left demand unserved: %v", got.Strategies["oracle"])
	}
	if r, o := got.Strategies["reactive"]["replica_hours"], got.Strategies["oracle"]["replica_hours"]; r <= o {
		t.Errorf("reactive replica-hours %v not above the oracle's %v", r, o)
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("plot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 800 {
		t.Errorf("plot is %v, too small to read", b)
	}
}

func TestBacktestTable(t *testing.T) {
	in := shortTrace(t, 3*48)
	code, out, errOut := runCLI("backtest", "--input", in, "--warmup", "36h", "--pods-per-node", "0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"reactive", "schedule", "predictive", "oracle", "unserved %", "replica-h"} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}

// TestBacktestPerfectForecast: the flag replaces the predictive floors
// with the bound, which serves a daily jump that the HPA alone leaves
// partly unserved, and the table says the row is a bound.
func TestBacktestPerfectForecast(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 4*1440; m += 5 {
		v := 40 // at night; ten times that from 09:00 to 12:00
		if h := (m % 1440) / 60; h >= 9 && h < 12 {
			v = 400
		}
		fmt.Fprintf(&b, "%s,%d\n", start.Add(time.Duration(m)*time.Minute).Format(time.RFC3339), v)
	}
	in := filepath.Join(t.TempDir(), "jump.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("backtest", "--input", in, "--warmup", "24h", "--json", "--perfect-forecast")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got backtestJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	r, p := got.Strategies["reactive"], got.Strategies["predictive"]
	if r.UnservedFraction < 1e-3 || p.UnservedFraction > 1e-6 || p.ReplicaHours <= r.ReplicaHours {
		t.Errorf("reactive leaves %.5f unserved at %.1f replica-hours, the perfect-forecast floors %.6f at %.1f; want some, none, at more",
			r.UnservedFraction, r.ReplicaHours, p.UnservedFraction, p.ReplicaHours)
	}
	// At equal cost the bound serves what no cooler HPA serves for its
	// replica-hours.
	if e := p.EqualCost; e == nil || e.ReactiveUnservedFraction <= 0 || e.UnservedRatio == nil || *e.UnservedRatio > 1e-3 {
		t.Errorf("perfect-forecast floors at equal cost: %+v", e)
	}
	_, out, _ = runCLI("backtest", "--input", in, "--warmup", "24h", "--perfect-forecast")
	if !strings.Contains(out, "perfect forecast (the trace's own future): a bound, not a strategy") {
		t.Errorf("table does not say the predictive row is a bound:\n%s", out)
	}
	_, out, _ = runCLI("backtest", "--input", in, "--warmup", "24h", "--forecast-error", "0.5")
	if !strings.Contains(out, "forecast keeping 0.5 of its error against the trace's own values: a bound, not a strategy") {
		t.Errorf("table does not say the predictive row with --forecast-error is a bound:\n%s", out)
	}
}

func TestBacktestBadUsage(t *testing.T) {
	in := shortTrace(t, 10)
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"backtest"}, exitUsage},
		{[]string{"backtest", "--input", in, "--peak-replicas", "0"}, exitUsage},
		{[]string{"backtest", "--input", in, "--quantile", "1.5"}, exitUsage},
		{[]string{"backtest", "--input", in, "--timezone", "Mars/Olympus"}, exitUsage},
		{[]string{"backtest", "--input", in, "--nope"}, exitUsage},
		{[]string{"backtest", "--input", in, "--perfect-forecast", "--policy", "p.yaml"}, exitUsage},
		{[]string{"backtest", "--input", "/does/not/exist.csv"}, exitFailure},
		{[]string{"backtest", "--input", in, "--policy", "/does/not/exist.yaml"}, exitFailure},
		{[]string{"backtest", "--input", in, "--sweep", "0.5"}, exitUsage},
		{[]string{"backtest", "--input", in, "--sweep", "0.5,1.5"}, exitUsage},
		{[]string{"backtest", "--input", in, "--sweep", "0.5,x"}, exitUsage},
		{[]string{"backtest", "--input", in, "--operating-points", "0.5,1"}, exitUsage},
		{[]string{"backtest", "--input", in, "--operating-points", "0.5,0.9"}, exitUsage},
		{[]string{"backtest", "--input", in, "--operating-points", "0.5,0.5"}, exitUsage},
		{[]string{"backtest", "--input", in, "--no-stand-down"}, exitOK},
		{[]string{"backtest", "--input", in, "--operating-points", "0.1,0.2,0.3,0.4,0.5"}, exitUsage},
		{[]string{"backtest", "--input", in, "--operating-points", "0.5", "--no-stand-down"}, exitUsage},
		{[]string{"backtest", "--input", in, "--operating-points", "0.5", "--perfect-forecast"}, exitUsage},
		{[]string{"backtest", "--input", in, "--operating-points", "none"}, exitOK},
		{[]string{"backtest", "--input", in, "--forecast-error", "0"}, exitUsage},
		{[]string{"backtest", "--input", in, "--forecast-error", "1.2"}, exitUsage},
		{[]string{"backtest", "--input", in, "--forecast-error", "0.5", "--perfect-forecast"}, exitUsage},
		{[]string{"backtest", "--input", in, "--forecast-error", "0.5", "--policy", "p.yaml"}, exitUsage},
		{[]string{"backtest", "--input", in, "--forecast-error", "1"}, exitOK},
		{[]string{"backtest", "--help"}, exitOK},
	}
	for _, tt := range tests {
		if code, _, _ := runCLI(tt.args...); code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
	}
}

// TestBacktestByHour: --by-hour adds each strategy's unserved demand by
// local hour, 24 shares adding up to its unserved fraction, in the JSON
// and as a table of the hours where any is left unserved.
func TestBacktestByHour(t *testing.T) {
	in := shortTrace(t, 4*48)
	args := []string{"backtest", "--input", in, "--timezone", "America/New_York", "--warmup", "36h", "--by-hour"}
	code, out, errOut := runCLI(append(args, "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Strategies map[string]struct {
			UnservedFraction float64   `json:"unserved_fraction"`
			UnservedByHour   []float64 `json:"unserved_by_hour"`
		} `json:"strategies"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if got.Strategies["reactive"].UnservedFraction <= 0 {
		t.Fatalf("the HPA alone left nothing unserved; the test needs some:\n%s", out)
	}
	lost := -1 // an hour in which reactive left demand unserved
	for _, name := range []string{"reactive", "schedule", "predictive"} {
		s := got.Strategies[name]
		if len(s.UnservedByHour) != 24 {
			t.Fatalf("%s: %d hours, want 24", name, len(s.UnservedByHour))
		}
		sum := 0.0
		for h, v := range s.UnservedByHour {
			sum += v
			if name == "reactive" && v > 0 && lost < 0 {
				lost = h
			}
		}
		if math.Abs(sum-s.UnservedFraction) > 1e-12 {
			t.Errorf("%s: hours add up to %g, unserved_fraction %g", name, sum, s.UnservedFraction)
		}
	}
	if got.Strategies["oracle"].UnservedByHour != nil {
		t.Error("the oracle has hours; it leaves nothing unserved by construction")
	}

	code, out, errOut = runCLI(args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{"unserved demand by hour of the day (America/New_York)", fmt.Sprintf("%02d:00", lost)} {
		if !strings.Contains(out, s) {
			t.Errorf("table lacks %q:\n%s", s, out)
		}
	}
}
