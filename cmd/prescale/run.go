package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"

	"github.com/prescale/prescale/metrics"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func init() {
	register(command{name: "run", summary: "run the daemon; with no --config, the embedded demo", run: runRun})
}

const runExamples = `  # the embedded demo: two days of a real trace replayed through the whole
  # loop against a simulated cluster, reactive scaling and prescale compared
  prescale run

  # the same, a day, as fast as the machine goes
  prescale run --days 1 --speed 0

  # the daemon
  prescale run --config /etc/prescale/policy --prometheus-config /etc/prescale/prometheus.yaml --leader-elect

  # the daemon, with the policies from ScalingPolicy objects (kubectl get scalingpolicies -A)
  prescale run --scalingpolicies --namespace prescale-system --prometheus-url http://prometheus:9090`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", "run [--config FILE|DIR ...] [flags]", runExamples, stdout, stderr)
	var configs stringList
	fs.Var(&configs, "config", "policy file or directory (repeatable); without it, the embedded demo runs")
	listen := fs.String("listen", "127.0.0.1:8080", "address of /metrics, /healthz and /readyz")
	days := fs.Int("days", 2, "demo: days of the trace to replay")
	speed := fs.Float64("speed", 3600, "demo: trace seconds replayed per wall-clock second (0: as fast as possible)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	d := addDaemonFlags(fs)
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prescale run: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "prescale run: --log-level %q: want debug, info, warn or error\n", *logLevel)
		return exitUsage
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if len(configs) == 0 && !d.scalingPolicies {
		if err := checkDemoFlags(*days, *speed); err != nil {
			fmt.Fprintf(stderr, "prescale run: %v\n", err)
			return exitUsage
		}
		// The demo prints decisions on stdout; logs only matter when
		// something goes wrong.
		demoLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)}))
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) && *speed > 0 {
			fmt.Fprintln(stderr, "(Ctrl-C stops the demo)")
		}
		if err := runDemo(ctx, demoOptions{days: *days, speed: *speed, listen: *listen}, stdout, stderr, demoLog); err != nil {
			fmt.Fprintf(stderr, "prescale run: demo: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	if err := checkDaemonFlags(d); err != nil {
		fmt.Fprintf(stderr, "prescale run: %v\n", err)
		return exitUsage
	}
	d.configs = configs
	d.listen = *listen
	if err := runDaemon(ctx, d, logger); err != nil {
		fmt.Fprintf(stderr, "prescale run: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// httpHandler serves the exporter's metrics and the probes. ready reports
// why the daemon is not ready (nil: ready); nil ready means always ready.
func httpHandler(exp *metrics.Exporter, ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(exp.Registry, promhttp.HandlerOpts{Registry: exp.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
