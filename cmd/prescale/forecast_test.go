package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestForecastJSONContract(t *testing.T) {
	code, out, errOut := runCLI("forecast", "--input", "../../testdata/nyc_taxi.csv", "--horizon", "48",
		"--quantiles", "0.1,0.9", "--timezone", "America/New_York", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Model       string `json:"model"`
		StepSeconds int    `json:"step_seconds"`
		Points      []struct {
			Timestamp string             `json:"timestamp"`
			Mean      *float64           `json:"mean"`
			Quantiles map[string]float64 `json:"quantiles"`
		} `json:"points"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if got.Model == "" || got.StepSeconds != 1800 || len(got.Points) != 48 {
		t.Fatalf("model %q step %d points %d", got.Model, got.StepSeconds, len(got.Points))
	}
	// The first point is one step after the last sample (2015-02-01T04:30Z).
	if got.Points[0].Timestamp != "2015-02-01T05:00:00Z" {
		t.Errorf("first timestamp %s", got.Points[0].Timestamp)
	}
	for i, p := range got.Points {
		lo, ok1 := p.Quantiles["0.1"]
		hi, ok2 := p.Quantiles["0.9"]
		if p.Mean == nil || !ok1 || !ok2 || lo > hi || *p.Mean < 0 {
			t.Fatalf("point %d: %+v", i, p)
		}
		if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForecastBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,x\n"), 0o644)
	dup := filepath.Join(dir, "dup.csv")
	os.WriteFile(dup, []byte("timestamp,value\n0,1\n3600,2\n3600,3\n"), 0o644)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"forecast", "--input", bad, "--horizon", "3"}, exitFailure, bad + ":3: value \"x\" is not a number"},
		{[]string{"forecast", "--input", dup, "--horizon", "3"}, exitFailure, dup + ":4: duplicate timestamp"},
		{[]string{"forecast", "--input", filepath.Join(dir, "missing.csv")}, exitFailure, "no such file"},
		{[]string{"forecast", "--horizon", "3"}, exitUsage, "--input is required"},
		{[]string{"forecast", "--input", bad, "--quantiles", "0.1,2"}, exitUsage, "\"2\" is not a level in (0,1)"},
		{[]string{"forecast", "--input", bad, "--timezone", "Mars/Olympus"}, exitUsage, "not an IANA time zone"},
		{[]string{"forecast", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"nosuch"}, exitUsage, "unknown command"},
	}
	for _, c := range cases {
		code, out, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d stderr %q, want %d and %q", c.args, code, errOut, c.code, c.want)
		}
		if out != "" {
			t.Errorf("%v: partial output on stdout: %q", c.args, out)
		}
		if c.code == exitFailure && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: want a one-line reason, got %q", c.args, errOut)
		}
	}
}

func TestHelpEverywhere(t *testing.T) {
	code, out, _ := runCLI("--help")
	if code != exitOK || !strings.Contains(out, "forecast") {
		t.Fatalf("prescale --help: exit %d\n%s", code, out)
	}
	for name := range commands {
		code, out, errOut := runCLI(name, "--help")
		if code != exitOK || !strings.Contains(out, "Usage: prescale "+name) || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", name, code, out, errOut)
		}
	}
}

func TestForecastEvaluate(t *testing.T) {
	code, out, errOut := runCLI("forecast", "--evaluate", "--input", "../../testdata/alibaba2018_cluster_usage_cpu.csv",
		"--horizon", "288", "--origins", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ev struct {
		Baseline string `json:"baseline"`
		Origins  []string
		Scores   []struct {
			Model    string  `json:"model"`
			MASE     float64 `json:"mase"`
			SMAPE    float64 `json:"smape"`
			Coverage float64 `json:"coverage"`
		} `json:"scores"`
		Blocks      []forecast.StepBlock     `json:"blocks"`
		Calibration []forecast.LevelCoverage `json:"calibration"`
		Interval    []float64                `json:"interval_blocks"`
		M4          *forecast.M4Score        `json:"m4"`
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Baseline != "snaive-daily" || len(ev.Origins) != 3 {
		t.Fatalf("baseline %s origins %v", ev.Baseline, ev.Origins)
	}
	seen := map[string]bool{}
	for _, s := range ev.Scores {
		seen[s.Model] = true
		if s.MASE <= 0 || s.SMAPE <= 0 {
			t.Errorf("%s: MASE %v sMAPE %v", s.Model, s.MASE, s.SMAPE)
		}
	}
	for _, m := range []string{"selection", "snaive-daily", "profile-daily", "naive2"} {
		if !seen[m] {
			t.Errorf("no score for %s in %v", m, ev.Scores)
		}
	}
	// Calibration per quantile level (the defaults) and per block of
	// horizon steps (four of 72 steps).
	wantBlocks := []forecast.StepBlock{{From: 1, To: 72}, {From: 73, To: 144}, {From: 145, To: 216}, {From: 217, To: 288}}
	if !slices.Equal(ev.Blocks, wantBlocks) {
		t.Errorf("blocks %v, want %v", ev.Blocks, wantBlocks)
	}
	var levels []float64
	for _, lc := range ev.Calibration {
		levels = append(levels, lc.Level)
		if len(lc.Blocks) != 4 || lc.Below < 0 || lc.Below > 1 {
			t.Errorf("q%v: %v of actual values at or under it, per block %v", lc.Level, lc.Below, lc.Blocks)
		}
	}
	if !slices.Equal(levels, forecast.DefaultLevels) {
		t.Errorf("calibration levels %v, want %v", levels, forecast.DefaultLevels)
	}
	if len(ev.Interval) != 4 {
		t.Errorf("interval coverage per block %v, want 4 blocks", ev.Interval)
	}
	// M4's OWA against Naive2 at a day of 5-minute steps, from its parts.
	if m := ev.M4; m == nil || m.Period != 288 || m.Origins != 3 || !(m.OWA > 0) ||
		math.Abs(m.OWA-(m.SMAPE/m.Naive2SMAPE+m.MASE/m.Naive2MASE)/2) > 1e-9 {
		t.Errorf("m4 %+v: want period 288, 3 origins, OWA = ½ sMAPE ratio + ½ MASE ratio", m)
	}
	// The table says the same.
	code, out, errOut = runCLI("forecast", "--evaluate", "--input", "../../testdata/alibaba2018_cluster_usage_cpu.csv",
		"--horizon", "288", "--origins", "3")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"steps 1-72", "steps 217-288", "\nq0.05 ", "\nq0.95 ", "\ninterval 90% ", "\nnaive2 ", "\nM4 OWA against Naive2 (m = 288, "} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestForecastSubMinuteTimes: a trace with 1-second steps prints its
// forecast's times with seconds (every row read 00:00 before).
func TestForecastSubMinuteTimes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.csv")
	if err := os.WriteFile(p, []byte("timestamp,value\n0,1\n1,2\n2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("forecast", "--input", p, "--horizon", "2")
	if code != exitOK || !strings.Contains(out, "1970-01-01 00:00:03 UTC") || !strings.Contains(out, "1970-01-01 00:00:04 UTC") {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
}
