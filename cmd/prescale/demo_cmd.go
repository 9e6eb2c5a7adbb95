package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

func init() {
	register(command{name: "demo", summary: "the embedded demo: two days of a real trace through the loop, reactive scaling and prescale compared (prescale run without --config)", run: runDemoCmd})
}

const demoExamples = `  # two days of NYC taxi demand replayed through the whole loop (about a minute)
  prescale demo

  # one day, as fast as the machine goes
  prescale demo --days 1 --speed 0`

// runDemoCmd is `prescale run` without --config, under the name a new
// user looks for: the same flags of the demo, the same output.
func runDemoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "demo [--days N] [--speed X] [--listen ADDR]", demoExamples, stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of /metrics, /healthz and /readyz while the demo runs")
	days := fs.Int("days", 2, "days of the trace to replay")
	speed := fs.Float64("speed", 3600, "trace seconds replayed per wall-clock second (0: as fast as possible)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prescale demo: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	return runRun(ctx, []string{"--days", strconv.Itoa(*days), "--speed", strconv.FormatFloat(*speed, 'g', -1, 64), "--listen", *listen}, stdout, stderr)
}
