package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/demo"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
)

// demoOptions are the flags of `prescale run` without --config.
type demoOptions struct {
	days   int
	speed  float64
	listen string
}

// runDemo replays the embedded trace through the whole control loop
// (history, forecasts, the policy engine, an actuator) against the
// simulated cluster, printing each decision, and ends with reactive
// scaling and prescale side by side on the same demand.
func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer, logger *slog.Logger) error {
	tr, err := demo.Trace()
	if err != nil {
		return err
	}
	pol, err := demo.Policy()
	if err != nil {
		return err
	}
	target := pol.Spec.Targets[0]
	loc := pol.Location

	// The replay: the last o.days days of the trace are simulated; the
	// weeks before them are history the daemon backfills at its first tick.
	end := tr.Time(tr.Len())
	evalFrom := end.Add(-time.Duration(o.days) * 24 * time.Hour)
	warm := 2 * time.Hour
	from := int(evalFrom.Add(-warm).Sub(tr.Start) / tr.Step)
	if from < 0 || o.days <= 0 {
		return fmt.Errorf("--days %d: the trace holds %s", o.days, end.Sub(tr.Start).Round(time.Hour))
	}
	demand, err := sim.Resample(tr.Slice(from, tr.Len()), 15*time.Minute)
	if err != nil {
		return err
	}
	cfg := sim.DefaultConfig(target.Capacity.PerPod)
	cfg.TargetUtilization = target.Capacity.TargetUtilization
	cfg.MinReplicas = int32(max(1, target.HPA.MinReplicas))
	cfg.MaxReplicas = int32(target.HPA.MaxReplicas)
	cfg.EvalFrom = evalFrom
	cfg.PlanInterval = 30 * time.Second

	exp := metrics.NewExporter(buildVersion(), logger)
	addr, stopHTTP, err := serveMetrics(o.listen, exp, nil)
	if err != nil {
		return err
	}
	defer stopHTTP()

	fmt.Fprintf(stdout, "prescale demo: %d days of %s replayed through the control loop against a simulated cluster\n", o.days, demo.TraceName)
	ownerMin := max(1, target.HPA.MinReplicas)
	fmt.Fprintf(stdout, "  target %s: %g demand per pod at %.0f%% utilisation; the owner's HPA: minReplicas %d, maxReplicas %d (floors stay within %d..%d)\n",
		target.Name, target.Capacity.PerPod, 100*target.Capacity.TargetUtilization, ownerMin, target.HPA.MaxReplicas, ownerMin, target.HPA.MaxReplicas)
	fmt.Fprintf(stdout, "  floors set %s ahead; pods start in %s, nodes in %s\n", target.Capacity.LeadTime, cfg.PodStart, cfg.NodeStart)
	if o.speed > 0 {
		fmt.Fprintf(stdout, "  speed %g× (%s of trace a second); metrics on http://%s/metrics\n\n", o.speed, time.Duration(o.speed*float64(time.Second)).Round(time.Second), addr)
	} else {
		fmt.Fprintf(stdout, "  as fast as possible; metrics on http://%s/metrics\n\n", addr)
	}

	reactive, err := sim.Run(ctx, cfg, demand, sim.Reactive{})
	if err != nil {
		return err
	}

	var clockMu sync.Mutex
	now := evalFrom
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	// NAB's timestamps open each 30-minute bucket, whose count is known
	// only when it closes: the replay serves a bucket once it has closed
	// (as Prometheus would serve a rate), never the demand still to come
	// inside it. The forecast then starts with the open bucket, at or
	// before now, and covers the planning window from the first tick.
	rep := metrics.NewReplay(func() time.Time { return clock().Add(-tr.Step) })
	rep.Add(target.Signals.Demand.Query, tr)
	hist := metrics.NewHistory(rep, metrics.HistoryConfig{Step: tr.Step, Window: 14 * 24 * time.Hour}, exp)
	act := controller.NewMemoryActuator()
	act.SetHPA(target.Name, policy.HPAStatus{MinReplicas: ownerMin, MaxReplicas: target.HPA.MaxReplicas})
	loop := controller.New(controller.Config{Tick: cfg.PlanInterval, Refit: 15 * time.Minute, Now: clock, Backfills: -1}, // deterministic: a background backfill would land at a tick set by the machine's speed
		func() []*config.Policy { return []*config.Policy{pol} }, hist, act, exp, logger)
	exp.Leader.Set(1)

	st := &demoStrategy{loop: loop, act: act, exp: exp, target: target.Name, loc: loc, out: stdout, speed: o.speed, floor: ownerMin,
		evalFrom: evalFrom.Add(-target.Capacity.LeadTime.D() - target.Capacity.Window.D()), setNow: func(t time.Time) { clockMu.Lock(); now = t; clockMu.Unlock() }}
	pres, err := sim.Run(ctx, cfg, demand, st)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stdout, "\ninterrupted: no summary")
		}
		return err
	}
	sum := demoSummary{reactive: reactive, prescale: pres, changes: st.changes, ticks: st.ticks, failStatic: st.failStatic,
		days: o.days, hpaTarget: cfg.TargetUtilization}
	// Floors only add pods: the fair comparison is also the HPA alone run
	// cooler for the same replica-hours (reactive's cost–unserved curve).
	if curve, err := sim.SweepCurve(ctx, cfg, demand, nil, []sim.Result{pres}); err != nil {
		sum.curveErr = err
	} else {
		eq := curve.Place(pres)
		sum.equal = &eq
	}
	printDemoSummary(stdout, sum)
	return nil
}

// demoStrategy is the simulator's view of the daemon: at each planning
// tick it moves the replay clock, runs one tick of the real control loop
// and returns the floor the loop applied to the (in-memory) HPA.
type demoStrategy struct {
	loop     *controller.Loop
	act      *controller.MemoryActuator
	exp      *metrics.Exporter
	target   string
	loc      *time.Location
	out      io.Writer
	speed    float64
	evalFrom time.Time
	setNow   func(time.Time)

	wallStart, simStart time.Time
	floor               int
	changes             int
	// ticks and failStatic count the loop's ticks and those after which
	// prescale_fail_static was 1 for the target.
	ticks, failStatic int
	day               string
}

func (d *demoStrategy) Name() string { return "prescale" }

func (d *demoStrategy) Floor(now time.Time, _ forecast.Series) (int32, error) {
	// The warm-up before the evaluated days runs unplanned: the daemon
	// starts just before them and backfills its history then.
	if now.Before(d.evalFrom) {
		return 0, nil
	}
	if d.wallStart.IsZero() {
		d.wallStart, d.simStart = time.Now(), now
	}
	if d.speed > 0 {
		due := d.wallStart.Add(time.Duration(float64(now.Sub(d.simStart)) / d.speed))
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
	}
	d.setNow(now)
	plans, err := d.loop.Tick(context.Background())
	if err != nil {
		fmt.Fprintf(d.out, "%s  tick error: %v\n", now.In(d.loc).Format("2006-01-02 15:04 MST"), err)
	}
	d.ticks++
	if gaugeValue(d.exp.FailStatic.WithLabelValues(d.target)) == 1 {
		d.failStatic++
	}
	h, _ := d.act.HPA(d.target)
	if h.MinReplicas != d.floor && len(plans) > 0 {
		if r, ok := plans[0].Find(d.target, policy.KindHPA, policy.FieldMinReplicas); ok {
			at := now.In(d.loc)
			if day := dayLine(at); day != d.day {
				fmt.Fprintln(d.out, day)
				d.day = day
			}
			fmt.Fprintln(d.out, decisionLine(at, d.target, d.floor, h.MinReplicas, r.Reasons))
		}
		d.floor = h.MinReplicas
		d.changes++
	}
	return int32(h.MinReplicas), err
}

// gaugeValue reads a gauge's value.
func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		return math.NaN()
	}
	return m.GetGauge().GetValue()
}

// serveMetrics serves /metrics (and, with ready, /healthz and /readyz) on
// addr; it returns the address bound and a function that stops the server.
func serveMetrics(addr string, exp *metrics.Exporter, ready func() error) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: httpHandler(exp, ready), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
