package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/policy"
)

// testPolicy's targets size floors at the owner's quantile from the first
// tick (operatingPoints: []): these tests check the loop's mechanics; the
// operating points, which start a target at its lowest until its floors
// are judged, have their own tests (impact_test.go).
const testPolicy = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  targets:
    - name: web
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: 20
        leadTime: 5m
        window: 15m
        operatingPoints: []
      hpa:
        namespace: default
        name: web
        mode: active
        minReplicas: 2
        maxReplicas: 60
    - name: broken
      signals:
        demand:
          query: no_such_trace
          step: 5m
      capacity:
        perPod: 20
      hpa:
        namespace: default
        name: broken
        mode: active
        minReplicas: 3
        maxReplicas: 10
`

type harness struct {
	now  time.Time
	src  *flakySource
	act  *MemoryActuator
	exp  *metrics.Exporter
	loop *Loop
	tr   forecast.Series
}

// flakySource is a replay that can be switched off, as an unreachable
// Prometheus is.
type flakySource struct {
	*metrics.Replay
	down bool
}

func (f *flakySource) Range(ctx context.Context, q metrics.Query, start, end time.Time, step time.Duration) (metrics.Samples, error) {
	if f.down {
		return metrics.Samples{}, &metrics.SourceError{Query: q, Kind: metrics.KindUnreachable, Err: errors.New("connection refused")}
	}
	return f.Replay.Range(ctx, q, start, end, step)
}

func newHarness(t *testing.T, doc string) *harness {
	t.Helper()
	h := &harness{act: NewMemoryActuator(), exp: metrics.NewExporter("test", nil)}
	h.loop, h.tr = elbLoop(t, doc, &h.now, Config{Tick: 5 * time.Minute, Refit: 15 * time.Minute}, h.act, h.exp,
		func(r *metrics.Replay) metrics.Source { h.src = &flakySource{Replay: r}; return h.src })
	return h
}

// elbLoop is the tests' rig: a loop over doc's policies with the ELB trace
// replayed up to *now (ten days in, on the 5-minute grid, when zero) as
// query "elb", kept for ten days. cfg's clock is *now; wrap, when set,
// stands between the replay and the history.
func elbLoop(t *testing.T, doc string, now *time.Time, cfg Config, act Actuator, exp *metrics.Exporter, wrap func(*metrics.Replay) metrics.Source) (*Loop, forecast.Series) {
	t.Helper()
	ps, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	if now.IsZero() {
		*now = tr.Start.Add(10 * 24 * time.Hour).Truncate(5 * time.Minute)
	}
	rep := metrics.NewReplay(func() time.Time { return *now })
	rep.Add("elb", tr)
	var src metrics.Source = rep
	if wrap != nil {
		src = wrap(rep)
	}
	var obs metrics.SourceObserver // not a typed nil when exp is nil
	if exp != nil {
		obs = exp
	}
	hist := metrics.NewHistory(src, metrics.HistoryConfig{Step: 5 * time.Minute, Window: 10 * 24 * time.Hour}, obs)
	cfg.Now = func() time.Time { return *now }
	if cfg.Backfills == 0 {
		cfg.Backfills = -1 // the tests judge ledgers they make (backfill_test.go backfills)
	}
	return New(cfg, func() []*config.Policy { return ps }, hist, act, exp, nil), tr
}

func (h *harness) tick(t *testing.T) policy.Plan {
	t.Helper()
	plans, err := h.loop.Tick(context.Background())
	if err != nil {
		t.Fatalf("tick at %s: %v", h.now.Format(time.RFC3339), err)
	}
	return plans[0]
}

func floorOf(t *testing.T, p policy.Plan, target string) policy.Resource {
	t.Helper()
	r, ok := p.Find(target, policy.KindHPA, policy.FieldMinReplicas)
	if !ok {
		t.Fatalf("no minReplicas for %s in %+v", target, p.Resources)
	}
	return r
}

// TestLoopRaisesFloorAheadOfDemand: the floor applied covers the forecast
// demand of the lead window, and a broken target does not stop the other.
func TestLoopRaisesFloorAheadOfDemand(t *testing.T) {
	h := newHarness(t, testPolicy)
	var maxFloor, covered, ticks int
	for i := 0; i < 288; i++ { // a day of ticks
		plan := h.tick(t)
		r := floorOf(t, plan, "web")
		f := r.Desired.(int)
		maxFloor = max(maxFloor, f)
		// Over [now+5m, now+20m] the floor must carry what came.
		var peak float64
		for m := 5; m < 20; m += 5 {
			if v := h.tr.Values[int(h.now.Add(time.Duration(m)*time.Minute).Sub(h.tr.Start)/h.tr.Step)]; v > peak {
				peak = v
			}
		}
		// perPod 20 at the default 70% utilisation.
		ticks++
		if float64(f)*20*0.7 >= peak {
			covered++
		}
		if hpa, _ := h.act.HPA("web"); hpa.MinReplicas != f && r.Apply {
			t.Fatalf("%s: planned %d, applied %d", h.now, f, hpa.MinReplicas)
		}
		h.now = h.now.Add(5 * time.Minute)
	}
	if maxFloor <= 2 {
		t.Errorf("floor never rose above the owner's 2")
	}
	// Provisioning for the 90th percentile, the floor alone should carry
	// the coming demand most of the time (the HPA reacts to the rest):
	// the peak of three 5-minute samples under calibrated 90% bounds of
	// each is covered about 0.9³ ≈ 73% of the time.
	if frac := float64(covered) / float64(ticks); frac < 0.70 {
		t.Errorf("the floor covered the next 15 minutes' peak in %.0f%% of ticks, want at least 70%%", 100*frac)
	}
	// The broken target: an error counted, its floor at the owner's value.
	b := floorOf(t, h.lastPlan(t), "broken")
	if b.Desired.(int) != 3 {
		t.Errorf("broken target floor %v, want its owner's 3", b.Desired)
	}
	if v := testutil.ToFloat64(h.exp.SourceErrors.WithLabelValues("broken", "demand", "bad_query")); v < float64(ticks) {
		t.Errorf("broken target's errors counted %v, want one per tick", v)
	}
	if v := testutil.ToFloat64(h.exp.FailStatic.WithLabelValues("broken")); v != 1 {
		t.Errorf("broken target fail-static %v, want 1", v)
	}
	if v := testutil.ToFloat64(h.exp.FailStatic.WithLabelValues("web")); v != 0 {
		t.Errorf("web fail-static %v, want 0", v)
	}
	if n := testutil.CollectAndCount(h.exp.Model); n != 1 {
		t.Errorf("%d model_info series, want 1 (web demand)", n)
	}
}

func (h *harness) lastPlan(t *testing.T) policy.Plan { return h.tick(t) }

// TestLoopFailStatic: when Prometheus goes away, the floor is held for the
// grace period, then falls back to the owner's value; it comes back when
// the data does.
func TestLoopFailStatic(t *testing.T) {
	h := newHarness(t, testPolicy)
	// Find a busy hour so the floor is well above the owner's.
	for i := 0; i < 24*12; i++ {
		f := floorOf(t, h.tick(t), "web").Desired.(int)
		if f >= 6 {
			break
		}
		h.now = h.now.Add(5 * time.Minute)
	}
	held := floorOf(t, h.tick(t), "web").Desired.(int)
	if held < 4 {
		t.Fatalf("no busy hour found in a day of ELB traffic (floor %d)", held)
	}
	// Each tick planned fail-static (prescale_fail_static 1 after it, what
	// the demo counts) is one fail_static decision of the HPA's floor, and
	// no other tick is: the two counts agree.
	decisions := func() float64 {
		return testutil.ToFloat64(h.exp.Decisions.WithLabelValues("web", policy.KindHPA, string(metrics.ReasonFailStatic)))
	}
	var failTicks, failDecisions float64
	tick := func() policy.Plan {
		t.Helper()
		d0 := decisions()
		p := h.tick(t)
		if testutil.ToFloat64(h.exp.FailStatic.WithLabelValues("web")) == 1 {
			failTicks++
		}
		failDecisions += decisions() - d0
		return p
	}
	h.src.down = true
	start := h.now
	for h.now.Sub(start) < policy.MissingDataGrace-5*time.Minute {
		h.now = h.now.Add(5 * time.Minute)
		r := floorOf(t, tick(), "web")
		if got := r.Desired.(int); got < held-1 {
			t.Fatalf("%v into the outage: floor %d, want %d held (reasons %q)", h.now.Sub(start), got, held, r.Reasons)
		}
	}
	if v := testutil.ToFloat64(h.exp.FailStatic.WithLabelValues("web")); v != 1 {
		t.Errorf("fail-static gauge %v during the outage", v)
	}
	// Past the grace period the floor comes down, only along the limits.
	prev := held
	for i := 0; i < 36; i++ {
		h.now = h.now.Add(5 * time.Minute)
		got := floorOf(t, tick(), "web").Desired.(int)
		if got > prev {
			t.Fatalf("floor rose to %d without data", got)
		}
		prev = got
	}
	if prev != 2 {
		t.Errorf("three hours into the outage the floor is %d, want the owner's 2", prev)
	}
	// Data returns: the forecast is refitted at once.
	h.src.down = false
	h.now = h.now.Add(5 * time.Minute)
	r := floorOf(t, tick(), "web")
	if failTicks == 0 || failDecisions != failTicks {
		t.Errorf("%v ticks with prescale_fail_static 1, %v fail_static decisions of the floor: want them equal and nonzero", failTicks, failDecisions)
	}
	if !strings.Contains(strings.Join(r.Reasons, ";"), "forecast") {
		t.Errorf("after recovery the floor's reasons %q name no forecast", r.Reasons)
	}
	if v := testutil.ToFloat64(h.exp.FailStatic.WithLabelValues("web")); v != 0 {
		t.Errorf("fail-static gauge %v after recovery", v)
	}
}

func TestAbsurdForecastsAreDiscarded(t *testing.T) {
	l := New(Config{MaxGrowth: 3}, nil, nil, nil, nil, nil)
	hist := forecast.Series{Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{10, 20, 30, math.NaN()}}
	mk := func(mean []float64, q map[float64][]float64) *forecast.Forecast {
		return &forecast.Forecast{Start: time.Unix(240, 0), Step: time.Minute, Mean: mean, Quantiles: q}
	}
	cases := []struct {
		name string
		f    *forecast.Forecast
		want string
	}{
		{"fine", mk([]float64{25, 40}, map[float64][]float64{0.9: {30, 89}}), ""},
		{"NaN mean", mk([]float64{25, math.NaN()}, nil), "mean at 1970-01-01T00:05:00Z is NaN"},
		{"Inf quantile", mk([]float64{25, 26}, map[float64][]float64{0.9: {math.Inf(1), 30}}), "quantile 0.9 at 1970-01-01T00:04:00Z is +Inf"},
		{"beyond growth bound", mk([]float64{25, 91}, nil), "above 3 × the observed peak 30"},
	}
	for _, c := range cases {
		got := l.absurd(c.f, hist)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestBinding(t *testing.T) {
	cases := []struct {
		reasons []string
		want    metrics.Reason
	}{
		{[]string{"forecast p90 demand 300 over [now+5m, now+20m]", "capacity model: ceil(...) = 5"}, metrics.ReasonForecast},
		{[]string{"forecast p90 demand", "capacity model = 67", "limit: capped at the ceiling maxReplicas 30", "mode shadow: recorded, not applied"}, metrics.ReasonCeiling},
		{[]string{"forecast", "limit: max step up 10 from 2 → 12"}, metrics.ReasonMaxStepUp},
		{[]string{"forecast", "limit: scale-down rate 1 per 5m → 9"}, metrics.ReasonScaleDownLimit},
		{[]string{"forecast", "limit: cooldown 5m since the change at 10:00 holds 12"}, metrics.ReasonCooldown},
		{[]string{"forecast", "limit: owner's minReplicas 2"}, metrics.ReasonOwnerFloor},
		{[]string{"forecast", "schedule rule premarket: floor 10"}, metrics.ReasonSchedule},
		{[]string{"forecast", "event step onboarding T-1d: +50%"}, metrics.ReasonEvent},
		{[]string{"forecast", "volatility rule vix above 30: ×1.5"}, metrics.ReasonVolatility},
		{[]string{"no usable demand forecast: holding 12 from the forecast of ..."}, metrics.ReasonFailStatic},
		// Fail-static shaped by a limit or a rule is still fail-static.
		{[]string{"no usable demand forecast: schedule rules and the owner's minReplicas only", "limit: owner's minReplicas 2", "limit: scale-down rate 1 pods per 5m → 4"}, metrics.ReasonFailStatic},
		{[]string{"no usable demand forecast: schedule rules and the owner's minReplicas only", "schedule rule premarket: floor 10"}, metrics.ReasonFailStatic},
		{[]string{"forecast", "limit: connection budget caps the floor at 10 at once"}, metrics.ReasonConnectionBudget},
		{[]string{"forecast", "connection budget: 8 pods × 20 ≤ 160"}, metrics.ReasonConnectionBudget},
		{[]string{"forecast", "XNYS session open: ramp to 10"}, metrics.ReasonSchedule},
		{[]string{"forecast", "change window maint open: class db.r5.2xlarge"}, metrics.ReasonWindow},
		{[]string{"owner's minReplicas 2"}, metrics.ReasonOwnerFloor},
		{nil, metrics.ReasonOwnerFloor},
	}
	for _, c := range cases {
		if got := Binding(c.reasons); got != c.want {
			t.Errorf("%q: %s, want %s", c.reasons, got, c.want)
		}
	}
}

// TestActuationFailureIsCountedAndIsolated: an actuator error is returned,
// counted as failed, and does not stop the rest of the plan.
func TestActuationFailureIsCountedAndIsolated(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.act.Fail = func(r policy.Resource) error {
		if r.Target == "web" && r.Field == policy.FieldMinReplicas {
			return errors.New("conflict: the HPA was edited")
		}
		return nil
	}
	// Someone lowered the broken target's floor below its owner's value:
	// the plan re-asserts it, whatever happens to web.
	h.act.SetHPA("broken", policy.HPAStatus{MinReplicas: 1, MaxReplicas: 10})
	var applied int
	var failedTick bool
	for i := 0; i < 12; i++ {
		_, err := h.loop.Tick(context.Background())
		if err != nil && strings.Contains(err.Error(), "conflict: the HPA was edited") {
			failedTick = true
		}
		h.now = h.now.Add(5 * time.Minute)
	}
	for _, r := range h.act.Applied {
		if r.Target == "broken" && r.Field == policy.FieldMinReplicas {
			applied++
		}
	}
	if b, _ := h.act.HPA("broken"); b.MinReplicas != 3 {
		t.Errorf("broken's floor %d, want its owner's 3 re-asserted", b.MinReplicas)
	}
	if !failedTick {
		t.Error("no tick reported the actuation error")
	}
	if v := testutil.ToFloat64(h.exp.Actuations.WithLabelValues("web", policy.KindHPA, string(metrics.ResultFailed))); v == 0 {
		t.Error("failed actuations not counted")
	}
	if applied == 0 {
		t.Error("the other resources were not applied")
	}
}

// TestRollingMASEExported: after a few refits, the forecast error of each
// forecast against what followed is exported, and on this trace it beats
// the seasonal naive's in-sample error by a sane margin.
func TestRollingMASEExported(t *testing.T) {
	h := newHarness(t, testPolicy)
	for i := 0; i < 24; i++ { // two hours of 5-minute ticks, refits every 15 minutes
		h.tick(t)
		h.now = h.now.Add(5 * time.Minute)
	}
	v := testutil.ToFloat64(h.exp.ForecastMASE.WithLabelValues("web", "demand"))
	// MASE below 1 is what "beats the seasonal naive" means (measured
	// 0.555); a forecast no better than the naive scores 1 or more.
	t.Logf("rolling MASE %.4f", v)
	if !(v > 0.05 && v < 1) {
		t.Errorf("rolling MASE %v, want positive and below 1 (better than the seasonal naive)", v)
	}
}

// TestRestoreWhenTargetLeaves: an active target whose mode becomes observe,
// or that leaves the policy, is handed back to its owner; shadow keeps it.
func TestRestoreWhenTargetLeaves(t *testing.T) {
	h := newHarness(t, testPolicy)
	parse := func(doc string) []*config.Policy {
		ps, err := config.Parse([]byte(doc), "test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	current := parse(testPolicy)
	h.loop.policies = func() []*config.Policy { return current }
	h.tick(t)
	if len(h.act.Restored) != 0 {
		t.Fatalf("restored %v while active", h.act.Restored)
	}
	current = parse(strings.Replace(testPolicy, "name: web\n        mode: active", "name: web\n        mode: shadow", 1))
	h.tick(t)
	if len(h.act.Restored) != 0 {
		t.Fatalf("shadow restored %v", h.act.Restored)
	}
	current = parse(strings.Replace(testPolicy, "name: web\n        mode: active", "name: web\n        mode: observe", 1))
	h.tick(t)
	if strings.Join(h.act.Restored, ",") != "web" {
		t.Fatalf("after web turned observe, restored %v, want [web]", h.act.Restored)
	}
	// broken leaves the policy altogether.
	i := strings.Index(testPolicy, "    - name: broken")
	current = parse(testPolicy[:i])
	h.tick(t)
	if strings.Join(h.act.Restored, ",") != "web,broken" {
		t.Fatalf("after broken left, restored %v, want [web broken]", h.act.Restored)
	}
	h.tick(t)
	if len(h.act.Restored) != 2 {
		t.Errorf("restored again: %v", h.act.Restored)
	}
}

// TestReselectAfterSpreads: selections are spread over the second half of
// the reselect period, fixed per signal, so that models selected together
// at start-up are not all selected again at one tick.
func TestReselectAfterSpreads(t *testing.T) {
	const period = 6 * time.Hour
	seen := map[time.Duration]bool{}
	for i := range 200 {
		target := fmt.Sprintf("web-%d", i)
		d := reselectAfter(period, "shop", target, "demand")
		if d < period/2 || d >= period {
			t.Fatalf("%s: %v, want in [3h, 6h)", target, d)
		}
		if again := reselectAfter(period, "shop", target, "demand"); again != d {
			t.Fatalf("%s: %v then %v, want the same", target, d, again)
		}
		seen[d.Truncate(30*time.Minute)] = true
	}
	if len(seen) < 6 {
		t.Errorf("200 signals fall in %d of the 6 half-hours of [3h, 6h)", len(seen))
	}
	for _, p := range []time.Duration{-1, 0} {
		if d := reselectAfter(p, "shop", "web", "demand"); d != p {
			t.Errorf("period %v: %v, want it unchanged (select at every refit)", p, d)
		}
	}
}

// listingActuator is a MemoryActuator that, like the live one, finds on
// the cluster the HPAs it changed before the process started.
type listingActuator struct {
	*MemoryActuator
	found    []HPARef
	listErr  error
	lists    int
	restored []HPARef
}

func (a *listingActuator) ManagedHPAs(context.Context) ([]HPARef, error) {
	a.lists++
	return a.found, a.listErr
}

func (a *listingActuator) Restore(ctx context.Context, target, namespace, name string, reasons []string) error {
	a.restored = append(a.restored, HPARef{namespace, name})
	return a.MemoryActuator.Restore(ctx, target, namespace, name, reasons)
}

// TestRestoreAfterRestart: HPAs prescale changed before a restart are
// found at the first acting tick; the one whose target left the policy
// while prescale was down is restored, the one a target still manages is
// kept, and a failed listing is retried at the next tick.
func TestRestoreAfterRestart(t *testing.T) {
	h := newHarness(t, testPolicy)
	act := &listingActuator{MemoryActuator: h.act, listErr: errors.New("connection refused"),
		found: []HPARef{{"default", "web"}, {"shop", "legacy"}}}
	h.loop.act = act
	if _, err := h.loop.Tick(context.Background()); err == nil || !strings.Contains(err.Error(), "list managed hpas: connection refused") {
		t.Fatalf("tick with the listing failing: %v, want it reported", err)
	}
	if len(act.restored) != 0 {
		t.Fatalf("restored %v without a listing", act.restored)
	}
	act.listErr = nil
	h.tick(t)
	if len(act.restored) != 1 || act.restored[0] != (HPARef{"shop", "legacy"}) {
		t.Fatalf("restored %v, want [shop/legacy] only (default/web is still an active target)", act.restored)
	}
	h.tick(t)
	if act.lists != 2 || len(act.restored) != 1 {
		t.Errorf("listed %d times, restored %v: want one listing after the failed one and no second restore", act.lists, act.restored)
	}
	if hpa, ok := h.act.HPA("web"); !ok || hpa.MinReplicas < 2 {
		t.Errorf("web's HPA %+v, %v: want it still managed", hpa, ok)
	}
}

// TestPodUsageExported: with a usage reader, each target's pod usage is
// read once per refit period and exported beside its demand per pod; a
// failing read only logs.
func TestPodUsageExported(t *testing.T) {
	h := newHarness(t, testPolicy)
	var mu sync.Mutex // the loop reads targets' usage concurrently
	var calls []string
	h.loop.cfg.Usage = func(_ context.Context, ns, name string) (metrics.Usage, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, ns+"/"+name)
		if name == "broken" {
			return metrics.Usage{}, errors.New("metrics API unavailable")
		}
		return metrics.Usage{Pods: 4, CPUCores: 2}, nil
	}
	h.tick(t)
	if len(calls) != 2 {
		t.Fatalf("usage read for %v, want both targets' HPAs once", calls)
	}
	if v := testutil.ToFloat64(h.exp.PodCPU.WithLabelValues("web")); v != 0.5 {
		t.Errorf("web pod CPU %v, want 0.5 (2 cores over 4 pods)", v)
	}
	demand := testutil.ToFloat64(h.exp.Observed.WithLabelValues("web", "demand"))
	if v := testutil.ToFloat64(h.exp.DemandPerPod.WithLabelValues("web")); demand <= 0 || math.Abs(v-demand/4) > 1e-9*demand {
		t.Errorf("web demand per pod %v, want %v (the demand observed over 4 pods)", v, demand/4)
	}
	for range 2 { // ten minutes: not due again
		h.now = h.now.Add(5 * time.Minute)
		h.tick(t)
	}
	if len(calls) != 2 {
		t.Errorf("usage read %d times within one refit period, want 2", len(calls))
	}
	h.now = h.now.Add(5 * time.Minute)
	h.tick(t)
	if len(calls) != 4 {
		t.Errorf("usage read %d times after a refit period, want 4", len(calls))
	}
}

// TestImpliedCapacityExported: each target's configured capacity.perPod
// is exported every tick, and with a usage reader that carries the pods'
// CPU requests, the capacity per pod they imply beside it, on the same
// basis (100% of the request) whatever the target utilisation; a target
// whose pods lack a request gets no implied capacity, only a debug log
// saying why, and one that loses its request loses the series.
func TestImpliedCapacityExported(t *testing.T) {
	h := newHarness(t, `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  targets:
    - name: web
      signals:
        demand: {query: elb, step: 5m}
      capacity: {perPod: 20, leadTime: 5m, window: 15m}
      hpa: {namespace: default, name: web, mode: active, minReplicas: 2, maxReplicas: 60}
    - name: api
      signals:
        demand: {query: elb, step: 5m}
      capacity: {perPod: 35, targetUtilization: 0.6}
      hpa: {namespace: shop, name: api, mode: observe, minReplicas: 2, maxReplicas: 60}
`)
	// The handler serialises the workers' writes.
	var logs strings.Builder
	h.loop.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.tick(t)
	for target, want := range map[string]float64{"web": 20, "api": 35} {
		if v := testutil.ToFloat64(h.exp.CapacityPerPod.WithLabelValues(target)); v != want {
			t.Errorf("%s capacity per pod %v, want %v (capacity.perPod)", target, v, want)
		}
	}
	if n := testutil.CollectAndCount(h.exp.ImpliedCapacityPerPod); n != 0 {
		t.Errorf("%d implied capacity series without a usage reader, want none", n)
	}

	var mu sync.Mutex
	webRequest := 4.0 // cores, over 4 pods using 2
	h.loop.cfg.Usage = func(_ context.Context, ns, name string) (metrics.Usage, error) {
		mu.Lock()
		defer mu.Unlock()
		if name == "api" {
			return metrics.Usage{Pods: 3, CPUCores: 1.5, NoRequest: "container app of pod shop/api-7 has no CPU request"}, nil
		}
		if webRequest == 0 {
			return metrics.Usage{Pods: 4, CPUCores: 2, NoRequest: "container proxy of pod default/web-2 has no CPU request"}, nil
		}
		return metrics.Usage{Pods: 4, CPUCores: 2, CPURequestCores: webRequest}, nil
	}
	h.now = h.now.Add(5 * time.Minute)
	h.tick(t)
	demand := testutil.ToFloat64(h.exp.Observed.WithLabelValues("web", "demand"))
	// Each pod serves demand/4 on half a core, so demand/2 at its whole
	// 1-core request.
	if v := testutil.ToFloat64(h.exp.ImpliedCapacityPerPod.WithLabelValues("web")); demand <= 0 || math.Abs(v-demand/2) > 1e-9*demand {
		t.Errorf("web implied capacity %v, want %v (demand %v / 4 pods × 1 core requested / 0.5 used)", v, demand/2, demand)
	}
	if n := testutil.CollectAndCount(h.exp.ImpliedCapacityPerPod); n != 1 {
		t.Errorf("%d implied capacity series, want web's only (api's pods have no request)", n)
	}
	if !strings.Contains(logs.String(), `msg="implied capacity per pod unknown" target=api why="container app of pod shop/api-7 has no CPU request"`) {
		t.Errorf("no debug log of api's missing request in:\n%s", logs.String())
	}

	mu.Lock()
	webRequest = 0
	mu.Unlock()
	h.now = h.now.Add(15 * time.Minute) // a refit period: read again
	h.tick(t)
	if n := testutil.CollectAndCount(h.exp.ImpliedCapacityPerPod); n != 0 {
		t.Errorf("%d implied capacity series once web's request is unknown too, want none", n)
	}
	if v := testutil.ToFloat64(h.exp.CapacityPerPod.WithLabelValues("web")); v != 20 {
		t.Errorf("web capacity per pod %v, want 20 still", v)
	}
}

// TestFailedFitRetriedOnRefitSchedule: a forecast that cannot be fitted
// (here a history of one sample) is tried again at the next refit, not at
// every tick: a failing selection is the most expensive call the loop
// makes, and with thousands of targets a tick must not repeat it.
func TestFailedFitRetriedOnRefitSchedule(t *testing.T) {
	h := newHarness(t, testPolicy)
	one := forecast.Series{Start: h.now.Add(-5 * time.Minute), Step: 5 * time.Minute, Values: []float64{120}}
	h.src.Replay.Add("elb", one)
	k := fitKey{"web", "web", "demand"}
	start := h.now
	h.tick(t)
	ft := h.loop.fits[k]
	if ft == nil || ft.f != nil || !strings.Contains(ft.why, "forecast failed") || !ft.at.Equal(start) {
		t.Fatalf("after the first tick: %+v, want a failed fit at %v", ft, start)
	}
	for range 2 { // ten minutes later: not due
		h.now = h.now.Add(5 * time.Minute)
		h.tick(t)
	}
	if !ft.at.Equal(start) {
		t.Errorf("fit tried again at %v, within the refit period of the failure at %v", ft.at, start)
	}
	h.now = h.now.Add(5 * time.Minute)
	h.tick(t)
	if !ft.at.Equal(h.now) {
		t.Errorf("fit last tried at %v, want again at %v, a refit period after the failure", ft.at, h.now)
	}
}

// TestFirstSelectionIsQuickThenFull: at start-up a signal's model is
// selected at fewer validation origins, so that thousands of targets get a
// plan soon, and selected again in full within quickReselect; after that,
// at the normal reselect period.
func TestFirstSelectionIsQuickThenFull(t *testing.T) {
	h := newHarness(t, testPolicy)
	k := fitKey{"web", "web", "demand"}
	h.tick(t)
	ft := h.loop.fits[k]
	if ft == nil || ft.f == nil || !ft.quick || !strings.Contains(ft.f.Detail, fmt.Sprintf("over %d origin(s)", quickOrigins)) ||
		!strings.Contains(ft.f.Detail, "quick selection among") {
		t.Fatalf("first fit: %+v, want a quick selection (forecast.Options.Quick) at %d origins", ft, quickOrigins)
	}
	start := h.now
	full := time.Time{}
	for h.now.Sub(start) < quickReselect+h.loop.cfg.Refit {
		h.now = h.now.Add(5 * time.Minute)
		h.tick(t)
		if full.IsZero() && !ft.quick {
			full = h.now
			if !strings.Contains(ft.f.Detail, "over 24 origin(s)") || strings.Contains(ft.f.Detail, "quick") {
				t.Errorf("full selection at %v: detail %q, want 24 origins and every candidate", h.now, ft.f.Detail)
			}
		}
	}
	if full.IsZero() || full.Sub(start) < quickReselect/2 {
		t.Fatalf("selected in full at %v after the start, want between %v and %v", full.Sub(start), quickReselect/2, quickReselect+h.loop.cfg.Refit)
	}
	// Refits in between do not count as selections: the full one stands
	// until the normal period.
	sel := ft.sel
	for range 6 {
		h.now = h.now.Add(5 * time.Minute)
		h.tick(t)
	}
	if ft.sel != sel {
		t.Error("the full selection was replaced within half an hour")
	}
}

func TestPromotion(t *testing.T) {
	bar := &config.Promote{After: config.Duration(24 * time.Hour), MaxMASE: 1, MinCoverage: 0.85}
	for _, c := range []struct {
		name           string
		scored         time.Duration
		mase, coverage float64
		ok             bool
		why            string
	}{
		{"too soon", 23 * time.Hour, 0.5, 0.9, false, "scored for 23h of the 1d required"},
		{"not scored", 25 * time.Hour, math.NaN(), math.NaN(), false, "rolling MASE NaN above 1"},
		{"worse than naive", 25 * time.Hour, 1.2, 0.9, false, "rolling MASE 1.2 above 1"},
		{"undercovered", 25 * time.Hour, 0.5, 0.7, false, "rolling coverage 0.7 below 0.85"},
		{"at the bar", 24 * time.Hour, 1, 0.85, true, "rolling MASE 1 ≤ 1 and coverage 0.85 ≥ 0.85 after 1d in shadow"},
		{"well above", 72 * time.Hour, 0.4, 0.95, true, "rolling MASE 0.4 ≤ 1 and coverage 0.95 ≥ 0.85 after 1d in shadow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, why := promotion(bar, c.scored, c.mase, c.coverage, nil)
			if ok != c.ok || why != c.why {
				t.Errorf("promotion = %v, %q; want %v, %q", ok, why, c.ok, c.why)
			}
		})
	}
}

// TestShadowTargetPromoted: a shadow target with hpa.promote records only
// until its forecasts have been scored for promote.after and meet the bar,
// then its floors are applied; the promotion is exported and ends when the
// promote field goes.
func TestShadowTargetPromoted(t *testing.T) {
	doc := strings.Replace(testPolicy, "        mode: active\n", "        mode: shadow\n        promote: {after: 1h, maxMASE: 5, minCoverage: 0.2}\n", 1)
	h := newHarness(t, doc)
	start := h.now
	var promotedAt time.Time
	for h.now.Sub(start) < 3*time.Hour {
		h.tick(t)
		hpa, written := h.act.HPA("web")
		promoted := testutil.ToFloat64(h.exp.Promoted.WithLabelValues("web")) == 1
		if promoted && promotedAt.IsZero() {
			promotedAt = h.now
		}
		if !promoted && written && hpa.MinReplicas != 2 {
			t.Fatalf("at %v, not promoted, the HPA was written: %+v", h.now.Sub(start), hpa)
		}
		h.now = h.now.Add(5 * time.Minute)
	}
	if promotedAt.IsZero() || promotedAt.Sub(start) < time.Hour {
		t.Fatalf("promoted %v after the start, want after the hour the bar asks for", promotedAt.Sub(start))
	}
	ft := h.loop.fits[fitKey{"web", "web", "demand"}]
	t.Logf("promoted %v after the start: %s", promotedAt.Sub(start), h.loop.promoted["web/web"])
	if ft.mase > 5 || ft.coverage < 0.2 {
		t.Errorf("promoted with MASE %.3g and coverage %.3g, outside the bar", ft.mase, ft.coverage)
	}
	hpa, _ := h.act.HPA("web")
	if hpa.MinReplicas <= 2 {
		t.Errorf("promoted, but the floor is %d (the owner's 2): the plan was not applied", hpa.MinReplicas)
	}
	if why := h.loop.promoted["web/web"]; !strings.Contains(why, "after 1h in shadow") {
		t.Errorf("promotion reason %q", why)
	}
}

func TestRollingScore(t *testing.T) {
	avg := math.NaN()
	for n := 1; n <= 4; n++ { // the plain mean at first: 1, 2, 3, 4 → 2.5
		avg = rolling(avg, float64(n), n)
	}
	if math.Abs(avg-2.5) > 1e-12 {
		t.Errorf("mean of the first four scores %v, want 2.5", avg)
	}
	// Past 1/maseWeight scores, each new score weighs maseWeight.
	avg = rolling(10, 30, 100)
	if want := 10 + maseWeight*20; math.Abs(avg-want) > 1e-12 {
		t.Errorf("exponential step %v, want %v", avg, want)
	}
}

// TestManagedShadowTargetStaysPromoted: after a restart, a shadow target
// with hpa.promote whose HPA prescale already manages acts at once rather
// than leaving its raised floor unmanaged until its scores are rebuilt;
// without promote it only records.
func TestManagedShadowTargetStaysPromoted(t *testing.T) {
	for _, promote := range []bool{true, false} {
		doc := strings.Replace(testPolicy, "        mode: active\n", "        mode: shadow\n", 1)
		if promote {
			doc = strings.Replace(doc, "        mode: shadow\n", "        mode: shadow\n        promote: {}\n", 1)
		}
		h := newHarness(t, doc)
		h.loop.managed["web/web"] = hpaRef{"web", "default", "web"}
		h.tick(t)
		hpa, _ := h.act.HPA("web")
		if acted := hpa.MinReplicas > 2; acted != promote {
			t.Errorf("promote %v: floor %d after the first tick, want acted=%v", promote, hpa.MinReplicas, promote)
		}
		if why := h.loop.promoted["web/web"]; promote && !strings.Contains(why, "already manages") {
			t.Errorf("promotion reason %q", why)
		}
	}
}

// prescale_target_info joins kube-state-metrics' HPA series to targets
// (the dashboard's HPA panels): a KEDA target is joined to the HPA KEDA
// generates for its ScaledObject, keda-hpa-NAME.
func TestTargetInfo(t *testing.T) {
	doc := strings.Replace(testPolicy, "        name: broken\n", "        scaledObject: broken\n", 1)
	h := newHarness(t, doc)
	h.tick(t)
	for _, c := range []struct{ target, hpa string }{{"web", "web"}, {"broken", "keda-hpa-broken"}} {
		if v := testutil.ToFloat64(h.exp.TargetInfo.WithLabelValues(c.target, "default", c.hpa)); v != 1 {
			t.Errorf("prescale_target_info{target=%q,namespace=default,horizontalpodautoscaler=%q} = %v, want 1", c.target, c.hpa, v)
		}
	}
	if n := testutil.CollectAndCount(h.exp.TargetInfo); n != 2 {
		t.Errorf("%d prescale_target_info series, want 2", n)
	}
}

// The pool size per pod the connection budget plans is exported beside the
// floors (prescale_desired{resource="connectionPool",field="poolSize"}),
// and what is in place once applied (prescale_applied).
func TestPoolSizeExported(t *testing.T) {
	doc := strings.Replace(testPolicy, "        maxReplicas: 60\n", `        maxReplicas: 60
      database: pg
      connectionPool: {configMap: web-pool, key: POOL}
`, 1) + `  databases:
    - name: pg
      identifier: pg
      tiers:
        - {class: db.t3.large, maxConnections: 200}
      current: db.t3.large
  rules:
    - name: budget
      targets: [web]
      connectionBudget: {database: pg, poolSize: 20, action: pool, minPoolSize: 1}
`
	h := newHarness(t, doc)
	h.tick(t)
	p := h.tick(t)
	r, ok := p.Find("web", policy.KindConnectionPool, policy.FieldPoolSize)
	if !ok {
		t.Fatalf("no pool size in the plan: %+v", p.Resources)
	}
	want, _ := r.Desired.(int)
	if want < 1 || want >= 20 {
		t.Fatalf("pool size %v: want below 20 (60 pods × 20 > the budget)", r.Desired)
	}
	if got := testutil.ToFloat64(h.exp.Desired.WithLabelValues("web", policy.KindConnectionPool, policy.FieldPoolSize)); got != float64(want) {
		t.Errorf("prescale_desired pool size %v, want %d", got, want)
	}
	if got := testutil.ToFloat64(h.exp.Applied.WithLabelValues("web", policy.KindConnectionPool, policy.FieldPoolSize)); got != float64(want) {
		t.Errorf("prescale_applied pool size %v, want %d (applied at the first tick)", got, want)
	}
}

// The memory actuator (the demo's, the tests') holds every kind the plan
// applies: read replicas and pool sizes too, read back by Current.
func TestMemoryActuatorKinds(t *testing.T) {
	m := NewMemoryActuator()
	ctx := context.Background()
	for _, r := range []policy.Resource{
		{Target: "web", Kind: policy.KindDatabase, Name: "pg", Field: policy.FieldReadReplicas, Desired: 2},
		{Target: "web", Kind: policy.KindConnectionPool, Name: "default/web-pool:POOL", Field: policy.FieldPoolSize, Desired: 10},
		{Target: "web", Kind: policy.KindDatabase, Name: "pg", Field: policy.FieldInstanceClass, Desired: "db.r5.large"},
	} {
		if _, err := m.Apply(ctx, nil, r); err != nil {
			t.Errorf("apply %s %s: %v", r.Kind, r.Field, err)
		}
	}
	p, err := config.Parse([]byte(testPolicy), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := m.Current(ctx, p[0])
	if cur.ReadReplicas["pg"] != 2 || cur.Pools["web"] != 10 || cur.Databases["pg"] != "db.r5.large" {
		t.Errorf("current %+v", cur)
	}
}
