package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagRangesBeforeWork: each numeric flag of run, backtest and plan
// out of its range exits 2 naming the flag and its range, before any input
// is read: the inputs below do not exist (run's --config, backtest's
// --input), so an answer about them would mean the range was checked too
// late. In range, the same flags are accepted and the missing input is
// what is reported.
func TestFlagRangesBeforeWork(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	run := []string{"run", "--config", missing, "--prometheus-url", "http://127.0.0.1:1", "--listen", "127.0.0.1:0"}
	bt := []string{"backtest", "--input", missing}
	minimal := "../../testdata/policies/minimal.yaml"
	plan := []string{"plan", "--config", minimal, "--impact=false"}
	for _, c := range []struct {
		base, args []string
		want       string // "" : accepted (the missing input is reported)
	}{
		{run, []string{"--tick", "0"}, "--tick 0s: must be between 100ms and 1h0m0s"},
		{run, []string{"--tick", "2h"}, "--tick 2h0m0s"},
		{run, []string{"--tick", "150ms"}, ""},
		{run, []string{"--refit", "1ns"}, "--refit 1ns: must be between 1m0s and 1d"},
		{run, []string{"--reselect", "0"}, "--reselect 0s: must be between 1m0s and 30d"},
		{run, []string{"--reselect", "-1s"}, ""}, // negative: at every refit
		{run, []string{"--history", "0"}, "--history 0s: must be between 1h0m0s and 90d"},
		{run, []string{"--history", "1000000h"}, "--history 1000000h0m0s"},
		{run, []string{"--reload", "0"}, "--reload 0s"}, // was a panic in time.NewTicker
		{run, []string{"--backfills", "-1"}, "--backfills -1: must be between 0 and 64"},
		{run, []string{"--backfills", "0"}, ""}, // none
		{run, []string{"--leader-elect", "--lease-duration", "0"}, "--lease-duration 0s"},
		{run, []string{"--leader-elect", "--lease-duration", "15s", "--renew-deadline", "20s"}, "--lease-duration 15s: must be longer than --renew-deadline 20s"},
		{run, []string{"--leader-elect", "--renew-deadline", "2s", "--retry-period", "2s"}, "--renew-deadline 2s: must be longer than 1.2 × --retry-period 2s"},
		{run, []string{"--leader-elect", "--retry-period", "0"}, "--retry-period 0s"},
		{run, []string{"--lease-duration", "0"}, ""}, // without --leader-elect, unused
		{[]string{"run"}, []string{"--days", "0"}, "--days 0: must be between 1 and 180"},
		{[]string{"run"}, []string{"--days", "100000"}, "--days 100000"},
		{[]string{"run"}, []string{"--speed", "NaN"}, "--speed NaN"},
		{[]string{"run"}, []string{"--speed", "-1"}, "--speed -1"},

		{bt, []string{"--hpa-target", "1.5"}, "--hpa-target 1.5: must be in (0, 1]"},
		{bt, []string{"--hpa-target", "0"}, "--hpa-target 0"},
		{bt, []string{"--hpa-target", "NaN"}, "--hpa-target NaN"},
		{bt, []string{"--hpa-target", "1"}, ""},
		{bt, []string{"--predictive-hpa-target", "3"}, "--predictive-hpa-target 3: must be 0 (same as --hpa-target) or in (0, 1]"},
		{bt, []string{"--floor-utilization", "2"}, "--floor-utilization 2"},
		{bt, []string{"--floor-utilization", "-0.1"}, "--floor-utilization -0.1"},
		{bt, []string{"--quantile", "1"}, "--quantile 1: must be a level in (0, 1)"},
		{bt, []string{"--peak-replicas", "0"}, "--peak-replicas 0: must be between 1 and 10000"},
		{bt, []string{"--peak-replicas", "100000000"}, "--peak-replicas 100000000"}, // ran for minutes
		{bt, []string{"--min-replicas", "0"}, "--min-replicas 0"},
		{bt, []string{"--max-replicas", "-3"}, "--max-replicas -3"},
		{bt, []string{"--min-replicas", "10", "--max-replicas", "5"}, "--max-replicas 5: below --min-replicas 10"},
		{bt, []string{"--pods-per-node", "-1"}, "--pods-per-node -1"},
		{bt, []string{"--pods-per-node", "0"}, ""},
		{bt, []string{"--sync-period", "7s"}, "--sync-period 7s: must divide a minute"},
		{bt, []string{"--sync-period", "0"}, "--sync-period 0s"},
		{bt, []string{"--metrics-lag", "-1m"}, "--metrics-lag -1m0s"},
		{bt, []string{"--pod-start", "-1s"}, "--pod-start -1s"},
		{bt, []string{"--node-start", "2h"}, "--node-start 2h0m0s"},
		{bt, []string{"--window", "-5m"}, "--window -5m0s: must be 0 (5m) or between 1m0s and 1d"},
		{bt, []string{"--window", "100000h"}, "--window 100000h0m0s"},
		{bt, []string{"--refit", "1ns"}, "--refit 1ns"},
		{bt, []string{"--history", "-1h"}, "--history -1h0m0s"},
		{bt, []string{"--warmup", "-1h"}, "--warmup -1h0m0s"},
		{bt, []string{"--target", "nothing"}, "--target names a target of --policy"},

		{plan, []string{"--history", "1000000h", "--prometheus-url", "http://127.0.0.1:1"}, "--history 1000000h0m0s: must be between 1h0m0s and 90d"},
		{plan, []string{"--history", "0", "--prometheus-url", "http://127.0.0.1:1"}, "--history 0s"},
	} {
		args := append(append([]string{}, c.base...), c.args...)
		code, _, errOut := runCLI(args...)
		if c.want == "" {
			if code == exitUsage || !strings.Contains(errOut, "missing") {
				t.Errorf("%v: exit %d %q: want the flags accepted and the missing input reported", c.args, code, errOut)
			}
			continue
		}
		if code != exitUsage || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "missing") {
			t.Errorf("%v: exit %d stderr %q; want 2 and %q, before the input is read", c.args, code, errOut, c.want)
		}
	}
}

// TestPlanInputNames: an --input that names no signal plan reads, a target
// no policy has, or a signal its target lacks is an error (exit 2), not
// ignored; one naming a target of the second policy in a directory is not
// an error for the first.
func TestPlanInputNames(t *testing.T) {
	taxi := "../../testdata/nyc_taxi.csv"
	minimal := "../../testdata/policies/minimal.yaml"
	for _, c := range []struct {
		input, want string
	}{
		{"nosuch=" + taxi, `--input nosuch: no signal "nosuch" read from a trace (plan reads demand and dbConnections)`},
		{"latencyP95=" + taxi, `no signal "latencyP95"`},
		{"api.nosuch=" + taxi, `--input api.nosuch: no signal "nosuch"`},
		{"web.demand=" + taxi, `--input web.demand: no target "web" in the policies (targets: api)`},
		{"api.dbConnections=" + taxi, `--input api.dbConnections: target "api" has no signals.dbConnections`},
		{"dbConnections=" + taxi, `--input dbConnections: no target has signals.dbConnections`},
	} {
		code, out, errOut := runCLI("plan", "--config", minimal, "--impact=false", "--input", c.input)
		if code != exitUsage || !strings.Contains(errOut, c.want) || out != "" {
			t.Errorf("--input %s: exit %d %q; want 2 and %q", c.input, code, errOut, c.want)
		}
	}
	// Two policies: a target of the second named; the first plans without it.
	dir := t.TempDir()
	b, err := os.ReadFile(minimal)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	writeFile(t, filepath.Join(dir, "a.yaml"), body)
	writeFile(t, filepath.Join(dir, "b.yaml"), strings.NewReplacer("name: minimal", "name: other", "name: api", "name: web").Replace(body))
	code, out, errOut := runCLI("plan", "--config", dir, "--impact=false", "--input", "web.demand="+taxi)
	if code != exitOK || !strings.Contains(out, "web hpa default/web minReplicas") {
		t.Errorf("web.demand across two policies: exit %d %q\n%s", code, errOut, out)
	}
}

// TestPlanAtBeyondForecast: --at further after a trace's end than the
// forecast's horizon bound is refused, not planned from a forecast years
// ahead.
func TestPlanAtBeyondForecast(t *testing.T) {
	code, _, errOut := runCLI("plan", "--config", "../../testdata/policies/minimal.yaml", "--impact=false",
		"--input", "demand=../../testdata/nyc_taxi.csv", "--at", "2030-01-01T00:00")
	if code != exitUsage || !strings.Contains(errOut, "--at 2030-01-01T00:00:00Z is 261495 steps of 30m0s after the last sample") {
		t.Errorf("exit %d %q", code, errOut)
	}
	code, _, errOut = runCLI("plan", "--config", "../../testdata/policies/minimal.yaml", "--impact=false",
		"--input", "demand=../../testdata/nyc_taxi.csv", "--at", "2015-02-03T00:00")
	if code != exitOK {
		t.Errorf("two days after the trace: exit %d %q", code, errOut)
	}
}

// TestPrometheusConfigStrict: --prometheus-config is decoded strictly (a
// misspelt key is an error naming its line, not a default silently kept,
// inlined HTTP client keys included) and its numbers are ranged (retries
// and backoff wait in the tick: 1e9 retries held the loop for good), and
// its size is bounded before it is read.
func TestPrometheusConfigStrict(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ body, want string }{
		{"url: http://127.0.0.1:1\ntimout: 5s\n", "line 2: field timout not found"},
		{"url: http://127.0.0.1:1\ntls_config:\n  insecure_skip_verifi: true\n", "line 3: field insecure_skip_verifi not found"},
		{"url: http://127.0.0.1:1\nretries: 1000000000\n", "retries 1000000000: between 0 and 5"},
		{"url: http://127.0.0.1:1\nbackoff: 1000h\n", "backoff 41d16h: at most 10s"},
		{"url: http://127.0.0.1:1\n" + strings.Repeat("# padding\n", 110_000), "larger than 1024 KiB"},
	} {
		p := filepath.Join(dir, "prometheus.yaml")
		writeFile(t, p, c.body)
		code, _, errOut := runCLI("run", "--config", "../../testdata/policies/minimal.yaml", "--prometheus-config", p, "--listen", "127.0.0.1:0")
		if code != exitFailure || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d %q, want %q", c.body, code, errOut, c.want)
		}
	}
}
