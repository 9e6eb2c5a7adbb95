package policy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

// The pricing API runbook (DESIGN.md, "Pricing API"), step by step, on
// deploy/examples/pricing-trading-hours.yaml. Demand is small (the owner's
// minimum suffices) so that every value comes from the runbook's rules.
var pricingDemand = map[string]float64{"gateway": 300, "calculator": 300, "data": 300}

// pricingTimeline starts the pricing policy at start with the gateway
// promoted from shadow, as it is after its two weeks of proving: the
// runbook's steps are what an acting prescale does.
func pricingTimeline(t *testing.T, start time.Time) *timeline {
	tl := newTimeline(t, loadExample(t, "pricing-trading-hours.yaml"), start, pricingDemand)
	tl.promote = map[string]string{"gateway": "test: promoted after 14 days"}
	tl.step()
	return tl
}

// The HPAs as the runbook lists them: gateway min 3 max 20 CPU 70%;
// calculation service min 3 max 30 in production, CPU 80%; data service
// min 3 max 15. Overnight, at the minimum.
func TestRunbookPricingHPAs(t *testing.T) {
	tl := pricingTimeline(t, et(2026, 3, 10, 1, 0))
	check(t, "overnight", tl.to(et(2026, 3, 10, 3, 0)),
		floorOf("gateway", 3), ceilOf("gateway", 20), cpuOf("gateway", 70),
		floorOf("calculator", 3), ceilOf("calculator", 30), cpuOf("calculator", 80),
		floorOf("data", 3), ceilOf("data", 15),
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.xlarge", ""},
		want{"gateway", KindCache, FieldNodeType, "cache.m5.xlarge", ""},
		want{"gateway", KindDatabase, FieldReadReplicas, 2, "owner's 2 read replicas"})
}

// The 08:00 CronJob: the calculation service's minReplicas is 10 from the
// start of pre-market, through market hours, reduced gradually after the
// close, at its minimum overnight; nothing on exchange holidays.
func TestRunbookPricingTradingDay(t *testing.T) {
	for _, c := range []struct {
		name string
		day  time.Time // midnight ET
		// close is the day's close (16:00, 13:00 on an early close).
		close time.Time
	}{
		{"a trading day", et(2026, 3, 10, 0, 0), et(2026, 3, 10, 16, 0)},
		{"the early close after Thanksgiving", et(2026, 11, 27, 0, 0), et(2026, 11, 27, 13, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := pricingTimeline(t, c.day)
			check(t, "07:59 ET", tl.to(c.day.Add(7*time.Hour+59*time.Minute)), floorOf("calculator", 3))
			check(t, "08:00 ET, pre-market", tl.to(c.day.Add(8*time.Hour)),
				floorOf("calculator", 10).because("pre-market session"))
			check(t, "09:30 ET, the open", tl.to(c.day.Add(9*time.Hour+30*time.Minute)),
				floorOf("calculator", 10).because("regular session"))
			check(t, "a minute before the close", tl.to(c.close.Add(-time.Minute)), floorOf("calculator", 10))
			check(t, "the close", tl.to(c.close), floorOf("calculator", 10))
			// After the close: down gradually, never up, never all at once.
			prev := 10
			for at := c.close.Add(time.Minute); !at.After(c.close.Add(3 * time.Hour)); at = at.Add(time.Minute) {
				f := resource(t, tl.to(at), "calculator", KindHPA, FieldMinReplicas).Desired.(int)
				if f > prev || prev-f > 1 {
					t.Fatalf("%s: floor %d after %d: not a gradual reduction", at.Format("15:04"), f, prev)
				}
				if at.Equal(c.close.Add(time.Hour)) && (f <= 3 || f >= 10) {
					t.Errorf("an hour after the close: floor %d, want between the minimum 3 and 10 (reduced gradually)", f)
				}
				prev = f
			}
			check(t, "3 hours after the close, overnight", tl.last, floorOf("calculator", 3))
		})
	}
	t.Run("Thanksgiving (NYSE holiday)", func(t *testing.T) {
		tl := pricingTimeline(t, et(2026, 11, 26, 0, 0))
		for _, hm := range [][2]int{{8, 0}, {9, 30}, {12, 0}, {16, 0}} {
			check(t, "Thanksgiving", tl.to(et(2026, 11, 26, hm[0], hm[1])), floorOf("calculator", 3))
		}
	})
	t.Run("custom closure 2025-01-09", func(t *testing.T) {
		tl := pricingTimeline(t, et(2025, 1, 9, 0, 0))
		check(t, "National Day of Mourning 09:30", tl.to(et(2025, 1, 9, 9, 30)), floorOf("calculator", 3))
	})
	t.Run("a Saturday", func(t *testing.T) {
		tl := pricingTimeline(t, et(2026, 3, 7, 0, 0))
		check(t, "Saturday 10:00", tl.to(et(2026, 3, 7, 10, 0)), floorOf("calculator", 3))
	})
}

// 08:00 ET is 13:00 UTC in winter and 12:00 UTC in summer: the floor
// follows the local clock across both DST changes of 2026 (March 8,
// November 1).
func TestRunbookPricingDST(t *testing.T) {
	utc := func(m time.Month, d, h, mm int) time.Time { return time.Date(2026, m, d, h, mm, 0, 0, time.UTC) }
	for _, c := range []struct {
		name          string
		before, at    time.Time
		wantB, wantAt int
	}{
		{"Thursday before spring-forward (EST)", utc(3, 5, 12, 59), utc(3, 5, 13, 0), 3, 10},
		{"Monday after spring-forward (EDT)", utc(3, 9, 11, 59), utc(3, 9, 12, 0), 3, 10},
		{"Friday before fall-back (EDT)", utc(10, 30, 11, 59), utc(10, 30, 12, 0), 3, 10},
		{"Monday after fall-back (EST)", utc(11, 2, 12, 59), utc(11, 2, 13, 0), 3, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := pricingTimeline(t, c.before.Add(-3*time.Hour))
			check(t, "07:59 local", tl.to(c.before), floorOf("calculator", c.wantB))
			check(t, "08:00 local", tl.to(c.at), floorOf("calculator", c.wantAt))
		})
	}
}

// Volatility (VIX above the threshold): minReplicas 15, maxReplicas 40, CPU
// target 60%; back afterwards. Economic data (the jobs report) is the same
// at a known time.
func TestRunbookPricingVolatility(t *testing.T) {
	tl := pricingTimeline(t, et(2026, 3, 7, 9, 0)) // a Saturday: no schedule
	vix := func(v float64) {
		tl.obs = map[string]map[string]float64{"gateway": {"vix": v}, "calculator": {"vix": v}}
	}
	vix(18)
	calm := []want{floorOf("gateway", 3), ceilOf("gateway", 20), cpuOf("gateway", 70),
		floorOf("calculator", 3), ceilOf("calculator", 30), cpuOf("calculator", 80)}
	check(t, "VIX 18", tl.to(et(2026, 3, 7, 10, 0)), calm...)
	vix(27)
	check(t, "VIX 27, above 25", tl.to(et(2026, 3, 7, 10, 1)),
		floorOf("gateway", 15).because("rule high-volatility"), ceilOf("gateway", 40), cpuOf("gateway", 60),
		floorOf("calculator", 15), ceilOf("calculator", 40), cpuOf("calculator", 60))
	vix(23)
	check(t, "VIX 23: still volatile (off below 22)", tl.to(et(2026, 3, 7, 11, 0)),
		floorOf("gateway", 15), ceilOf("gateway", 40), cpuOf("gateway", 60),
		floorOf("calculator", 15), ceilOf("calculator", 40), cpuOf("calculator", 60))
	vix(20)
	check(t, "VIX 20, the minute it calms", tl.to(et(2026, 3, 7, 11, 1)), cpuOf("gateway", 70), cpuOf("calculator", 80))
	check(t, "VIX 20, back afterwards", tl.to(et(2026, 3, 7, 14, 0)), calm...)

	t.Run("jobs report", func(t *testing.T) {
		// 2026-03-06 is the first Friday of March: the report is at 08:30.
		tl := pricingTimeline(t, et(2026, 3, 6, 6, 0))
		check(t, "07:59", tl.to(et(2026, 3, 6, 7, 59)), floorOf("gateway", 3), ceilOf("gateway", 20), cpuOf("gateway", 70))
		check(t, "08:00, 30 minutes before", tl.to(et(2026, 3, 6, 8, 0)),
			floorOf("gateway", 15).because("rule jobs-report"), ceilOf("gateway", 40), cpuOf("gateway", 60),
			floorOf("calculator", 15), ceilOf("calculator", 40), cpuOf("calculator", 60))
		check(t, "09:29, just before the reset an hour after the report", tl.to(et(2026, 3, 6, 9, 29)), floorOf("calculator", 15), cpuOf("calculator", 60))
		// An hour after the report: back to the trading day's values.
		check(t, "12:00", tl.to(et(2026, 3, 6, 12, 0)),
			floorOf("gateway", 3), ceilOf("gateway", 20), cpuOf("gateway", 70),
			floorOf("calculator", 10), ceilOf("calculator", 30), cpuOf("calculator", 80))
		// The second Friday has no report.
		tl = pricingTimeline(t, et(2026, 3, 13, 6, 0))
		check(t, "second Friday 08:00", tl.to(et(2026, 3, 13, 8, 0)), floorOf("gateway", 3), cpuOf("gateway", 70))
	})
}

// Client onboarding: DB and cache one tier up at T-7 days (a DB change
// needs a window, and a snapshot first), minReplicas +50%, maxReplicas
// +100% and node-group capacity +50% at T-1 day, back to normal at T+7 days.
func TestRunbookPricingOnboarding(t *testing.T) {
	T := et(2026, 12, 7, 9, 30) // Monday, the open
	day := 24 * time.Hour
	tl := pricingTimeline(t, T.Add(-8*day-time.Hour))
	normal := tl.to(T.Add(-8 * day))
	check(t, "T-8d", normal,
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.xlarge", ""},
		want{"gateway", KindCache, FieldNodeType, "cache.m5.xlarge", ""})

	// T-7d is Monday 09:30, the open: DB changes wait for the night's
	// window (02:00-05:00 ET, outside market hours).
	p := tl.to(T.Add(-7 * day))
	check(t, "T-7d, market open", p,
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.xlarge", "session open: no class change during market hours"},
		want{"gateway", KindCache, FieldNodeType, "cache.m5.xlarge", ""})
	p = tl.to(et(2026, 12, 1, 1, 59))
	check(t, "T-7d, the night before the window", p, want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.xlarge", "waiting for a change window"})
	p = tl.to(et(2026, 12, 1, 2, 0))
	check(t, "T-7d, first change window", p,
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", "+1 tier"},
		want{"gateway", KindCache, FieldNodeType, "cache.m5.2xlarge", "+1 tier"})
	db := resource(t, p, "gateway", KindDatabase, FieldInstanceClass)
	if !db.Snapshot || !db.Apply || !hasReason(db, "snapshot") {
		t.Errorf("the DB class change must take a snapshot first and be applied (dryRun false): snapshot %v apply %v %q", db.Snapshot, db.Apply, db.Reasons)
	}
	if c := resource(t, p, "gateway", KindCache, FieldNodeType); !c.Apply || c.Snapshot {
		t.Errorf("the cache change must be applied, without an RDS snapshot: %+v", c)
	}
	if tl.applied[KindDatabase+"/pricing-db/"+FieldInstanceClass] != 1 {
		t.Errorf("DB class changes applied: %d, want 1", tl.applied[KindDatabase+"/pricing-db/"+FieldInstanceClass])
	}

	// Sunday, the day before (T-1d minus a minute): tiers up, replicas normal.
	before := tl.to(T.Add(-day - time.Minute))
	nodesBefore := resource(t, before, "gateway", KindNodeGroup, FieldMinSize).Desired.(int)
	check(t, "T-1d minus a minute", before, floorOf("gateway", 3), ceilOf("gateway", 20), floorOf("calculator", 3), ceilOf("calculator", 30),
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", ""})

	// T-1d: +50% floors (3 → 5), +100% ceilings, +50% nodes.
	p = tl.to(T.Add(-day))
	check(t, "T-1d", p,
		floorOf("gateway", 5).because("minReplicas +50%"), ceilOf("gateway", 40).because("maxReplicas +100%"),
		floorOf("calculator", 5), ceilOf("calculator", 60),
		floorOf("data", 5), ceilOf("data", 30),
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", ""},
		want{"gateway", KindCache, FieldNodeType, "cache.m5.2xlarge", ""},
		want{"gateway", KindDatabase, FieldReadReplicas, 2, ""})
	nodes := resource(t, p, "gateway", KindNodeGroup, FieldMinSize)
	if n := nodes.Desired.(int); n < (nodesBefore*3+1)/2 || !hasReason(nodes, "nodes +50%") {
		t.Errorf("T-1d: node group minimum %d, want at least +50%% of %d: %q", n, nodesBefore, nodes.Reasons)
	}

	// T, the open: the market-hours floor 10, +50% = 15.
	check(t, "T", tl.to(T), floorOf("calculator", 15), ceilOf("calculator", 60), floorOf("gateway", 5), ceilOf("gateway", 40))
	tl.tick = 5 * time.Minute // the quiet middle of the event
	check(t, "T+3d", tl.to(T.Add(3*day)), floorOf("calculator", 15), ceilOf("calculator", 60),
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", ""})

	// T+7d: back to normal (the floors and ceilings along the scale-down
	// limits: the calculator's ceiling 60 → 30 one pod per 5 minutes).
	tl.to(T.Add(7*day - time.Hour))
	tl.tick = time.Minute
	check(t, "T+7d", tl.to(T.Add(7*day)), ceilOf("calculator", 59).because("scale-down rate"))
	check(t, "T+7d+3h", tl.to(T.Add(7*day+3*time.Hour)),
		floorOf("gateway", 3), ceilOf("gateway", 20), floorOf("calculator", 10), ceilOf("calculator", 30),
		floorOf("data", 3), ceilOf("data", 15))
	// The tiers come back down after the 72h hysteresis, in the first
	// window after it: Thursday 09:30 + nothing in market hours → Friday 02:00.
	check(t, "T+7d+71h", tl.to(T.Add(10*day-time.Hour)), want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", "hysteresis"})
	check(t, "T+7d+72h, market open", tl.to(T.Add(10*day)), want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", "no class change during market hours"})
	check(t, "Friday 01:59", tl.to(et(2026, 12, 18, 1, 59)), want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.2xlarge", "waiting for a change window"})
	p = tl.to(et(2026, 12, 18, 2, 0))
	check(t, "Friday 02:00, the window", p,
		want{"gateway", KindDatabase, FieldInstanceClass, "db.r5.xlarge", "one rung down"},
		want{"gateway", KindCache, FieldNodeType, "cache.m5.xlarge", ""})
	if db := resource(t, p, "gateway", KindDatabase, FieldInstanceClass); !db.Snapshot || !db.Apply {
		t.Errorf("the way back down takes a snapshot too: %+v", db)
	}
}

// Shadow, the gateway's forecasts not yet proven: the plan is the same,
// and nothing it shares with the gateway is applied.
func TestRunbookPricingShadowAppliesNothingShared(t *testing.T) {
	e := loadExample(t, "pricing-trading-hours.yaml")
	tl := newTimeline(t, e, et(2026, 11, 30, 23, 0), pricingDemand)
	p := tl.to(et(2026, 12, 1, 2, 0))
	db := resource(t, p, "gateway", KindDatabase, FieldInstanceClass)
	if db.Desired != "db.r5.2xlarge" || db.Apply {
		t.Errorf("shadow gateway: DB planned %v, apply %v; want planned db.r5.2xlarge, not applied", db.Desired, db.Apply)
	}
	if f := resource(t, p, "calculator", KindHPA, FieldMinReplicas); f.Desired != 3 {
		t.Errorf("calculator floor %v", f.Desired)
	}
}

// A tier an event needs whose next change window opens only after the
// event has started arrives late: the plan warns.
func TestRunbookWindowAfterEventWarns(t *testing.T) {
	data, err := os.ReadFile("../deploy/examples/pricing-trading-hours.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer(
		"- {at: -7d, databaseTiersUp: 1, cacheTiersUp: 1}", "- {at: -1d, databaseTiersUp: 1, cacheTiersUp: 1}",
		`"0 2 * * *"`, `"0 2 * * 6"`).Replace(string(data))
	ps, err := config.Parse([]byte(doc), "late-window.yaml")
	if err != nil {
		t.Fatal(err)
	}
	T := et(2026, 12, 7, 9, 30)
	tl := newTimeline(t, NewEngine(ps[0]), T.Add(-25*time.Hour), pricingDemand)
	tl.promote = map[string]string{"gateway": "test"}
	p := tl.to(T.Add(-24 * time.Hour))
	db := resource(t, p, "gateway", KindDatabase, FieldInstanceClass)
	if db.Desired != "db.r5.xlarge" || !hasReason(db, "after the event it is for starts (2026-12-07 09:30 EST)") {
		t.Errorf("db %v %q", db.Desired, db.Reasons)
	}
	found := false
	for _, w := range p.Warnings {
		found = found || strings.Contains(w, "database pricing-db: the next change window opens 2026-12-12 02:00 EST")
	}
	if !found {
		t.Errorf("no warning about the late window in %q", p.Warnings)
	}
	// The shipped example's nightly window is before the event: no warning.
	tl = pricingTimeline(t, T.Add(-7*24*time.Hour-time.Hour))
	for _, w := range tl.to(T.Add(-7 * 24 * time.Hour)).Warnings {
		if strings.Contains(w, "change window opens") {
			t.Errorf("unexpected warning %q", w)
		}
	}
}
