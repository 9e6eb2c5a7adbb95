package controller

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/sim"
)

// ledgerFrom fills a ledger for the 5 days before now with floor(t).
func ledgerFrom(now time.Time, floor func(t time.Time) int) *floorLedger {
	lg := &floorLedger{}
	for t := now.Add(-5 * 24 * time.Hour); t.Before(now); t = t.Add(ledgerStep) {
		lg.record(t, floor(t), nil)
	}
	return lg
}

func TestFloorLedgerKeepsTheHighestFloorOfEachStepAndTrims(t *testing.T) {
	lg := &floorLedger{}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	lg.record(t0, 3, nil)
	lg.record(t0.Add(2*time.Minute), 7, nil)
	lg.record(t0.Add(4*time.Minute), 5, nil)
	lg.record(t0.Add(5*time.Minute), 1, nil)
	if lg.floors[0] != 7 || lg.floors[1] != 1 {
		t.Fatalf("floors %v: want the highest of each 5 minutes, 7 then 1", lg.floors[:2])
	}
	for t1 := t0; t1.Before(t0.Add(20 * 24 * time.Hour)); t1 = t1.Add(ledgerStep) {
		lg.record(t1, 2, nil)
	}
	if span := time.Duration(len(lg.floors)) * ledgerStep; span > ledgerSpan*5/4 {
		t.Errorf("ledger holds %v of floors, want at most %v", span, ledgerSpan*5/4)
	}
}

// A slot in which no plan was made (the daemon ticked less often, or was
// not the leader) holds the floor written before it, which stays on the
// HPA: the replay does not drop it to nothing.
func TestFloorLedgerHoldsTheLastFloorBetweenPlans(t *testing.T) {
	lg := &floorLedger{}
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	levels := []float64{0.9, 0.3}
	lg.record(t0, 12, levels, 4)
	lg.record(t0.Add(80*time.Minute), 0, levels, 0) // a plan without a forecast floor
	lg.record(t0.Add(100*time.Minute), 9, levels, 3)
	demand := forecast.Series{Start: t0, Step: time.Minute, Values: make([]float64, 120)}
	for k, want := range map[int][]int32{0: {12, 0, 9}, 1: {4, 0, 3}} {
		got := lg.levelPerMinute(demand, k)
		for _, c := range []struct {
			m    int
			want int32
		}{{0, want[0]}, {47, want[0]}, {79, want[0]}, {80, want[1]}, {99, want[1]}, {100, want[2]}, {119, want[2]}} {
			if got[c.m] != c.want {
				t.Errorf("level %d, minute %d: floor %d, want %d", k, c.m, got[c.m], c.want)
			}
		}
	}
}

// The daemon judges each target's recorded floors on its own history: floors
// raised at hours when nothing happens do not pay, stand down (the plan
// keeps the owner's floor and says why, the metric says so), and floors
// that carry the demand one lead time ahead pay and stand.
func TestDaemonStandsDownFloorsThatDoNotPay(t *testing.T) {
	h := newHarness(t, testPolicy)
	h.tick(t) // backfills the history
	p := h.loop.policies()[0]
	demandAt := func(t time.Time) float64 {
		i := int(t.Sub(h.tr.Start) / h.tr.Step)
		if i < 0 || i >= h.tr.Len() {
			return 0
		}
		return h.tr.Values[i]
	}
	// Pays: the pods the demand of the next 20 minutes needs at 70%.
	good := func(t time.Time) int {
		peak := 0.0
		for m := 5; m <= 20; m += 5 {
			peak = math.Max(peak, demandAt(t.Add(time.Duration(m)*time.Minute)))
		}
		return int(math.Ceil(peak / (20 * 0.7)))
	}
	// Does not pay: floors the HPA always holds anyway buy nothing (as on
	// news-driven load, where the forecast is the recent level).
	bad := func(time.Time) int { return 2 }
	var reported TargetReport
	h.loop.cfg.Report = func(_ context.Context, r Report) { reported = r.Targets["web"] }

	for _, tc := range []struct {
		name  string
		floor func(time.Time) int
		down  bool
	}{{"floors that buy nothing", bad, true}, {"floors ahead of demand", good, false}} {
		lg := ledgerFrom(h.now, tc.floor)
		lg.judged = h.now.Add(-25 * time.Hour) // due
		h.loop.ledgers["web/web"] = lg
		got, _, _ := h.loop.standDowns(context.Background(), p, h.now)
		_, down := got["web"]
		if down != tc.down {
			t.Fatalf("%s: stood down %v (%q), want %v; impact %+v", tc.name, down, got["web"], tc.down, lg.impact14)
		}
		want := 0.0
		if tc.down {
			want = 1
		}
		if v := testutil.ToFloat64(h.exp.StoodDown.WithLabelValues("web")); v != want {
			t.Errorf("%s: prescale_stood_down %v, want %v", tc.name, v, want)
		}
		i7, i14, _, _ := h.loop.Impact("web", "web")
		if i7 == nil || i14 == nil || i14.To.Sub(i14.From) < 4*24*time.Hour || i7.To.Sub(i7.From) > 7*24*time.Hour+time.Minute {
			t.Fatalf("%s: impact reports %+v, %+v", tc.name, i7, i14)
		}
		if v := testutil.ToFloat64(h.exp.ImpactReplicaHoursPaid.WithLabelValues("web", "14d")); math.Abs(v-3600*i14.ReplicaHoursPaid()) > 1e-6 || (v <= 0) != tc.down {
			t.Errorf("%s: replica-hours paid exported %v, report %v", tc.name, v, i14.ReplicaHoursPaid())
		}
		if !tc.down && !(i14.UnservedSaved() > 0) {
			t.Errorf("%s: saved %v of demand, want some", tc.name, i14.UnservedSaved())
		}
		// The day-by-day count, as judged: floors ahead of demand beat the
		// cooler HPA on most days; floors that buy nothing on none.
		better := testutil.ToFloat64(h.exp.ImpactDays.WithLabelValues("web", "14d", "better"))
		worse := testutil.ToFloat64(h.exp.ImpactDays.WithLabelValues("web", "14d", "worse"))
		if better != float64(i14.DayWins) || worse != float64(i14.DayLosses) || (!tc.down && better <= worse) || (tc.down && better > 0) {
			t.Errorf("%s: prescale_impact_daily_outcomes better %v, worse %v; the judgement's %d and %d", tc.name, better, worse, i14.DayWins, i14.DayLosses)
		}
		// The plan made now: a stood-down target keeps its owner's floor
		// and says why.
		judgedAt := h.now
		lg.judged = h.now
		plan := h.tick(t)
		// The report the ScalingPolicy status is written from carries it.
		if ir := reported.Impact; ir == nil || ir.Last14d != i14 || ir.Last7d != i7 || ir.StoodDown != tc.down || ir.Why != lg.why || !ir.At.Equal(judgedAt) {
			t.Errorf("%s: reported impact %+v, want the last judgement's (at %v, down %v)", tc.name, ir, judgedAt, tc.down)
		}
		r := floorOf(t, plan, "web")
		said := strings.Contains(strings.Join(r.Reasons, "; "), "stood down")
		if said != tc.down {
			t.Errorf("%s: reasons %q", tc.name, r.Reasons)
		}
		if tc.down && r.Desired.(int) > 2 && !strings.Contains(strings.Join(r.Reasons, "; "), "scale-down") {
			t.Errorf("%s: stood down, the floor is %v: want the owner's 2 (or on its way down)", tc.name, r.Desired)
		}
	}
}

// Where the owner's quantile's floors do not pay but a lower operating
// point's do, the daemon puts that point in force rather than standing the
// target down: the plan sizes the forecast floor at it and says so, and
// prescale_operating_quantile exports it.
func TestDaemonPutsTheOperatingPointThatPaysInForce(t *testing.T) {
	// testPolicy with the default operating points.
	h := newHarness(t, strings.Replace(testPolicy, "        operatingPoints: []\n", "", 1))
	first := h.tick(t) // backfills the history
	// Not judged yet: the floors start at the lowest operating point.
	if why := strings.Join(floorOf(t, first, "web").Reasons, "; "); !strings.Contains(why, "operating point p30, not the owner's p90: the floors are not judged yet") {
		t.Errorf("first tick's reasons %q: want the floor sized at p30 until the floors are judged", why)
	}
	if v := testutil.ToFloat64(h.exp.OperatingQuantile.WithLabelValues("web")); v != 0.3 {
		t.Errorf("prescale_operating_quantile %v before the first judgement, want 0.3", v)
	}
	p := h.loop.policies()[0]
	tg := p.Spec.Targets[0]
	levels := tg.Capacity.Levels()
	if len(levels) != 4 || levels[2] != 0.5 {
		t.Fatalf("levels %v: want the owner's 0.9 and the default operating points 0.3, 0.5, 0.7", levels)
	}
	demandAt := func(t time.Time) float64 {
		i := int(t.Sub(h.tr.Start) / h.tr.Step)
		if i < 0 || i >= h.tr.Len() {
			return 0
		}
		return h.tr.Values[i]
	}
	good := func(t time.Time) int {
		peak := 0.0
		for m := 5; m <= 20; m += 5 {
			peak = math.Max(peak, demandAt(t.Add(time.Duration(m)*time.Minute)))
		}
		return int(math.Ceil(peak / (20 * 0.7)))
	}
	lg := &floorLedger{}
	for at := h.now.Add(-5 * 24 * time.Hour); at.Before(h.now); at = at.Add(ledgerStep) {
		lg.record(at, 2, levels, 2, good(at), 2) // p90, p30 and p70 buy nothing, p50 carries the demand
	}
	lg.judged = h.now.Add(-25 * time.Hour) // due
	h.loop.ledgers["web/web"] = lg
	down, points, _ := h.loop.standDowns(context.Background(), p, h.now)
	if _, ok := down["web"]; ok || points["web"] != 0.5 {
		t.Fatalf("stood down %q, operating points %v: want web at 0.5 (%s)", down["web"], points, lg.why)
	}
	if !strings.Contains(lg.why, "operating at p50 rather than the owner's p90") {
		t.Errorf("why %q does not name the operating point", lg.why)
	}
	if v := testutil.ToFloat64(h.exp.OperatingQuantile.WithLabelValues("web")); v != 0.5 {
		t.Errorf("prescale_operating_quantile %v, want 0.5", v)
	}
	lg.judged = h.now
	plan := h.tick(t)
	r := floorOf(t, plan, "web")
	if why := strings.Join(r.Reasons, "; "); !strings.Contains(why, "operating point p50, not the owner's p90") {
		t.Errorf("reasons %q do not say the floor is sized at p50", why)
	}
	st := h.loop.states[p.File+"#"+p.Key()].Targets["web"]
	if len(st.LevelFloors) != 4 || st.ForecastFloor != st.LevelFloors[2] || st.LevelFloors[2] > st.LevelFloors[0] {
		t.Errorf("forecast floor %d, level floors %v: want the p50 floor in force, at most the p90 one", st.ForecastFloor, st.LevelFloors)
	}
}

// capacity.standDown: false keeps the owner's floors whatever the daily
// judgement finds: floors that buy nothing are judged and reported, but
// do not stand down, and the reason says why they stay.
func TestStandDownFalseKeepsTheFloors(t *testing.T) {
	doc := strings.Replace(testPolicy, "        operatingPoints: []\n", "        standDown: false\n", 1)
	h := newHarness(t, doc)
	h.tick(t) // backfills the history
	p := h.loop.policies()[0]
	lg := ledgerFrom(h.now, func(time.Time) int { return 2 }) // floors that buy nothing
	lg.levels = nil
	lg.judged = h.now.Add(-25 * time.Hour) // due
	h.loop.ledgers["web/web"] = lg
	down, points, _ := h.loop.standDowns(context.Background(), p, h.now)
	if _, d := down["web"]; d {
		t.Fatalf("web stood down: %s; want the owner's floors kept", down["web"])
	}
	if q, ok := points["web"]; ok {
		t.Fatalf("web at operating point %v: want the owner's floors kept", q)
	}
	if lg.impact14 == nil || lg.down || !strings.Contains(lg.why, "capacity.standDown is false") || !strings.Contains(lg.why, "not 20% under") {
		t.Errorf("judged %v, down %v, why %q: want the judgement made, reported, and not acted on", lg.impact14 != nil, lg.down, lg.why)
	}
	if v := testutil.ToFloat64(h.exp.StoodDown.WithLabelValues("web")); v != 0 {
		t.Errorf("prescale_stood_down %v, want 0", v)
	}
}

// The daemon's judgement adds the last week to the 14 days (as the backtest
// does, sim.RecentVerdict): floors that carried a daily jump for a week and
// were then raised at the wrong hour still pay over the 14 days, but lose
// over the last 7, and stand down; with capacity.standDown false they stay.
func TestJudgementStandsDownFloorsThatStoppedPaying(t *testing.T) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	days := 14
	demand := forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, days*1440)}
	for i := range demand.Values {
		demand.Values[i] = 40
		if h := (i % 1440) / 60; h >= 9 && h < 12 {
			demand.Values[i] = 400
		}
	}
	switchAt := start.Add(7 * 24 * time.Hour)
	lg := &floorLedger{}
	for ts := start; ts.Before(demand.Time(demand.Len())); ts = ts.Add(ledgerStep) {
		m, floor := ts.Hour()*60+ts.Minute(), 0
		switch {
		case ts.Before(switchAt) && m >= 9*60-10 && m < 12*60:
			floor = 29 // ten minutes ahead of the jump to its end: 400 at 70%
		case !ts.Before(switchAt) && ts.Hour() >= 18 && ts.Hour() < 21:
			floor = 29 // evenings: nothing happens then
		}
		lg.record(ts, floor, nil)
	}
	cfg := sim.DefaultConfig(20)
	for _, act := range []bool{true, false} {
		j, err := judgeFloors(context.Background(), cfg, demand, lg, 0.9, act)
		if err != nil {
			t.Fatal(err)
		}
		if pays, whole := j.im14.Pays(StandDownMargin); !pays {
			t.Fatalf("over the 14 days the floors should pay (a week ahead of the jump): %s", whole)
		}
		if j.im7 == j.im14 || j.im7.To.Sub(j.im7.From) > 7*24*time.Hour+time.Minute {
			t.Fatalf("no 7-day comparison: %+v", j.im7)
		}
		if j.pays == act || act && !strings.Contains(j.why, "but over the last 7d") {
			t.Errorf("capacity.standDown %v: pays %v (%s); want stood down only when it may", act, j.pays, j.why)
		}
	}
}
