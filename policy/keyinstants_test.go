package policy

import (
	"strings"
	"testing"
	"time"
)

// The pricing engine at the instants its runbook cares about. Demand is
// small (one pod's worth) so that the floors come from the rules and the
// limits; the capacity model has its own tests.
func TestPricingTradingDay(t *testing.T) {
	e := loadExample(t, "pricing-trading-hours.yaml")
	for _, c := range []struct {
		name   string
		at     time.Time
		floor  int
		reason string
	}{
		{"08:00 ET on a trading day: the ramp starts", et(2026, 3, 10, 8, 0), 2, "owner's minReplicas 2"},
		{"08:45 ET: half-way up the ramp", et(2026, 3, 10, 8, 45), 6, "ramp to 10 before 09:30 EDT, 50% of the way"},
		{"09:30 ET: the open", et(2026, 3, 10, 9, 30), 10, "XNYS regular session"},
		{"09:45 ET on Good Friday (jobs-report step over)", et(2026, 4, 3, 9, 45), 2, "owner's minReplicas 2"},
		{"09:45 ET on a normal Friday", et(2026, 4, 10, 9, 45), 10, "XNYS regular session"},
		{"08:45 ET on Thanksgiving", et(2026, 11, 26, 8, 45), 2, "owner's minReplicas 2"},
		{"14:00 ET on a normal day", et(2026, 11, 25, 14, 0), 10, "regular session"},
		{"14:00 ET on the early close after Thanksgiving", et(2026, 11, 27, 14, 0), 4, "rule post-market (XNYS post-market session (early close 13:00 EST: Day after Thanksgiving)): floor 4"},
		{"Thursday before spring-forward, 13:30 UTC = 08:30 EST", time.Date(2026, 3, 5, 13, 30, 0, 0, time.UTC), 5, "33% of the way"},
		{"Monday after spring-forward, 13:30 UTC = 09:30 EDT", time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC), 10, "regular session"},
		{"Monday after fall-back, 13:30 UTC = 08:30 EST", time.Date(2026, 11, 2, 13, 30, 0, 0, time.UTC), 5, "33% of the way"},
		{"Monday after fall-back, 14:30 UTC = 09:30 EST", time.Date(2026, 11, 2, 14, 30, 0, 0, time.UTC), 10, "regular session"},
		{"a Saturday at noon", et(2026, 3, 7, 12, 0), 2, "owner's minReplicas 2"},
		// The jobs report (first Friday, 08:30): +50% from 30 minutes before,
		// on top of the ramp (2 + ceil(8 × 15/90) = 4).
		{"08:15 ET on the jobs-report Friday", et(2026, 3, 6, 8, 15), 6, "rule jobs-report (jobs-report 2026-03-06 08:30 EST, T-15m): minReplicas +50% → 6"},
		{"08:15 ET on the next Friday", et(2026, 3, 13, 8, 15), 4, "ramp to 10 before 09:30 EDT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := Inputs{Forecasts: demand(c.at, 300, "gateway", "calculator")}
			p, _ := e.Plan(c.at, State{}, in)
			r := find(t, p, "gateway", KindHPA, FieldMinReplicas)
			if r.Desired != c.floor {
				t.Errorf("gateway floor = %v, want %d; reasons: %q", r.Desired, c.floor, r.Reasons)
			}
			if !hasReason(r, c.reason) {
				t.Errorf("no reason containing %q in %q", c.reason, r.Reasons)
			}
			if !hasReason(r, "mode shadow") {
				t.Errorf("shadow mode not stated: %q", r.Reasons)
			}
		})
	}
}

func TestVolatilityHysteresis(t *testing.T) {
	e := loadExample(t, "pricing-trading-hours.yaml")
	at := et(2026, 3, 7, 12, 0) // a Saturday: no schedule rule interferes
	var st State
	for i, c := range []struct {
		vix     float64
		active  bool
		ceiling int
	}{
		{20, false, 30}, // below the threshold
		{26, true, 40},  // above 25: on
		{23, true, 40},  // between 22 and 25: stays on (hysteresis)
		{24.9, true, 40},
		{21, false, 38}, // below 22: off; the ceiling comes down 2 per 5m
		{24, false, 38}, // between: stays off
		{25.5, true, 40},
	} {
		// Demand of 10000 at p90: at 70% utilisation ceil(11000/560) = 20 pods,
		// at the rule's 60% ceil(11000/480) = 23.
		in := Inputs{Forecasts: demand(at, 10000, "gateway", "calculator"),
			Observed: map[string]map[string]float64{"gateway": {"vix": c.vix}, "calculator": {"vix": c.vix}},
			Current:  Current{HPAs: map[string]HPAStatus{"gateway": {MinReplicas: 20, MaxReplicas: 30}}}}
		p, next := e.Plan(at, st, in)
		st = next
		if got := st.Volatility["high-volatility/gateway"]; got != c.active {
			t.Errorf("step %d vix %g: active = %v, want %v", i, c.vix, got, c.active)
		}
		ceil := find(t, p, "gateway", KindHPA, FieldMaxReplicas)
		if ceil.Desired != c.ceiling {
			t.Errorf("step %d vix %g: maxReplicas = %v, want %d (%q)", i, c.vix, ceil.Desired, c.ceiling, ceil.Reasons)
		}
		cpu := find(t, p, "gateway", KindHPA, FieldTargetCPU)
		if want := map[bool]int{true: 60, false: 70}[c.active]; cpu.Desired != want {
			t.Errorf("step %d: CPU target %v, want %d: %q", i, cpu.Desired, want, cpu.Reasons)
		}
		floor := find(t, p, "gateway", KindHPA, FieldMinReplicas)
		if c.active {
			if floor.Desired != 23 || !hasReason(floor, "target utilisation 0.6") {
				t.Errorf("step %d: floor %v, want 23 at 60%% utilisation: %q", i, floor.Desired, floor.Reasons)
			}
		}
		at = at.Add(time.Minute)
	}
}

func TestOnboardingPlan(t *testing.T) {
	e := loadExample(t, "pricing-trading-hours.yaml")
	// T = 2026-12-07 09:30 ET. Demand small, so the rules show.
	T := et(2026, 12, 7, 9, 30)
	type want struct {
		floor, ceiling, nodes int
		db, cache             string
		dbReason              string
	}
	for _, c := range []struct {
		name string
		at   time.Time
		want want
	}{
		{"T-8d: normal", T.Add(-8 * 24 * time.Hour).Add(-14 * time.Hour), want{2, 30, 2, "db.r5.xlarge", "cache.m5.xlarge", "owner's class"}},
		// T-7d is a Monday: the DB step waits for the Saturday window.
		{"T-7d: tier up waits for the window", T.Add(-7 * 24 * time.Hour), want{10, 30, 6, "db.r5.xlarge", "cache.m5.xlarge", "XNYS regular session open: no class change during market hours"}},
		{"T-2d 03:00 inside the Saturday window", et(2026, 12, 5, 3, 0), want{2, 30, 2, "db.r5.2xlarge", "cache.m5.2xlarge", "inside a change window"}},
		{"T-1d: +50% floor, +100% ceiling, +50% nodes", T.Add(-24 * time.Hour), want{3, 60, 3, "db.r5.xlarge", "cache.m5.xlarge", "+1 tier"}},
		{"T: the open", T, want{15, 60, 12, "db.r5.xlarge", "cache.m5.xlarge", "+1 tier"}},
		{"T+7d: reset; the floor holds through stabilisation, the ceiling steps down", T.Add(7 * 24 * time.Hour), want{15, 58, 8, "db.r5.xlarge", "cache.m5.xlarge", "owner's class"}},
		{"T+7d+1h: back to normal", T.Add(7*24*time.Hour + time.Hour), want{10, 30, 6, "db.r5.xlarge", "cache.m5.xlarge", "owner's class"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Tick every minute for the half hour before, as the daemon does,
			// so the max step up does not hide the rules.
			var st State
			var p Plan
			for at := c.at.Add(-30 * time.Minute); !at.After(c.at); at = at.Add(time.Minute) {
				p, st = e.Plan(at, st, Inputs{Forecasts: demand(at, 300, "gateway", "calculator")})
			}
			floor := find(t, p, "gateway", KindHPA, FieldMinReplicas)
			ceil := find(t, p, "gateway", KindHPA, FieldMaxReplicas)
			nodes := find(t, p, "gateway", KindNodeGroup, FieldMinSize)
			db := find(t, p, "gateway", KindDatabase, FieldInstanceClass)
			cache := find(t, p, "gateway", KindCache, FieldNodeType)
			got := want{floor.Desired.(int), ceil.Desired.(int), nodes.Desired.(int), db.Desired.(string), cache.Desired.(string), ""}
			w := c.want
			w.dbReason = ""
			if got != w {
				t.Errorf("got %+v\nwant %+v\nfloor %q\nceiling %q\nnodes %q", got, w, floor.Reasons, ceil.Reasons, nodes.Reasons)
			}
			if !hasReason(db, c.want.dbReason) {
				t.Errorf("db reasons %q lack %q", db.Reasons, c.want.dbReason)
			}
			if !hasReason(db, "dry-run") || db.Apply {
				t.Errorf("database must be dry-run by default: %q", db.Reasons)
			}
		})
	}
}

func TestBlackFridayTwoHoursBefore(t *testing.T) {
	e := loadExample(t, "shop-black-friday.yaml")
	T := et(2026, 11, 27, 0, 0)
	for _, c := range []struct {
		at                      time.Time
		backend, frontend, ceil int
		db, cache               string
	}{
		{T.Add(-2*time.Hour - time.Minute), 3, 2, 20, "db.r5.large", "cache.r5.medium"},
		{T.Add(-2 * time.Hour), 15, 10, 50, "db.r5.xlarge", "cache.r5.large"},
		{T.Add(12 * time.Hour), 15, 10, 50, "db.r5.xlarge", "cache.r5.large"},
	} {
		in := Inputs{Forecasts: demand(c.at, 50, "backend", "frontend")}
		p, _ := e.Plan(c.at, State{}, in)
		if r := find(t, p, "backend", KindHPA, FieldMinReplicas); r.Desired != c.backend {
			t.Errorf("%s backend floor %v, want %d: %q", c.at, r.Desired, c.backend, r.Reasons)
		}
		if r := find(t, p, "frontend", KindHPA, FieldMinReplicas); r.Desired != c.frontend {
			t.Errorf("%s frontend floor %v, want %d: %q", c.at, r.Desired, c.frontend, r.Reasons)
		}
		for _, tg := range []string{"backend", "frontend"} {
			if r := find(t, p, tg, KindHPA, FieldMaxReplicas); r.Desired != c.ceil {
				t.Errorf("%s %s maxReplicas %v, want %d", c.at, tg, r.Desired, c.ceil)
			}
		}
		db := find(t, p, "backend", KindDatabase, FieldInstanceClass)
		if db.Desired != c.db {
			t.Errorf("%s db %v, want %s: %q", c.at, db.Desired, c.db, db.Reasons)
		}
		if c.db != "db.r5.large" && !hasReason(db, "outside the change windows") {
			t.Errorf("db reasons %q", db.Reasons)
		}
		if r := find(t, p, "backend", KindCache, FieldNodeType); r.Desired != c.cache {
			t.Errorf("%s cache %v, want %s: %q", c.at, r.Desired, c.cache, r.Reasons)
		}
	}
}

func TestBlackFridayScaleDownIsGradual(t *testing.T) {
	e := loadExample(t, "shop-black-friday.yaml")
	// Tick every minute across the reset at T+4d: the floor must come
	// down along the limits (10% per 10m after a 30m stabilisation and a
	// 10m cooldown), never in one step.
	T := et(2026, 11, 27, 0, 0)
	var st State
	prev := 0
	at := T.Add(4*24*time.Hour - 5*time.Minute)
	var floors []int
	for i := 0; i < 180; i++ {
		p, next := e.Plan(at, st, Inputs{Forecasts: demand(at, 50, "backend", "frontend")})
		st = next
		f := find(t, p, "backend", KindHPA, FieldMinReplicas).Desired.(int)
		if prev != 0 && f < prev && prev-f > max(1, (prev*10+99)/100) {
			t.Fatalf("minute %d: floor fell %d → %d, faster than 10%%", i, prev, f)
		}
		floors = append(floors, f)
		prev = f
		at = at.Add(time.Minute)
	}
	if floors[0] != 15 {
		t.Errorf("floor before the reset = %d, want 15", floors[0])
	}
	// Held through the stabilisation window (30m) after the reset at
	// minute 5, then one 10% step.
	if floors[33] != 15 || floors[34] != 13 {
		t.Errorf("floors at reset+28m, +29m = %d, %d, want 15, 13 (stabilisation)", floors[33], floors[34])
	}
	last := floors[len(floors)-1]
	if last >= 15 || last < 3 {
		t.Errorf("floor after 3h = %d, want between 3 and 14 (coming down gradually)", last)
	}
}

func TestOnSaleAndConnectionBudget(t *testing.T) {
	e := loadExample(t, "ticketing-on-sale.yaml")
	T := time.Date(2026, 12, 5, 10, 0, 0, 0, mustLoc("Europe/London"))
	at := T.Add(-time.Hour)
	p, _ := e.Plan(at, State{}, Inputs{Forecasts: demand(at, 30, "tickets-api")})
	floor := find(t, p, "tickets-api", KindHPA, FieldMinReplicas)
	if floor.Desired != 8 || !hasReason(floor, "rule on-sale (stadium-tour") || !hasReason(floor, "T-1h") {
		t.Errorf("1h before the on-sale: floor %v %q, want 8", floor.Desired, floor.Reasons)
	}
	// maxReplicas 16 × pool 20 = 320 > max_connections 200: capped to 10
	// and the next tier planned.
	ceil := find(t, p, "tickets-api", KindHPA, FieldMaxReplicas)
	if ceil.Desired != 10 || !hasReason(ceil, "16 pods × 20 connections = 320 > 200") {
		t.Errorf("ceiling %v %q, want 10 with the budget reason", ceil.Desired, ceil.Reasons)
	}
	db := find(t, p, "tickets-api", KindDatabase, FieldInstanceClass)
	if !hasReason(db, "next tier db.r5.large") {
		t.Errorf("db reasons %q lack the next tier", db.Reasons)
	}
	// 8 × 20 = 160 fits: nothing capped.
	p, _ = e.Plan(at, State{}, Inputs{Forecasts: demand(at, 30, "tickets-api"),
		Current: Current{Databases: map[string]string{"tickets-db": "db.r5.large"}}})
	if c := find(t, p, "tickets-api", KindHPA, FieldMaxReplicas); c.Desired != 16 {
		t.Errorf("on db.r5.large (400 connections) ceiling = %v, want 16: %q", c.Desired, c.Reasons)
	}
}

func TestConnectionBudgetWarn(t *testing.T) {
	doc := budgetPolicy(16, "warn")
	e := parsePolicy(t, doc)
	at := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	p, _ := e.Plan(at, State{}, Inputs{Forecasts: demand(at, 100, "api")})
	if c := find(t, p, "api", KindHPA, FieldMaxReplicas); c.Desired != 16 || !hasReason(c, "WARNING") {
		t.Errorf("warn: ceiling %v %q", c.Desired, c.Reasons)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "320 > 200") {
		t.Errorf("warnings %q", p.Warnings)
	}
	e = parsePolicy(t, budgetPolicy(8, "cap"))
	p, _ = e.Plan(at, State{}, Inputs{Forecasts: demand(at, 100, "api")})
	if c := find(t, p, "api", KindHPA, FieldMaxReplicas); c.Desired != 8 || len(p.Warnings) != 0 {
		t.Errorf("8 × 20 = 160 must fit: %v %q %q", c.Desired, c.Reasons, p.Warnings)
	}
}

func budgetPolicy(maxReplicas int, action string) string {
	return strings.NewReplacer("MAX", itoa(maxReplicas), "ACTION", action).Replace(`apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: budget}
spec:
  targets:
    - name: api
      signals: {demand: {query: "sum(rate(x[1m]))"}}
      capacity: {perPod: 100}
      hpa: {namespace: a, name: api, maxReplicas: MAX}
      database: pg
  databases:
    - name: pg
      identifier: pg
      tiers: [{class: small, maxConnections: 200}]
  rules:
    - name: budget
      connectionBudget: {database: pg, poolSize: 20, fraction: 1, action: ACTION}
`)
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(i)) }

func fmtInt(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return fmtInt(i/10) + string(rune('0'+i%10))
}

// A budget cap is not eased in: a floor of 14 held by stabilisation still
// drops to the budget's 10 at once.
func TestConnectionBudgetCapsAtOnce(t *testing.T) {
	e := loadExample(t, "ticketing-on-sale.yaml")
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := State{Targets: map[string]TargetState{"tickets-api": {Floor: 14, Ceiling: 16, LastChange: at.Add(-time.Minute),
		Recent: []Recommendation{{At: at.Add(-time.Minute), Floor: 14}}}}}
	p, _ := e.Plan(at, st, Inputs{Forecasts: demand(at, 30, "tickets-api")})
	floor := find(t, p, "tickets-api", KindHPA, FieldMinReplicas)
	ceil := find(t, p, "tickets-api", KindHPA, FieldMaxReplicas)
	if floor.Desired != 10 || ceil.Desired != 10 {
		t.Errorf("floor %v ceiling %v, want 10 and 10: %q %q", floor.Desired, ceil.Desired, floor.Reasons, ceil.Reasons)
	}
}
