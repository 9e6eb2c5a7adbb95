package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prescale/prescale/metrics"
)

// TestDemo runs the embedded demo on one day, as fast as possible: its
// first screen must read cleanly (no warnings on stderr, the owner's
// bounds, each change from → to with its reason, the first change starting
// from the owner's minReplicas), and it ends with fail-static counted and
// the comparison table, at equal cost too.
// demoForecastReason is a demo line's reason: the forecast at the quantile in
// force (p30 until the floors are judged, with the default operating
// points; then the one that pays best, or the owner's p90).
var demoForecastReason = regexp.MustCompile(`forecast p\d+ demand`)

func TestDemo(t *testing.T) {
	code, out, errOut := runCLI("run", "--days", "1", "--speed", "0", "--listen", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.TrimSpace(errOut) != "" {
		t.Errorf("the demo wrote to stderr (warnings on the first screen):\n%s", errOut)
	}
	if !strings.Contains(out, "the owner's HPA: minReplicas 1, maxReplicas 40 (floors stay within 1..40)") {
		t.Errorf("no owner's bounds in the header:\n%s", out)
	}
	decision := regexp.MustCompile(`(?m)^  \d\d:\d\d  dispatch minReplicas +(\d+) → +(\d+)  (.*)$`)
	lines := decision.FindAllStringSubmatch(out, -1)
	if len(lines) < 5 {
		t.Fatalf("%d decision lines, want several:\n%s", len(lines), out)
	}
	if lines[0][1] != "1" {
		t.Errorf("first change from %s, want the owner's minReplicas 1: %s", lines[0][1], lines[0][0])
	}
	for i, l := range lines {
		if l[1] == l[2] {
			t.Errorf("a change from %s to itself: %s", l[1], l[0])
		}
		if i > 0 && l[1] != lines[i-1][2] {
			t.Errorf("change %d starts at %s, the previous ended at %s", i, l[1], lines[i-1][2])
		}
		if !demoForecastReason.MatchString(l[3]) && !strings.Contains(l[3], "fail-static") {
			t.Errorf("change without its reason: %s", l[0])
		}
		if len(l[0]) > 160 {
			t.Errorf("decision line of %d characters: %s", len(l[0]), l[0])
		}
	}
	if !regexp.MustCompile(`(?m)^(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day 2015-01-\d\d \(EST\)$`).MatchString(out) {
		t.Errorf("no day heading:\n%s", out)
	}
	fs := regexp.MustCompile(`(?m)^fail-static: (\d+) of (\d+) ticks`).FindStringSubmatch(out)
	if fs == nil || fs[2] == "0" {
		t.Errorf("no fail-static count:\n%s", out)
	}
	for _, want := range []string{"reactive: the HPA alone at 70%", "prescale: the HPA + forecast floors", "reactive run cooler, same cost",
		"unserved demand", "replica-hours", "metrics on http://127.0.0.1:", "At equal cost"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	row := regexp.MustCompile(`(?m)^  prescale: the HPA \+ forecast floors +([\d.]+)%\s+([\d.]+)\s+(\d+)`)
	if m := row.FindStringSubmatch(out); m == nil {
		t.Errorf("no prescale row in the summary:\n%s", out)
	}
}

// The README shows the demo's first lines and its closing table as the
// demo prints them (two days): when a change to the forecast or the loop
// moves them, this test says to update the README.
func TestDemoAsInReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(after string) []string {
		_, rest, ok := strings.Cut(string(b), after+"\n\n```\n")
		body, _, ok2 := strings.Cut(rest, "```")
		if !ok || !ok2 {
			t.Fatalf("README has no block after %q", after)
		}
		return strings.Split(strings.TrimRight(body, "\n"), "\n")
	}
	code, out, errOut := runCLI("demo", "--speed", "0", "--listen", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, decisions, _ := strings.Cut(out, "\n\n")
	first := block("Its first lines:")
	if !strings.HasPrefix(decisions, strings.Join(first, "\n")+"\n") {
		t.Errorf("README's first demo lines are not the demo's (update the README):\n%s\n--- the demo prints:\n%s", strings.Join(first, "\n"), strings.Join(strings.SplitN(decisions, "\n", len(first)+1)[:len(first)], "\n"))
	}
	for _, l := range block("and its last, today (2 days):") {
		if !strings.Contains(out, l+"\n") {
			t.Errorf("README's demo table line is not the demo's (update the README): %q\n%s", l, out[strings.LastIndex(out, "fail-static:"):])
		}
	}
}

// `prescale demo` is `prescale run` without --config: the same screen.
func TestDemoCommand(t *testing.T) {
	args := []string{"--days", "1", "--speed", "0", "--listen", "127.0.0.1:0"}
	code, out, errOut := runCLI(append([]string{"demo"}, args...)...)
	if code != exitOK || strings.TrimSpace(errOut) != "" {
		t.Fatalf("prescale demo: exit %d, stderr %q", code, errOut)
	}
	_, want, _ := runCLI(append([]string{"run"}, args...)...)
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	if got, want := addr.ReplaceAllString(out, "ADDR"), addr.ReplaceAllString(want, "ADDR"); got != want {
		t.Errorf("prescale demo and prescale run differ:\n%s\n---\n%s", got, want)
	}
	if code, _, errOut := runCLI("demo", "extra"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("prescale demo extra: exit %d, %q", code, errOut)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	exp := metrics.NewExporter("test", nil)
	notReady := errors.New("history not backfilled")
	var isReady atomic.Bool
	addr, stop, err := serveMetrics("127.0.0.1:0", exp, func() error {
		if isReady.Load() {
			return nil
		}
		return notReady
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "prescale_build_info") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics: %d %.200s", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "history not backfilled") {
		t.Errorf("/readyz before ready: %d %s", code, body)
	}
	isReady.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz when ready: %d", code)
	}
}

func TestRunDaemonBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--listen", "127.0.0.1:0"}, exitFailure, "--prometheus-config or --prometheus-url is required"},
		{[]string{"run", "--config", "../../testdata/policies/invalid.yaml", "--prometheus-url", "http://127.0.0.1:1"}, exitFailure, "invalid.yaml:"},
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--prometheus-url", "prometheus:9090"}, exitFailure, "want http(s)://"},
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--prometheus-url", "http://127.0.0.1:1", "--kubeconfig", "/nonexistent"}, exitFailure, "kubernetes client"},
		{[]string{"run", "--log-level", "loud"}, exitUsage, "--log-level"},
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--refit", "0s"}, exitUsage, "--refit 0s: must be between 1m0s and 1d"},
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--reselect", "0s"}, exitUsage, "--reselect 0s: must be between 1m0s and 30d"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
