package main

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prescale/prescale/metrics"
)

// TestDemo runs the embedded demo on one day, as fast as possible: it must
// print decisions with their reasons and the comparison table.
func TestDemo(t *testing.T) {
	code, out, errOut := runCLI("run", "--days", "1", "--speed", "0", "--listen", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	decision := regexp.MustCompile(`(?m)^\w{3} 2015-01-\d\d \d\d:\d\d EST  dispatch minReplicas +\d+ → +\d+  forecast p90 demand`)
	if n := len(decision.FindAllString(out, -1)); n < 5 {
		t.Errorf("%d decision lines, want several:\n%s", n, out)
	}
	for _, want := range []string{"reactive", "prescale", "unserved demand", "replica-hours", "metrics on http://127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	row := regexp.MustCompile(`(?m)^\s+prescale\s+([\d.]+)%\s+(\d+)\s+([\d.]+)\s+(\d+)`)
	if m := row.FindStringSubmatch(out); m == nil {
		t.Errorf("no prescale row in the summary:\n%s", out)
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
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--refit", "0s"}, exitUsage, "--refit must be positive"},
		{[]string{"run", "--config", "../../testdata/policies/minimal.yaml", "--reselect", "0s"}, exitUsage, "--reselect not zero"},
	}
	for _, c := range cases {
		code, _, errOut := runCLI(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
