package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

const tiered = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: tiers}
spec:
  targets:
    - name: api
      signals:
        demand: {query: "sum(rate(req[1m]))"}
        dbConnections: {query: "sum(pg_connections)"}
        cacheHitRatio: {query: "hit_ratio", baseline: 0.9}
      capacity: {perPod: 100, window: 15m}
      hpa: {namespace: a, name: api, mode: active, maxReplicas: 100, maxStepUp: 100}
      database: db
      cache: redis
  databases:
    - name: db
      identifier: db
      tiers:
        - {class: s, maxConnections: 100, capacity: 1000}
        - {class: m, maxConnections: 200, capacity: 2000}
        - {class: l, maxConnections: 400, capacity: 4000}
      connectionFraction: 0.5
      leadTime: 1h
      hysteresis: 24h
      changeWindows:
        - {schedule: "0 2 * * *", duration: 2h}
        - {schedule: "CRON_TZ=America/New_York 0 12 * * 1", duration: 2h}
      calendar: nyse
  calendars:
    - {name: nyse, exchange: XNYS}
  caches:
    - name: redis
      identifier: redis
      tiers:
        - {class: c1, capacity: 5000}
        - {class: c2, capacity: 10000}
      dryRun: false
`

// tierInputs forecasts demand d and connections c (p90, flat) around at.
func tierInputs(at time.Time, d, c float64, live, liveCache string, hit float64) Inputs {
	in := Inputs{Forecasts: map[string]map[string]*forecast.Forecast{"api": {
		"demand":        flat(at.Add(-time.Hour), d, d),
		"dbConnections": flat(at.Add(-time.Hour), c, c),
	}}, Current: Current{Databases: map[string]string{"db": live}, Caches: map[string]string{"redis": liveCache}}}
	if hit > 0 {
		in.Observed = map[string]map[string]float64{"api": {"cacheHitRatio": hit}}
	}
	return in
}

func TestTiers(t *testing.T) {
	e := parsePolicy(t, tiered)
	inWin := time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC)
	outWin := time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC) // Sunday evening in New York
	for _, c := range []struct {
		name       string
		at         time.Time
		prev       TierState
		in         Inputs
		db, cache  string
		dbReason   string
		cacheApply bool
	}{
		{"fits the owner's class", inWin, TierState{}, tierInputs(inWin, 500, 20, "s", "c1", 0), "s", "c1", "the forecast fits the owner's class s", false},
		{"load needs m: one rung in the window", inWin, TierState{}, tierInputs(inWin, 1500, 20, "s", "c1", 0), "m", "c1", "forecast needs m (capacity 2000, max connections 200 × 0.5)", false},
		// 3500 needs l: from s, one rung at a time.
		{"two rungs needed: one at a time", inWin, TierState{}, tierInputs(inWin, 3500, 20, "s", "c1", 0), "m", "c1", "one rung at a time: s now, m next", false},
		// A Monday noon New York window is inside the NYSE session: the
		// market-hours guard wins over the window.
		{"window during market hours: wait", time.Date(2026, 6, 1, 12, 30, 0, 0, newYork), TierState{}, tierInputs(time.Date(2026, 6, 1, 12, 30, 0, 0, newYork), 1500, 20, "s", "c1", 0), "s", "c1", "XNYS regular session open: no class change during market hours (waiting for 20:00 EDT)", false},
		{"outside the window: wait", outWin, TierState{}, tierInputs(outWin, 1500, 20, "s", "c1", 0), "s", "c1", "waiting for a change window (next opens 2026-06-01 02:00 UTC)", false},
		// Connections 90 > 0.5 × 100: m (100 ≤ 0.5 × 200).
		{"connections need m", inWin, TierState{}, tierInputs(inWin, 500, 90, "s", "c1", 0), "m", "c1", "forecast p90 connections 90", false},
		// Hit ratio 0.8 against 0.9 doubles the database load: 600 → 1200.
		{"falling cache hit ratio", inWin, TierState{}, tierInputs(inWin, 600, 20, "s", "c1", 0.8), "m", "c1", "cache hit ratio 0.8 below baseline 0.9: database load × 2", false},
		{"hysteresis holds the higher tier", inWin, TierState{Class: "m", NeededAt: inWin.Add(-23 * time.Hour)}, tierInputs(inWin, 500, 20, "m", "c1", 0), "m", "c1", "one rung down only after 1d quiet", false},
		{"quiet long enough: one rung down", inWin, TierState{Class: "m", NeededAt: inWin.Add(-25 * time.Hour)}, tierInputs(inWin, 500, 20, "m", "c1", 0), "s", "c1", "quiet for 1d: one rung down to s", false},
		{"fresh start above need: the quiet period starts now", inWin, TierState{}, tierInputs(inWin, 500, 20, "l", "c1", 0), "l", "c1", "one rung down only after 1d quiet", false},
		// The cache (no windows, dryRun false) follows load at once and applies.
		{"cache load 6000 needs c2", outWin, TierState{}, tierInputs(outWin, 6000, 20, "l", "c1", 0), "l", "c2", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, next := e.Plan(c.at, State{Tiers: map[string]TierState{"database/db": c.prev}}, c.in)
			db := find(t, p, "api", KindDatabase, FieldInstanceClass)
			cache := find(t, p, "api", KindCache, FieldNodeType)
			if db.Desired != c.db || cache.Desired != c.cache {
				t.Errorf("db %v cache %v, want %s %s\ndb %q\ncache %q", db.Desired, cache.Desired, c.db, c.cache, db.Reasons, cache.Reasons)
			}
			if !hasReason(db, c.dbReason) {
				t.Errorf("db reasons %q lack %q", db.Reasons, c.dbReason)
			}
			if db.Apply {
				t.Error("database is dry-run by default: must not apply")
			}
			if cache.Apply != c.cacheApply {
				t.Errorf("cache apply %v, want %v", cache.Apply, c.cacheApply)
			}
			if next.Tiers["database/db"].Class != c.db {
				t.Errorf("state class %q", next.Tiers["database/db"].Class)
			}
		})
	}
}

func TestTierNotAppliedForShadowTargets(t *testing.T) {
	e := parsePolicy(t, strings.Replace(tiered, "mode: active", "mode: shadow", 1))
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	p, _ := e.Plan(at, State{}, tierInputs(at, 6000, 20, "l", "c1", 0))
	if c := find(t, p, "api", KindCache, FieldNodeType); c.Desired != "c2" || c.Apply {
		t.Errorf("shadow target: cache %v apply %v, want c2 planned but not applied", c.Desired, c.Apply)
	}
	// A ladder without maxConnections (a cache's) says only what it has.
	if c := find(t, p, "api", KindCache, FieldNodeType); !slices.Contains(c.Reasons, "forecast needs c2 (capacity 10000)") {
		t.Errorf("cache reasons %q: want \"forecast needs c2 (capacity 10000)\"", c.Reasons)
	}
}

func TestTierNeverBelowOwner(t *testing.T) {
	doc := strings.Replace(tiered, "      connectionFraction: 0.5\n", "      connectionFraction: 0.5\n      current: m\n", 1)
	e := parsePolicy(t, doc)
	at := time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC)
	p, _ := e.Plan(at, State{Tiers: map[string]TierState{"database/db": {NeededAt: at.Add(-48 * time.Hour)}}}, tierInputs(at, 10, 1, "m", "c1", 0))
	if db := find(t, p, "api", KindDatabase, FieldInstanceClass); db.Desired != "m" {
		t.Errorf("db %v below the owner's class m: %q", db.Desired, db.Reasons)
	}
}

// Without a forecast (an offline plan with no --input, or fail-static)
// a tier's reason says so instead of claiming the forecast fits.
func TestTierWithoutForecast(t *testing.T) {
	e := parsePolicy(t, tiered)
	at := time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC)
	in := Inputs{Current: Current{Databases: map[string]string{"db": "s"}, Caches: map[string]string{"redis": "c1"}}}
	p, _ := e.Plan(at, State{}, in)
	for _, r := range []Resource{find(t, p, "api", KindDatabase, FieldInstanceClass), find(t, p, "api", KindCache, FieldNodeType)} {
		if r.Desired != r.Current || slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, "forecast fits") }) ||
			!slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.HasPrefix(s, "no usable demand forecast: the owner's class ") }) {
			t.Errorf("%s %s without a forecast: %v → %v, reasons %q", r.Kind, r.Name, r.Current, r.Desired, r.Reasons)
		}
	}
}
