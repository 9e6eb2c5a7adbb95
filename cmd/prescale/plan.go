package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // policies name IANA zones; a distroless image has none

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/policy"
)

func init() {
	register(command{name: "plan", summary: "print what the policy would set now or at a time, with reasons", run: runPlan})
}

const planExamples = `  # what the pricing policy wants at 08:45 New York time on a trading day
  prescale plan --config deploy/examples/pricing-trading-hours.yaml --at 2026-03-10T08:45

  # with a demand trace instead of Prometheus, as JSON
  prescale plan --config deploy/examples/ticketing-on-sale.yaml --input demand=testdata/nyc_taxi.csv \
      --at 2015-01-20T09:00 --json

  # against live state, read-only: forecasts from Prometheus, the HPAs,
  # ScaledObjects, node groups, databases and caches as they are now
  prescale plan --config pricing.yaml --prometheus-url http://localhost:9090 --kubeconfig ~/.kube/config

  # the same for the ScalingPolicies in the cluster (kubectl get scalingpolicies -A),
  # decoded and checked as the daemon does
  prescale plan --prometheus-url http://localhost:9090 --kubeconfig ~/.kube/config

  # the plan follows the impact report's verdict, as the daemon does (a target
  # whose floors do not pay keeps its rules and owner values; one judged at an
  # operating point is sized at it); the raw forecast plan at capacity.quantile:
  prescale plan --config web.yaml --input demand=testdata/elb_request_count_8c0756.csv --no-stand-down

  # per-target signals: TARGET.SIGNAL=FILE (signals: demand, dbConnections,
  # latencyP95 in seconds, cacheHitRatio, or an extra signal such as vix)
  prescale plan --config pricing.yaml --input gateway.demand=gw.csv --input vix=vix.csv`

// inputFlag collects repeated --input SIGNAL=FILE.csv flags.
type inputFlag []traceInput

type traceInput struct {
	target, signal, file string
}

// String implements flag.Value.
func (f *inputFlag) String() string { return fmt.Sprint(*f) }

// Set implements flag.Value: one SIGNAL=FILE or TARGET.SIGNAL=FILE.
func (f *inputFlag) Set(v string) error {
	key, file, ok := strings.Cut(v, "=")
	if !ok || key == "" || file == "" {
		return fmt.Errorf("want SIGNAL=FILE.csv or TARGET.SIGNAL=FILE.csv, got %q", v)
	}
	in := traceInput{signal: key, file: file}
	if t, s, ok := strings.Cut(key, "."); ok {
		in.target, in.signal = t, s
	}
	*f = append(*f, in)
	return nil
}

// planOutput is the JSON of `prescale plan --json`.
type planOutput struct {
	At        string            `json:"at"`
	Resources []policy.Resource `json:"resources"`
	// Impact is each target's impact report, from its demand history
	// (absent without one, or with --impact=false).
	Impact []targetImpactJSON `json:"impact,omitempty"`
}

// maxWarmup is the longest --warmup: a month of one-minute ticks, enough
// for an event's week-ahead steps and a 72-hour hysteresis after it.
const maxWarmup = 31 * 24 * time.Hour

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("plan", "plan --config FILE.yaml|DIR [--at TIME] [--json] [--input SIGNAL=FILE.csv ...] | plan --prometheus-url URL [--config FILE|DIR] [--kubeconfig FILE]", planExamples, stdout, stderr)
	cfg := fs.String("config", "", "policy file or directory (required without --prometheus-url; with it and without --config, the cluster's ScalingPolicies are planned)")
	atFlag := fs.String("at", "", "instant to plan for: RFC 3339, or YYYY-MM-DDTHH:MM in the policy's time zone (default: now, or just after the traces' last sample)")
	asJSON := fs.Bool("json", false, "print JSON")
	warmup := fs.Duration("warmup", 30*time.Minute, "tick every minute for this long before --at, as a running daemon would, carrying each tick's planned values into the next as if applied (max step up, stabilisation, rates, a class planned earlier, hysteresis, change windows); 0 plans the first tick of a fresh daemon")
	withImpact := fs.Bool("impact", true, "with a demand history (--input or --prometheus-url): report what each target's forecast floors would have done over its last 7 and 14 days against the HPA alone, and whether the daemon would stand them down (replays the policy with a refit every 15 minutes: seconds per target); the plan follows that verdict as the daemon does")
	noStandDown := fs.Bool("no-stand-down", false, "print the forecast plan at each target's capacity.quantile whatever the impact report's verdict (by default the plan follows it as the daemon does: a target whose floors do not pay stands down to its rules and owner values, one judged at an operating point has its floors sized at that quantile, one whose history is too short to judge starts at its lowest operating point)")
	var inputs inputFlag
	fs.Var(&inputs, "input", "trace CSV for a signal, SIGNAL=FILE.csv or TARGET.SIGNAL=FILE.csv (repeatable)")
	var lo liveOptions
	fs.StringVar(&lo.prometheusURL, "prometheus-url", "", "plan against live state: signals' history from this Prometheus, the resources' current values read (never written) from the cluster (--kubeconfig) and AWS (the default credential chain)")
	fs.StringVar(&lo.kubeconfig, "kubeconfig", "", "with --prometheus-url: kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
	fs.StringVar(&lo.kubeContext, "context", "", "with --prometheus-url: kubeconfig context (default: the current one)")
	fs.DurationVar(&lo.history, "history", 14*24*time.Hour, "with --prometheus-url: history read per signal")
	fs.BoolVar(&lo.noAWS, "no-aws", false, "with --prometheus-url: do not read AWS (node groups, databases and caches keep the policy's values)")
	fs.StringVar(&lo.namespace, "namespace", "", "with --prometheus-url and no --config: plan the ScalingPolicies of this namespace only (default: all)")
	fs.StringVar(&lo.prescaleNamespace, "prescale-namespace", "prescale", "with --prometheus-url and no --config: prescale's own namespace, the only one whose ScalingPolicies may name node groups, databases and caches (as the daemon's --namespace)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prescale plan: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *cfg == "" && lo.prometheusURL == "" {
		fmt.Fprintln(stderr, "prescale plan: --config is required, or --prometheus-url to plan the cluster's ScalingPolicies (see --help)")
		return exitUsage
	}
	if *cfg != "" && (lo.namespace != "" || lo.prescaleNamespace != "prescale") {
		fmt.Fprintln(stderr, "prescale plan: --namespace and --prescale-namespace choose the cluster's ScalingPolicies: not with --config")
		return exitUsage
	}
	if *warmup < 0 || *warmup > maxWarmup {
		fmt.Fprintf(stderr, "prescale plan: --warmup must be between 0 and %s\n", maxWarmup)
		return exitUsage
	}
	var policies []*config.Policy
	var err error
	var warnings []string
	if *cfg == "" {
		// The cluster's ScalingPolicies, as the daemon takes them.
		policies, warnings, err = clusterPolicies(ctx, lo, lo.namespace, lo.prescaleNamespace)
		if err != nil {
			fmt.Fprintf(stderr, "prescale plan: %v\n", err)
			return exitFailure
		}
		if len(policies) == 0 {
			for _, w := range warnings {
				fmt.Fprintf(stderr, "warning: %s\n", w)
			}
			fmt.Fprintln(stderr, "prescale plan: no ScalingPolicy the daemon would accept in the cluster (kubectl get scalingpolicies -A); or give --config")
			return exitFailure
		}
	} else {
		policies, err = config.Load(*cfg)
	}
	if err != nil {
		var problems config.Problems
		if errors.As(err, &problems) {
			fmt.Fprintf(stderr, "prescale plan: the policy does not validate:\n%v\n", err)
		} else {
			fmt.Fprintf(stderr, "prescale plan: %v\n", err)
		}
		return exitFailure
	}
	if len(policies) == 0 {
		fmt.Fprintf(stderr, "prescale plan: no policy in %s\n", *cfg)
		return exitFailure
	}
	if lo.prometheusURL != "" && len(inputs) > 0 {
		fmt.Fprintln(stderr, "prescale plan: --input and --prometheus-url are exclusive")
		return exitUsage
	}
	if lo.prometheusURL == "" && (lo.kubeconfig != "" || lo.kubeContext != "" || lo.noAWS) {
		fmt.Fprintln(stderr, "prescale plan: --kubeconfig, --context and --no-aws go with --prometheus-url")
		return exitUsage
	}
	var hc flagChecks
	hc.dur("--history", lo.history, minHistory, maxHistory)
	if hc.err != nil {
		fmt.Fprintf(stderr, "prescale plan: %v\n", hc.err)
		return exitUsage
	}
	if err := checkInputNames(policies, inputs); err != nil {
		fmt.Fprintf(stderr, "prescale plan: %v\n", err)
		return exitUsage
	}
	series := map[string]forecast.Series{}
	var lastSample time.Time
	for _, in := range inputs {
		if _, ok := series[in.file]; ok {
			continue
		}
		s, err := trace.ReadFile(in.file)
		if err != nil {
			fmt.Fprintf(stderr, "prescale plan: --input %s: %v\n", in.signal, err)
			return exitFailure
		}
		series[in.file] = s
		if s.Len() > 0 && s.End().After(lastSample) {
			lastSample = s.End().Add(s.Step)
		}
	}
	at := time.Now()
	if *atFlag != "" {
		at, err = config.ParseTime(*atFlag, policies[0].Location)
		if err != nil {
			fmt.Fprintf(stderr, "prescale plan: --at: %v\n", err)
			return exitUsage
		}
	} else if !lastSample.IsZero() {
		at = lastSample
	}
	for _, in := range inputs {
		// The forecast reaches from the trace's end to --at: past the
		// forecast command's own bound it is not a forecast any more.
		s := series[in.file]
		if s.Len() == 0 || s.Step <= 0 {
			continue
		}
		if steps := at.Sub(s.End()) / s.Step; steps > maxHorizon {
			fmt.Fprintf(stderr, "prescale plan: --at %s is %d steps of %s after the last sample of %s (%s): at most %d, the forecast's horizon bound\n",
				at.Format(time.RFC3339), steps, s.Step, in.file, s.End().Format(time.RFC3339), maxHorizon)
			return exitUsage
		}
	}
	var lp *livePlan
	warnings = append(warnings, planDSTWarnings(policies, *atFlag, at.Add(-*warmup), at)...)
	if lo.prometheusURL != "" {
		var notes []string
		lp, notes, err = liveInputs(ctx, lo, policies, at, &inputs, series)
		if err != nil {
			fmt.Fprintf(stderr, "prescale plan: %v\n", err)
			return exitFailure
		}
		warnings = append(warnings, notes...)
	}

	out := planOutput{At: at.Format(time.RFC3339), Resources: []policy.Resource{}}
	for _, p := range policies {
		in, notes, err := traceInputs(p, inputs, series, at.Add(-*warmup), at)
		if err != nil {
			fmt.Fprintf(stderr, "prescale plan: policy %s: %v\n", p.Metadata.Name, err)
			return exitFailure
		}
		warnings = append(warnings, notes...)
		var note string
		if in.Current, note = lp.current(ctx, p); note != "" {
			warnings = append(warnings, note)
		}
		if *withImpact {
			ims, err := planImpact(ctx, p, inputs, series, at, controller.StandDownMargin)
			if err != nil {
				fmt.Fprintf(stderr, "prescale plan: policy %s: %v\n", p.Metadata.Name, err)
				return exitFailure
			}
			in.StoodDown, in.OperatingPoint, in.OperatingWhy = followVerdicts(p, ims, !*noStandDown)
			out.Impact = append(out.Impact, ims...)
		}
		e := policy.NewEngine(p)
		var st policy.State
		var plan policy.Plan
		// The warm-up carries what each tick planned into the next tick's
		// live state, as if applied: a class planned earlier is the class
		// now, so hysteresis and change windows show in the preview.
		// Against live state nothing is carried: every tick sees what is
		// really in place, and the plan reads from it.
		var cur policy.Current
		for t := at.Add(-*warmup); !t.After(at); t = t.Add(time.Minute) {
			tin := observedAt(in, p, inputs, series, t)
			tin.Current = cur
			if lp != nil {
				tin.Current = in.Current
			}
			plan, st = e.Plan(t, st, tin)
			cur.Carry(plan, nil)
		}
		out.Resources = append(out.Resources, plan.Resources...)
		for _, w := range plan.Warnings {
			warnings = append(warnings, fmt.Sprintf("policy %s: %s", p.Metadata.Name, strings.TrimPrefix(w, "WARNING: ")))
		}
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "prescale plan: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	printPlan(stdout, out)
	printImpact(stdout, out.Impact)
	return exitOK
}

// traceInputs fits a forecast on each demand and dbConnections trace,
// using only the samples before from (no peeking at the future being
// planned), far enough ahead to cover every lead time and window after to.
func traceInputs(p *config.Policy, inputs inputFlag, series map[string]forecast.Series, from, to time.Time) (policy.Inputs, []string, error) {
	in := policy.Inputs{Forecasts: map[string]map[string]*forecast.Forecast{}}
	var notes []string
	type key struct {
		file  string
		qs    string
		ahead time.Duration
	}
	fitted := map[key]*forecast.Forecast{}
	for _, t := range p.Spec.Targets {
		// As the daemon does: each target's forecast reaches as far as
		// its own plans read it (policy.TargetLookAhead).
		ahead := policy.TargetLookAhead(p, &t)
		for _, ti := range inputs {
			if (ti.target != "" && ti.target != t.Name) || (ti.signal != "demand" && ti.signal != "dbConnections") {
				continue
			}
			if ti.target == "" && hasSpecific(inputs, t.Name, ti.signal) {
				continue
			}
			s := series[ti.file]
			hist := before(s, from)
			if hist.Observed() < 2 {
				notes = append(notes, fmt.Sprintf("%s %s: %s has no history before %s; no forecast", t.Name, ti.signal, ti.file, from.Format(time.RFC3339)))
				continue
			}
			qs := t.Capacity.Levels()
			k := key{ti.file, fmt.Sprint(qs), ahead}
			f := fitted[k]
			if f == nil {
				end := hist.End().Add(hist.Step)
				h := int(math.Ceil(float64(to.Add(ahead).Sub(end))/float64(hist.Step))) + 1
				var err error
				f, err = forecast.Auto(hist, forecast.Options{Horizon: max(h, 1), Quantiles: qs, Location: p.Location})
				if err != nil {
					return in, nil, fmt.Errorf("forecast of %s: %w", ti.file, err)
				}
				fitted[k] = f
			}
			if in.Forecasts[t.Name] == nil {
				in.Forecasts[t.Name] = map[string]*forecast.Forecast{}
			}
			in.Forecasts[t.Name][ti.signal] = f
		}
	}
	return in, notes, nil
}

func hasSpecific(inputs inputFlag, target, signal string) bool {
	for _, ti := range inputs {
		if ti.target == target && ti.signal == signal {
			return true
		}
	}
	return false
}

// before returns the part of s strictly before t.
func before(s forecast.Series, t time.Time) forecast.Series {
	n := 0
	for n < s.Len() && s.Time(n).Before(t) {
		n++
	}
	return s.Slice(0, n)
}

// observedAt sets each target's observed signals to the last value of its
// trace at or before t, with the forecasts of in.
func observedAt(in policy.Inputs, p *config.Policy, inputs inputFlag, series map[string]forecast.Series, t time.Time) policy.Inputs {
	in.Observed = map[string]map[string]float64{}
	for _, tg := range p.Spec.Targets {
		for _, ti := range inputs {
			if ti.target != "" && ti.target != tg.Name {
				continue
			}
			if ti.target == "" && hasSpecific(inputs, tg.Name, ti.signal) {
				continue
			}
			s := series[ti.file]
			for i := min(s.Len()-1, int(t.Sub(s.Start)/max(s.Step, 1))); i >= 0; i-- {
				if v := s.Values[i]; !math.IsNaN(v) && !s.Time(i).After(t) {
					if in.Observed[tg.Name] == nil {
						in.Observed[tg.Name] = map[string]float64{}
					}
					in.Observed[tg.Name][ti.signal] = v
					break
				}
			}
		}
	}
	return in
}

func printPlan(w io.Writer, out planOutput) {
	fmt.Fprintf(w, "plan at %s\n", out.At)
	for _, r := range out.Resources {
		change := "="
		if r.Changed() {
			change = "→"
		}
		fmt.Fprintf(w, "\n%s %s %s %s: %v %s %v\n", r.Target, r.Kind, r.Name, r.Field, r.Current, change, r.Desired)
		for _, why := range r.Reasons {
			fmt.Fprintf(w, "    - %s\n", why)
		}
	}
}

// traceSignals are the signals plan reads from --input traces.
var traceSignals = []string{"demand", "dbConnections"}

// checkInputNames checks that every --input names a signal plan reads from
// a trace and, where it names a target, a target of the policies that has
// that signal: an input that would be read for nothing is an error, not
// silently ignored.
func checkInputNames(policies []*config.Policy, inputs inputFlag) error {
	has := func(t *config.Target, signal string) bool {
		return signal == "demand" || t.Signals.DBConnections != nil
	}
	for _, in := range inputs {
		name := in.signal
		if in.target != "" {
			name = in.target + "." + in.signal
		}
		if !slices.Contains(traceSignals, in.signal) {
			return fmt.Errorf("--input %s: no signal %q read from a trace (plan reads %s)", name, in.signal, strings.Join(traceSignals, " and "))
		}
		var targets []string
		found, with := false, false
		for _, p := range policies {
			for i := range p.Spec.Targets {
				t := &p.Spec.Targets[i]
				targets = append(targets, t.Name)
				if in.target == "" || t.Name == in.target {
					found = true
					with = with || has(t, in.signal)
				}
			}
		}
		switch {
		case !found:
			return fmt.Errorf("--input %s: no target %q in the policies (targets: %s)", name, in.target, strings.Join(targets, ", "))
		case !with && in.target != "":
			return fmt.Errorf("--input %s: target %q has no signals.%s", name, in.target, in.signal)
		case !with:
			return fmt.Errorf("--input %s: no target has signals.%s", name, in.signal)
		}
	}
	return nil
}
