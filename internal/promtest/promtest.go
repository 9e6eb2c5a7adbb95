// Package promtest runs a real Prometheus server for integration tests: it
// backfills a TSDB from OpenMetrics text with promtool and serves it on a
// free loopback port with no scraping, so that tests query exactly the data
// they wrote.
//
// The binaries come from scripts/prometheus.sh (Debian's prometheus
// package). When they are missing, tests are skipped with a pointer to that
// script, unless PRESCALE_REQUIRE_REAL_PARTS=1 (set by scripts/test.sh, and
// so in CI), where they fail.
package promtest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Require returns the paths of prometheus and promtool, or skips (or fails,
// where real parts are required) the test.
func Require(tb testing.TB) (prometheus, promtool string) {
	tb.Helper()
	p, err1 := exec.LookPath("prometheus")
	t, err2 := exec.LookPath("promtool")
	if err1 != nil || err2 != nil {
		msg := "prometheus or promtool not on PATH: run scripts/prometheus.sh (the README test command does)"
		if os.Getenv("PRESCALE_REQUIRE_REAL_PARTS") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return p, t
}

// Sample is one OpenMetrics sample: labels in {} form without braces, e.g.
// `instance="a"`, a Unix time in seconds and a value.
type Sample struct {
	Labels string
	Time   int64
	Value  float64
}

// Backfill writes the samples of one counter family as OpenMetrics text and
// turns them into TSDB blocks in dir with promtool. Samples of each series
// must be in time order.
func Backfill(tb testing.TB, promtool, dir, family string, samples []Sample) {
	tb.Helper()
	om := filepath.Join(tb.TempDir(), "data.om")
	f, err := os.Create(om)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "# HELP %s Requests served.\n# TYPE %s counter\n", family, family)
	for _, s := range samples {
		// OpenMetrics timestamps are seconds (milliseconds would land
		// thousands of years ahead, silently).
		fmt.Fprintf(w, "%s_total{%s} %s %d\n", family, s.Labels, strconv.FormatFloat(s.Value, 'g', -1, 64), s.Time)
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "-q", om, dir).CombinedOutput()
	if err != nil {
		tb.Fatalf("promtool create-blocks-from openmetrics: %v\n%s", err, out)
	}
}

// Server is a running Prometheus.
type Server struct {
	URL  string
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	log  string
	tb   testing.TB
}

// Start serves the TSDB in dir on a free loopback port, and stops the
// server when the test ends. Prometheus compacts backfilled blocks a
// minute after it starts and writes into dir: give each server a copy.
func Start(tb testing.TB, prometheus, dir string) *Server {
	tb.Helper()
	s := &Server{bin: prometheus, dir: dir, port: freePort(tb), tb: tb}
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	tb := s.tb
	tb.Helper()
	cfg := filepath.Join(tb.TempDir(), "prometheus.yml")
	// No scrape_configs: the server scrapes nothing, not even itself.
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1m\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	s.log = filepath.Join(tb.TempDir(), "prometheus.log")
	logf, err := os.Create(s.log)
	if err != nil {
		tb.Fatal(err)
	}
	s.cmd = exec.Command(s.bin, "--config.file="+cfg, "--storage.tsdb.path="+s.dir,
		"--storage.tsdb.retention.time=36500d", "--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", s.port))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("starting prometheus: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(s.log)
	tb.Fatalf("prometheus not ready after 30s:\n%s", out)
}

// Stop stops the server (it can be started again with Restart).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart() {
	s.tb.Helper()
	s.start()
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
