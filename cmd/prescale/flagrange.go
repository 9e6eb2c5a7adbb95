package main

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The ranges of the numeric flags of run, plan and backtest (forecast's
// are in bounds.go), checked before any work starts: a flag out of its
// range exits 2 naming it. docs/policy.md ("Limits") lists them.
const (
	// maxHistory bounds --history (run, plan, backtest): the demand kept
	// and refitted per signal, 90 days (129,600 one-minute points).
	maxHistory = 90 * 24 * time.Hour
	minHistory = time.Hour
	// maxSimReplicas bounds backtest's replica counts: the policy's own
	// bound on replica counts (config.MaxReplicas).
	maxSimReplicas = 100_000
	// maxPeakReplicas bounds --peak-replicas: the simulated cluster
	// places every pod, so its cost grows with the peak's pods.
	maxPeakReplicas = 10_000
	// maxPodsPerNode is Kubernetes' own upper reach (its default is 110).
	maxPodsPerNode = 1_000
	// maxBackfills bounds --backfills: each backfill keeps a core busy.
	maxBackfills = 64
)

// flagChecks collects the first range error of a set of flags.
type flagChecks struct{ err error }

func (c *flagChecks) fail(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, a...)
	}
}

// dur checks lo <= v <= hi.
func (c *flagChecks) dur(name string, v, lo, hi time.Duration) {
	if v < lo || v > hi {
		c.fail("%s %s: must be between %s and %s", name, v, fmtDur(lo), fmtDur(hi))
	}
}

// durOrZero checks v == 0 (the default) or lo <= v <= hi.
func (c *flagChecks) durOrZero(name string, v, lo, hi time.Duration, zero string) {
	if v != 0 && (v < lo || v > hi) {
		c.fail("%s %s: must be 0 (%s) or between %s and %s", name, v, zero, fmtDur(lo), fmtDur(hi))
	}
}

// integer checks lo <= v <= hi.
func (c *flagChecks) integer(name string, v, lo, hi int) {
	if v < lo || v > hi {
		c.fail("%s %d: must be between %d and %d", name, v, lo, hi)
	}
}

// fraction checks 0 < v <= 1 (a utilisation).
func (c *flagChecks) fraction(name string, v float64) {
	if !(v > 0 && v <= 1) {
		c.fail("%s %g: must be in (0, 1]", name, v)
	}
}

// fractionOrZero checks v == 0 (the default) or 0 < v <= 1.
func (c *flagChecks) fractionOrZero(name string, v float64, zero string) {
	if v != 0 && !(v > 0 && v <= 1) {
		c.fail("%s %g: must be 0 (%s) or in (0, 1]", name, v, zero)
	}
}

// level checks 0 < v < 1 (a quantile).
func (c *flagChecks) level(name string, v float64) {
	if !(v > 0 && v < 1) {
		c.fail("%s %g: must be a level in (0, 1)", name, v)
	}
}

// finite checks lo <= v <= hi and not NaN.
func (c *flagChecks) finite(name string, v, lo, hi float64) {
	if math.IsNaN(v) || v < lo || v > hi {
		c.fail("%s %g: must be between %g and %g", name, v, lo, hi)
	}
}

// fmtDur prints whole days as days (90d, not 2160h0m0s).
func fmtDur(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// checkDaemonFlags checks run's numeric flags (with --config or
// --scalingpolicies).
func checkDaemonFlags(d *daemonOptions) error {
	var c flagChecks
	c.dur("--tick", d.tick, 100*time.Millisecond, time.Hour)
	c.dur("--refit", d.refit, time.Minute, 24*time.Hour)
	if d.reselect >= 0 {
		c.dur("--reselect", d.reselect, time.Minute, 30*24*time.Hour)
	}
	c.dur("--history", d.history, minHistory, maxHistory)
	c.dur("--reload", d.reload, 100*time.Millisecond, time.Hour)
	c.integer("--backfills", d.backfills, 0, maxBackfills)
	if d.leaderElect {
		c.dur("--retry-period", d.retryPeriod, 100*time.Millisecond, time.Minute)
		c.dur("--renew-deadline", d.renewDeadline, 100*time.Millisecond, 5*time.Minute)
		c.dur("--lease-duration", d.leaseDuration, 100*time.Millisecond, 10*time.Minute)
		// client-go's own rules, said before it is called: a leader
		// must give up before a follower may take over, and retry at
		// least once (with jitter, 1.2 periods) within its deadline.
		if c.err == nil && d.leaseDuration <= d.renewDeadline {
			c.fail("--lease-duration %s: must be longer than --renew-deadline %s", d.leaseDuration, d.renewDeadline)
		}
		if c.err == nil && float64(d.renewDeadline) <= 1.2*float64(d.retryPeriod) {
			c.fail("--renew-deadline %s: must be longer than 1.2 × --retry-period %s", d.renewDeadline, d.retryPeriod)
		}
	}
	return c.err
}

// checkDemoFlags checks run's demo flags.
func checkDemoFlags(days int, speed float64) error {
	var c flagChecks
	c.integer("--days", days, 1, 180)
	c.finite("--speed", speed, 0, 1e9)
	return c.err
}

// backtestFlags are backtest's numeric flags.
type backtestFlags struct {
	peak, minR, maxR, ppn                            int
	target, predTarget, floorUtil, quantile, ceiling float64
	sync, lag, podStart, nodeStart                   time.Duration
	window, refit, history, warmup                   time.Duration
	policy, targetName                               string
}

// checkBacktestFlags checks backtest's flags before the trace is read.
func checkBacktestFlags(f backtestFlags) error {
	var c flagChecks
	c.integer("--peak-replicas", f.peak, 1, maxPeakReplicas)
	c.integer("--min-replicas", f.minR, 1, maxSimReplicas)
	c.integer("--max-replicas", f.maxR, 0, maxSimReplicas)
	if c.err == nil && f.maxR != 0 && f.maxR < f.minR {
		c.fail("--max-replicas %d: below --min-replicas %d", f.maxR, f.minR)
	}
	c.integer("--pods-per-node", f.ppn, 0, maxPodsPerNode)
	c.fraction("--hpa-target", f.target)
	c.fractionOrZero("--predictive-hpa-target", f.predTarget, "same as --hpa-target")
	c.fractionOrZero("--floor-utilization", f.floorUtil, "the HPA target")
	c.level("--quantile", f.quantile)
	c.dur("--sync-period", f.sync, time.Second, time.Minute)
	if c.err == nil && time.Minute%f.sync != 0 {
		c.fail("--sync-period %s: must divide a minute", f.sync)
	}
	c.dur("--metrics-lag", f.lag, 0, time.Hour)
	c.dur("--pod-start", f.podStart, 0, time.Hour)
	c.dur("--node-start", f.nodeStart, 0, time.Hour)
	c.durOrZero("--window", f.window, time.Minute, 24*time.Hour, "5m")
	c.dur("--refit", f.refit, time.Minute, 24*time.Hour)
	c.dur("--history", f.history, minHistory, maxHistory)
	c.dur("--warmup", f.warmup, 0, 365*24*time.Hour)
	if c.err == nil && f.targetName != "" && f.policy == "" {
		c.err = errors.New("--target names a target of --policy: give --policy too")
	}
	return c.err
}
