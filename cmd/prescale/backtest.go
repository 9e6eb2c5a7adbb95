package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
	"github.com/prescale/prescale/sim/simplot"
)

func init() {
	register(command{name: "backtest", summary: "replay a trace through a simulated cluster: reactive vs schedule vs predictive vs oracle", run: runBacktest})
}

const backtestExamples = `  # compare the strategies on a trace, as a table
  prescale backtest --input testdata/nyc_taxi.csv --timezone America/New_York

  # the same as JSON, and a plot of demand against each strategy's ready capacity
  prescale backtest --input testdata/nyc_taxi.csv --json --plot nyc_taxi.png

  # pods sized so that the trace's peak needs 40 of them; slower nodes
  prescale backtest --input trace.csv --peak-replicas 40 --node-start 5m

  # floors planned by a policy's engine (its capacity model, rules and limits)
  prescale backtest --input testdata/nyc_taxi.csv --policy policy.yaml --target api

  # where each strategy leaves demand unserved, by hour of the trading day
  prescale backtest --input qqq.csv --timezone America/New_York --by-hour

  # how much of the predictive result is the forecast's error: the same
  # floors from a perfect forecast
  prescale backtest --input testdata/nyc_taxi.csv --perfect-forecast

  # how much better the forecast would have to be: floors from a forecast
  # with 40% of its error (in log terms), judged and compared as usual
  prescale backtest --input qqq.csv --timezone America/New_York --forecast-error 0.4`

// backtestJSON is the DESIGN.md contract: per strategy exactly these keys
// (node_hours too, since nodes are modelled unless --pods-per-node 0).
type backtestJSON struct {
	Strategies map[string]strategyJSON `json:"strategies"`
	// ReactiveCurve is reactive's cost–unserved curve over the HPA targets
	// swept, by replica-hours ascending.
	ReactiveCurve []curvePointJSON `json:"reactive_curve,omitempty"`
}

type curvePointJSON struct {
	HPATarget        float64 `json:"hpa_target"`
	ReplicaHours     float64 `json:"replica_hours"`
	UnservedFraction float64 `json:"unserved_fraction"`
}

// equalCostJSON places a strategy on reactive's curve. A *_bound key is
// true when reactive would need an HPA target outside the sweep's limits
// (0.10..1), so the value is the sweep's endpoint: a bound, not a point.
type equalCostJSON struct {
	// ReactiveUnservedFraction is what reactive leaves unserved for the
	// strategy's replica-hours; UnservedRatio the strategy's unserved over it.
	ReactiveUnservedFraction float64  `json:"reactive_unserved_fraction"`
	UnservedRatio            *float64 `json:"unserved_ratio"`
	UnservedBound            bool     `json:"unserved_bound"`
	// ReactiveReplicaHours is what reactive spends to leave no more
	// unserved than the strategy; ReplicaHoursRatio the strategy's
	// replica-hours over it.
	ReactiveReplicaHours float64 `json:"reactive_replica_hours"`
	ReplicaHoursRatio    float64 `json:"replica_hours_ratio"`
	ReplicaHoursBound    bool    `json:"replica_hours_bound"`
}

type strategyJSON struct {
	UnservedFraction        float64  `json:"unserved_fraction"`
	UnderprovisionedMinutes float64  `json:"underprovisioned_minutes"`
	ReplicaHours            float64  `json:"replica_hours"`
	Actuations              int      `json:"actuations"`
	NodeHours               *float64 `json:"node_hours,omitempty"`
	// EqualCost is the strategy on reactive's cost–unserved curve (not for
	// the oracle, nor with --sweep none).
	EqualCost *equalCostJSON `json:"equal_cost,omitempty"`
	// UnservedByHour is, with --by-hour, the unserved demand in each local
	// hour of the day (0..23, in --timezone) as a share of all the demand
	// evaluated: the 24 add up to unserved_fraction (not for the oracle).
	UnservedByHour []float64 `json:"unserved_by_hour,omitempty"`
	// StandDown is the predictive floors' judgement of themselves (only
	// predictive, not with --no-stand-down).
	StandDown *standDownJSON `json:"stand_down,omitempty"`
}

// standDownJSON: the predictive strategy judges its floors every day on
// its last 14 days against a cooler HPA at equal cost.
type standDownJSON struct {
	Judgements int `json:"judgements"`
	// StoodDownFraction is the share of plan decisions made stood down.
	StoodDownFraction float64 `json:"stood_down_fraction"`
	// StoodDown and Why are the last judgement.
	StoodDown bool   `json:"stood_down"`
	Why       string `json:"why,omitempty"`
	// OperatingPoint is the quantile in force at the end and
	// OperatingFractions the share of plan decisions made at each (by
	// quantile, as "0.5"), with --operating-points.
	OperatingPoint     float64            `json:"operating_point,omitempty"`
	OperatingFractions map[string]float64 `json:"operating_fractions,omitempty"`
}

func newEqualCostJSON(r sim.Result, e sim.EqualCost) *equalCostJSON {
	j := &equalCostJSON{
		ReactiveUnservedFraction: e.ReactiveUnserved,
		UnservedBound:            e.UnservedPosition == sim.Beyond,
		ReactiveReplicaHours:     e.ReactiveReplicaHours,
		ReplicaHoursBound:        e.ReplicaHoursPosition == sim.Beyond,
	}
	if e.ReactiveUnserved > 0 {
		u := r.UnservedFraction / e.ReactiveUnserved
		j.UnservedRatio = &u
	}
	if e.ReactiveReplicaHours > 0 {
		j.ReplicaHoursRatio = r.ReplicaHours / e.ReactiveReplicaHours
	}
	return j
}

func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backtest", "backtest --input FILE.csv [--policy FILE.yaml] [--peak-replicas N] [--json] [--plot FILE.png]", backtestExamples, stdout, stderr)
	input := fs.String("input", "", "trace CSV with header timestamp,value (required)")
	policyFile := fs.String("policy", "", "policy YAML: its engine plans the schedule (rules only) and predictive (forecast and rules) floors, and its target's capacity.perPod, targetUtilization and HPA bounds set up the cluster")
	targetName := fs.String("target", "", "with --policy: the target to simulate (default: the policy's first)")
	peak := fs.Int("peak-replicas", 20, "size pods so that the trace's peak needs N ready pods (c = peak / N)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	plotFile := fs.String("plot", "", "write a PNG of demand against each strategy's ready capacity")
	byHour := fs.Bool("by-hour", false, "also split each strategy's unserved demand by local hour of the day (--timezone), to see where it loses: the open, the close, noise through the day")
	tz := fs.String("timezone", "", "IANA time zone of the trace's daily and weekly cycles (default UTC, or the policy's spec.timeZone)")
	def := sim.DefaultConfig(1)
	target := fs.Float64("hpa-target", def.TargetUtilization, "HPA target utilisation, as a fraction of a pod's capacity (with --policy: capacity.targetUtilization)")
	sync := fs.Duration("sync-period", def.SyncPeriod, "HPA sync period (must divide a minute)")
	lag := fs.Duration("metrics-lag", def.MetricsLag, "age of the demand behind the HPA's metric")
	podStart := fs.Duration("pod-start", def.PodStart, "time from a pod being placed to it being ready")
	nodeStart := fs.Duration("node-start", def.NodeStart, "time from asking for a node to it taking pods")
	ppn := fs.Int("pods-per-node", def.PodsPerNode, "pods per node (0: nodes not modelled)")
	minR := fs.Int("min-replicas", int(def.MinReplicas), "the owner's HPA minReplicas")
	maxR := fs.Int("max-replicas", 0, "the owner's HPA maxReplicas (0: no bound)")
	quantile := fs.Float64("quantile", 0.9, "forecast quantile the predictive floor provisions for")
	opPoints := fs.String("operating-points", "", "lower forecast quantiles, comma-separated in (0, --quantile), whose floors the stand-down judges beside --quantile's, putting in force the one that pays best on the last 14 days, as capacity.operatingPoints does (default: 0.3, 0.5 and 0.7 where below --quantile; none: --quantile only)")
	floorUtil := fs.Float64("floor-utilization", 0, "utilisation at which floors size pods for their demand estimate (0: the HPA target)")
	targetCeiling := fs.Float64("target-ceiling", 0, "the second lever: highest HPA target utilisation the predictive strategy may set while its floors cover the coming window, lowered back to --hpa-target before predicted rises (0: off)")
	predTarget := fs.Float64("predictive-hpa-target", 0, "HPA target utilisation under the predictive strategy only (0: same as --hpa-target)")
	window := fs.Duration("window", 5*time.Minute, "how long after the lead time a floor covers")
	refit := fs.Duration("refit", 15*time.Minute, "predictive model refit period (simulated time)")
	history := fs.Duration("history", 28*24*time.Hour, "most recent history each predictive refit fits")
	warmup := fs.Duration("warmup", sim.DefaultWarmup, "initial span simulated but not counted (at most a third of the trace); by default the forecast's 2 days of history and a day of floors, so that the metrics count from the floors' first verdict, as a daemon installed with that much history has it from its backfill; 48h also counts the first day, unjudged at the lowest operating point, of a target with less")
	sweepFlag := fs.String("sweep", "", "HPA targets to run reactive at for its cost–unserved curve, comma-separated in (0,1], or none (default 0.40..0.90 by 0.05, widened to 0.10..1 when a strategy lies beyond it)")
	noStandDown := fs.Bool("no-stand-down", false, "keep the predictive floors whether or not they pay (by default they are judged every day on their last 14 days against a cooler HPA at equal cost, and stand down where they do not beat it by 20% over the 14 days, nor by 10% and on significantly more days than not (nor, for the lowest operating point while fewer than 14 days are judged, by 10%), or where they leave more unserved than it over the last 7)")
	perfect := fs.Bool("perfect-forecast", false, "plan the predictive floors from the trace's own future: a bound on what a better forecast could gain, not a strategy (not with --policy)")
	fcError := fs.Float64("forecast-error", 1, "share in (0, 1] of the forecast's error kept: below 1 the predictive floors are planned from a forecast that much less wrong (in log terms) against the trace's own values, a bound like --perfect-forecast that shows how much better the forecast would have to be for the floors to reach a goal (not with --perfect-forecast or --policy)")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prescale backtest: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *input == "" {
		fmt.Fprintln(stderr, "prescale backtest: --input is required (see --help)")
		return exitUsage
	}
	if err := checkBacktestFlags(backtestFlags{
		peak: *peak, minR: *minR, maxR: *maxR, ppn: *ppn,
		target: *target, predTarget: *predTarget, floorUtil: *floorUtil, quantile: *quantile, ceiling: *targetCeiling,
		sync: *sync, lag: *lag, podStart: *podStart, nodeStart: *nodeStart,
		window: *window, refit: *refit, history: *history, warmup: *warmup,
		policy: *policyFile, targetName: *targetName,
	}); err != nil {
		fmt.Fprintf(stderr, "prescale backtest: %v\n", err)
		return exitUsage
	}
	if *perfect && *policyFile != "" {
		fmt.Fprintln(stderr, "prescale backtest: --perfect-forecast replaces the built-in forecast and cannot be combined with --policy")
		return exitUsage
	}
	if !(*fcError > 0 && *fcError <= 1) {
		fmt.Fprintf(stderr, "prescale backtest: --forecast-error %g: want the share of the forecast's error kept, in (0, 1] (0 is --perfect-forecast)\n", *fcError)
		return exitUsage
	}
	if *fcError < 1 && (*perfect || *policyFile != "") {
		fmt.Fprintln(stderr, "prescale backtest: --forecast-error scales the built-in forecast's error and cannot be combined with --perfect-forecast or --policy")
		return exitUsage
	}
	if *targetCeiling != 0 && *policyFile != "" {
		fmt.Fprintln(stderr, "prescale backtest: --target-ceiling is the built-in planner's lever; with --policy set the target's hpa.maxTargetUtilization instead")
		return exitUsage
	}
	ht := *target
	if *predTarget > 0 {
		ht = *predTarget
	}
	if *targetCeiling != 0 && !(*targetCeiling > ht && *targetCeiling <= 1) {
		fmt.Fprintf(stderr, "prescale backtest: --target-ceiling %g must be in (%g, 1]: above the HPA target the predictive strategy runs at\n", *targetCeiling, ht)
		return exitUsage
	}
	var engine *policy.Engine
	if *policyFile != "" {
		ps, err := config.Load(*policyFile)
		if err != nil {
			fmt.Fprintf(stderr, "prescale backtest: %v\n", err)
			return exitFailure
		}
		if len(ps) != 1 {
			fmt.Fprintf(stderr, "prescale backtest: %s: %d policies, want exactly one\n", *policyFile, len(ps))
			return exitFailure
		}
		engine = policy.NewEngine(ps[0])
	}
	var loc *time.Location
	if *tz != "" {
		var err error
		if loc, err = time.LoadLocation(*tz); err != nil {
			fmt.Fprintf(stderr, "prescale backtest: --timezone %q: not an IANA time zone\n", *tz)
			return exitUsage
		}
	}
	ops, err := parseOperatingPoints(*opPoints, *quantile)
	if err != nil {
		fmt.Fprintf(stderr, "prescale backtest: --operating-points: %v\n", err)
		return exitUsage
	}
	if *noStandDown || *perfect || *policyFile != "" {
		if *opPoints != "" && len(ops) > 0 {
			fmt.Fprintln(stderr, "prescale backtest: --operating-points are chosen by the stand-down of the built-in planner: not with --no-stand-down, --perfect-forecast or --policy (a policy sets capacity.operatingPoints)")
			return exitUsage
		}
		ops = nil
	}
	sweep, noSweep, err := parseSweep(*sweepFlag)
	if err != nil {
		fmt.Fprintf(stderr, "prescale backtest: --sweep: %v\n", err)
		return exitUsage
	}
	s, err := trace.ReadFile(*input)
	if err != nil {
		fmt.Fprintf(stderr, "prescale backtest: %v\n", err)
		return exitFailure
	}
	cfg := def
	cfg.Capacity = 0
	cfg.TargetUtilization = *target
	cfg.SyncPeriod = *sync
	cfg.MetricsLag = *lag
	cfg.PodStart = *podStart
	cfg.NodeStart = *nodeStart
	cfg.PodsPerNode = *ppn
	cfg.MinReplicas = int32(*minR)
	cfg.MaxReplicas = int32(*maxR)
	cfg.Record = *plotFile != "" || *byHour
	start := time.Now()
	rep, err := sim.Backtest(ctx, s, sim.Setup{
		Config: cfg, PeakReplicas: *peak, Policy: engine, Target: *targetName, Warmup: *warmup, Location: loc,
		Quantile: *quantile, OperatingPoints: ops, FloorUtilization: *floorUtil, PredictiveHPATarget: *predTarget, TargetCeiling: *targetCeiling, Window: *window, Refit: *refit, History: *history,
		PerfectForecast: *perfect, ForecastError: *fcError, Sweep: sweep, NoSweep: noSweep, NoStandDown: *noStandDown,
	})
	if err != nil {
		fmt.Fprintf(stderr, "prescale backtest: %s: %v\n", *input, err)
		return exitFailure
	}
	slog.Debug("backtest done", "input", *input, "elapsed", time.Since(start))
	if *plotFile != "" {
		if err := writePlot(*plotFile, *input, rep); err != nil {
			fmt.Fprintf(stderr, "prescale backtest: %v\n", err)
			return exitFailure
		}
	}
	if *asJSON {
		out := backtestJSON{Strategies: map[string]strategyJSON{}}
		for _, p := range rep.Curve {
			out.ReactiveCurve = append(out.ReactiveCurve, curvePointJSON{HPATarget: p.TargetUtilization, ReplicaHours: p.ReplicaHours, UnservedFraction: p.UnservedFraction})
		}
		for i, r := range rep.Results {
			j := strategyJSON{
				UnservedFraction:        r.UnservedFraction,
				UnderprovisionedMinutes: r.UnderprovisionedMinutes,
				ReplicaHours:            r.ReplicaHours,
				Actuations:              r.Actuations,
			}
			if rep.Config.PodsPerNode > 0 {
				j.NodeHours = &r.NodeHours
			}
			if rep.Curve != nil && r.Strategy != "oracle" {
				j.EqualCost = newEqualCostJSON(r, rep.EqualCost[i])
			}
			if *byHour && r.Strategy != "oracle" {
				by, err := sim.UnservedByHour(r, rep.Demand, rep.Config.EvalFrom, rep.Location)
				if err != nil {
					fmt.Fprintf(stderr, "prescale backtest: %s: %v\n", r.Strategy, err)
					return exitFailure
				}
				j.UnservedByHour = by[:]
			}
			if r.Strategy == "predictive" && rep.StandDown != nil {
				down, why, _, n := rep.StandDown.Status()
				j.StandDown = &standDownJSON{Judgements: n, StoodDown: down, Why: why, StoodDownFraction: standDownFraction(rep)}
				if lm := rep.StandDown.LevelMinutes(); lm != nil {
					j.StandDown.OperatingPoint = rep.StandDown.Level()
					j.StandDown.OperatingFractions = operatingFractions(rep)
				}
			}
			out.Strategies[r.Strategy] = j
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "prescale backtest: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	printBacktest(stdout, *input, rep)
	if *byHour {
		if err := printByHour(stdout, rep); err != nil {
			fmt.Fprintf(stderr, "prescale backtest: %v\n", err)
			return exitFailure
		}
	}
	if *perfect {
		fmt.Fprintln(stdout, "predictive: floors from a perfect forecast (the trace's own future): a bound, not a strategy")
	}
	if *fcError < 1 {
		fmt.Fprintf(stdout, "predictive: floors from a forecast keeping %.3g of its error against the trace's own values: a bound, not a strategy\n", *fcError)
	}
	return exitOK
}

func printBacktest(w io.Writer, input string, rep *sim.Report) {
	c := rep.Config
	evalMin := 0
	if r, ok := rep.Result("oracle"); ok {
		evalMin = r.EvaluatedMinutes
	}
	fmt.Fprintf(w, "%s: %d minutes replayed, %d evaluated (from %s); pod capacity %.4g, HPA target %.0f%%, lead time %v\n",
		input, rep.Demand.Len(), evalMin, c.EvalFrom.Format(time.RFC3339), rep.Capacity, 100*c.TargetUtilization, c.LeadTime())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tunserved %\tunderprov. min\treplica-h\tnode-h\tactuations\tfloor changes\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%.3f\t%.0f\t%.1f\t%.1f\t%d\t%d\t\n", r.Strategy, 100*r.UnservedFraction,
			r.UnderprovisionedMinutes, r.ReplicaHours, r.NodeHours, r.Actuations, r.FloorChanges)
	}
	tw.Flush()
	if rep.Curve != nil {
		printEqualCost(w, rep)
	}
	if sd := rep.StandDown; sd != nil {
		down, why, _, n := sd.Status()
		state := "standing"
		if down {
			state = "stood down"
		}
		if n == 0 {
			fmt.Fprintln(w, "predictive: floors never judged (under 3 days of their own history)")
		} else {
			fmt.Fprintf(w, "predictive: floors judged %d times against a cooler HPA at equal cost, stood down for %.0f%% of decisions; at the end %s: %s\n",
				n, 100*standDownFraction(rep), state, why)
		}
		if lm := sd.LevelMinutes(); lm != nil {
			qs := slices.Sorted(maps.Keys(lm))
			parts := make([]string, len(qs))
			for i, q := range qs {
				parts[i] = fmt.Sprintf("p%g %.0f%%", 100*q, 100*float64(lm[q])/decisions(rep))
			}
			fmt.Fprintf(w, "predictive: decisions by operating point (the rest stood down): %s; at the end p%g\n", strings.Join(parts, ", "), 100*sd.Level())
		}
	}
	for _, r := range rep.Results {
		if r.FloorErrors > 0 {
			fmt.Fprintf(w, "%s: %d floor decisions failed and held the last floor; last: %v\n", r.Strategy, r.FloorErrors, r.LastFloorError)
		}
	}
}

func writePlot(path, title string, rep *sim.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := simplot.Write(f, title, rep); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// parseSweep reads --sweep: "" is the default sweep, "none" no sweep.
// parseOperatingPoints reads --operating-points: quantiles in (0, q), at
// most config.MaxOperatingPoints of them; "" gives the policy's default
// (config.DefaultOperatingPoints below q), none nothing.
func parseOperatingPoints(v string, q float64) ([]float64, error) {
	switch strings.TrimSpace(v) {
	case "":
		var out []float64
		for _, l := range config.DefaultOperatingPoints {
			if l < q {
				out = append(out, l)
			}
		}
		return out, nil
	case "none":
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(v, ",") {
		l, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(l > 0 && l < q) || slices.Contains(out, l) {
			return nil, fmt.Errorf("%q: want distinct quantiles in (0, %g) (below --quantile), comma-separated, or none", f, q)
		}
		out = append(out, l)
	}
	if len(out) > config.MaxOperatingPoints {
		return nil, fmt.Errorf("%d quantiles: at most %d (each costs a replay per judgement)", len(out), config.MaxOperatingPoints)
	}
	return out, nil
}

func parseSweep(v string) (targets []float64, none bool, err error) {
	switch strings.TrimSpace(v) {
	case "":
		return nil, false, nil
	case "none":
		return nil, true, nil
	}
	for _, f := range strings.Split(v, ",") {
		t, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(t > 0 && t <= 1) {
			return nil, false, fmt.Errorf("%q: want HPA targets in (0,1], comma-separated, or none", f)
		}
		targets = append(targets, t)
	}
	if len(targets) < 2 {
		return nil, false, fmt.Errorf("%q: a curve needs at least two targets", v)
	}
	return targets, false, nil
}

// printEqualCost prints each strategy at reactive's equal cost: what the
// HPA alone, run cooler or warmer, leaves unserved for the same
// replica-hours, and what it spends to leave as little unserved.
func printEqualCost(w io.Writer, rep *sim.Report) {
	lo, hi := rep.Curve[len(rep.Curve)-1], rep.Curve[0]
	fmt.Fprintf(w, "\nat equal cost: reactive's curve over HPA targets %.2f..%.2f (%.1f..%.1f replica-h, %.3f..%.3f%% unserved)\n",
		lo.TargetUtilization, hi.TargetUtilization, lo.ReplicaHours, hi.ReplicaHours, 100*lo.UnservedFraction, 100*hi.UnservedFraction)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tunserved %\treactive's at equal replica-h %\tratio\treplica-h\treactive's at equal unserved\tratio\t")
	bound := func(p sim.Position, s string) string {
		if p == sim.Beyond {
			return s + "*"
		}
		return s
	}
	anyBound := false
	for i, r := range rep.Results {
		if r.Strategy == "oracle" {
			continue
		}
		e := rep.EqualCost[i]
		ur := "-"
		if e.ReactiveUnserved > 0 {
			ur = fmt.Sprintf("%.3f", r.UnservedFraction/e.ReactiveUnserved)
		}
		rr := "-"
		if e.ReactiveReplicaHours > 0 {
			rr = fmt.Sprintf("%.3f", r.ReplicaHours/e.ReactiveReplicaHours)
		}
		anyBound = anyBound || e.UnservedPosition == sim.Beyond || e.ReplicaHoursPosition == sim.Beyond
		fmt.Fprintf(tw, "%s\t%.3f\t%s\t%s\t%.1f\t%s\t%s\t\n", r.Strategy, 100*r.UnservedFraction,
			bound(e.UnservedPosition, fmt.Sprintf("%.3f", 100*e.ReactiveUnserved)), ur,
			r.ReplicaHours, bound(e.ReplicaHoursPosition, fmt.Sprintf("%.1f", e.ReactiveReplicaHours)), rr)
	}
	tw.Flush()
	if anyBound {
		fmt.Fprintln(w, "* beyond the sweep: reactive would need an HPA target outside 0.10..1, so the value is the sweep's endpoint (a bound)")
	}
}

// standDownFraction is the share of the predictive strategy's plan
// decisions made while its floors stood down.
func standDownFraction(rep *sim.Report) float64 {
	if rep.StandDown == nil || rep.Demand.Len() == 0 {
		return 0
	}
	return float64(rep.StandDown.DownMinutes()) / decisions(rep)
}

// decisions is the number of plan decisions the replay made over the
// evaluated span (from Config.EvalFrom), the ones StandDown counts.
func decisions(rep *sim.Report) float64 {
	end := rep.Demand.Time(rep.Demand.Len())
	from := rep.Demand.Start
	if rep.Config.EvalFrom.After(from) {
		from = rep.Config.EvalFrom
	}
	return max(1, float64(end.Sub(from))/float64(rep.Config.PlanInterval))
}

// operatingFractions is the share of plan decisions made at each
// operating point, keyed by its quantile ("0.5"); nil with one.
func operatingFractions(rep *sim.Report) map[string]float64 {
	if rep.StandDown == nil || rep.Demand.Len() == 0 {
		return nil
	}
	lm := rep.StandDown.LevelMinutes()
	if lm == nil {
		return nil
	}
	out := make(map[string]float64, len(lm))
	for q, n := range lm {
		out[strconv.FormatFloat(q, 'g', -1, 64)] = float64(n) / decisions(rep)
	}
	return out
}

// printByHour prints, for each local hour in which a strategy left demand
// unserved, each strategy's share of the evaluated demand left unserved
// in it (the hours add up to the table's unserved %).
func printByHour(w io.Writer, rep *sim.Report) error {
	var names []string
	var by [][24]float64
	for _, r := range rep.Results {
		if r.Strategy == "oracle" {
			continue
		}
		h, err := sim.UnservedByHour(r, rep.Demand, rep.Config.EvalFrom, rep.Location)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Strategy, err)
		}
		names, by = append(names, r.Strategy), append(by, h)
	}
	zone := "UTC"
	if rep.Location != nil {
		zone = rep.Location.String()
	}
	fmt.Fprintf(w, "unserved demand by hour of the day (%s), %% of all demand evaluated; hours where none is left unserved are omitted\n", zone)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "hour\t%s\t\n", strings.Join(names, "\t"))
	for h := range 24 {
		row, any := make([]string, len(by)), false
		for i := range by {
			row[i] = fmt.Sprintf("%.4f", 100*by[i][h])
			any = any || by[i][h] > 0
		}
		if any {
			fmt.Fprintf(tw, "%02d:00\t%s\t\n", h, strings.Join(row, "\t"))
		}
	}
	return tw.Flush()
}
