package controller

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/sim"
)

// impact14 is a 14-day impact report where the HPA alone leaves 1% of
// demand unserved for 1000 replica-hours and the floors leave unserved
// for replica-hours.
func impact14(unserved, replicaHours float64) *sim.Impact {
	to := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	return &sim.Impact{From: to.Add(-14 * 24 * time.Hour), To: to,
		Reactive:   sim.Result{UnservedFraction: 0.01, ReplicaHours: 1000},
		Predictive: sim.Result{UnservedFraction: unserved, ReplicaHours: replicaHours}}
}

// hpa.promote.minGainPerCost: a shadow target whose forecasts meet the
// accuracy bar is promoted only when its floors' 14-day impact report
// gains at least that much availability per unit of cost and they are not
// stood down; the reason names the part of the bar that failed.
func TestPromotionGainPerCost(t *testing.T) {
	bar := &config.Promote{After: config.Duration(24 * time.Hour), MaxMASE: 1, MinCoverage: 0.85, MinGainPerCost: 2}
	accurate := "rolling MASE 0.5 ≤ 1 and coverage 0.9 ≥ 0.85 after 1d in shadow"
	for _, c := range []struct {
		name string
		bar  *config.Promote
		mase float64
		lg   *floorLedger
		ok   bool
		why  string
	}{
		{"no report yet", bar, 0.5, nil, false,
			"no impact report of its floors yet (the first comes once a day after 1d of floors) to check gain per cost ≥ 2"},
		{"judged but no comparison ran", bar, 0.5, &floorLedger{}, false,
			"no impact report of its floors yet (the first comes once a day after 1d of floors) to check gain per cost ≥ 2"},
		{"stood down", bar, 0.5, &floorLedger{impact14: impact14(0.009, 1200), down: true, why: "floors leave 0.9% unserved, not 20% under"}, false,
			"floors stood down over 14d: floors leave 0.9% unserved, not 20% under"},
		// Saved a fifth of the unserved demand for a quarter more pods: 0.8.
		{"below the bar", bar, 0.5, &floorLedger{impact14: impact14(0.008, 1250)}, false,
			"gain per cost 0.8 below 2 over 14d (floors saved 20% of the HPA alone's unserved demand for 25% more replica-hours)"},
		// Saved nothing and paid nothing: no gain to speak of.
		{"nothing saved, nothing paid", bar, 0.5, &floorLedger{impact14: impact14(0.01, 1000)}, false,
			"gain per cost NaN below 2 over 14d (floors saved 0% of the HPA alone's unserved demand for 0% more replica-hours)"},
		// Saved nine tenths for a quarter more: 3.6.
		{"above the bar", bar, 0.5, &floorLedger{impact14: impact14(0.001, 1250)}, true,
			accurate + ", and gain per cost 3.6 ≥ 2 over 14d (floors saved 90% of the HPA alone's unserved demand for 25% more replica-hours)"},
		// Saved half for exactly a quarter more: 2, at the bar.
		{"at the bar", bar, 0.5, &floorLedger{impact14: impact14(0.005, 1250)}, true,
			accurate + ", and gain per cost 2 ≥ 2 over 14d (floors saved 50% of the HPA alone's unserved demand for 25% more replica-hours)"},
		{"saved at no cost", bar, 0.5, &floorLedger{impact14: impact14(0.002, 1000)}, true,
			accurate + ", and gain per cost +Inf ≥ 2 over 14d (floors saved 80% of the HPA alone's unserved demand for 0% more replica-hours)"},
		{"paying floors, inaccurate forecasts", bar, 1.5, &floorLedger{impact14: impact14(0.001, 1250)}, false,
			"rolling MASE 1.5 above 1"},
		{"no gain bar: the impact is not asked", &config.Promote{After: bar.After, MaxMASE: 1, MinCoverage: 0.85}, 0.5,
			&floorLedger{impact14: impact14(0.009, 1200), down: true, why: "do not pay"}, true, accurate},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, why := promotion(c.bar, 25*time.Hour, c.mase, 0.9, c.lg)
			if ok != c.ok || why != c.why {
				t.Errorf("promotion = %v, %q;\nwant %v, %q", ok, why, c.ok, c.why)
			}
		})
	}
}

// Through the loop: a shadow target with minGainPerCost whose forecasts
// meet the accuracy bar stays in shadow, saying why, while its floors buy
// nothing, and is promoted once a judgement finds they pay.
func TestShadowTargetPromotedOnlyWhenFloorsPay(t *testing.T) {
	doc := strings.Replace(testPolicy, "        mode: active\n", "        mode: shadow\n        promote: {after: 1h, maxMASE: 5, minCoverage: 0.2, minGainPerCost: 1}\n", 1)
	h := newHarness(t, doc)
	var reported TargetReport
	h.loop.cfg.Report = func(_ context.Context, r Report) { reported = r.Targets["web"] }
	start := h.now
	for h.now.Sub(start) < 90*time.Minute {
		h.tick(t)
		h.now = h.now.Add(5 * time.Minute)
	}
	ft := h.loop.fits[fitKey{"web", "web", "demand"}]
	if ok, why := promotion(&config.Promote{After: config.Duration(time.Hour), MaxMASE: 5, MinCoverage: 0.2}, ft.f.Start.Sub(ft.scoredSince), ft.mase, ft.coverage, nil); !ok {
		t.Fatalf("the forecasts do not meet the accuracy bar after 90 minutes (%s): the test cannot tell the gain bar apart", why)
	}
	if v := testutil.ToFloat64(h.exp.Promoted.WithLabelValues("web")); v != 0 {
		t.Fatalf("promoted without an impact report")
	}
	if !strings.HasPrefix(reported.NotPromoted, "no impact report of its floors yet") {
		t.Errorf("not promoted, saying %q: want that no impact report was made", reported.NotPromoted)
	}

	demandAt := func(t time.Time) float64 {
		i := int(t.Sub(h.tr.Start) / h.tr.Step)
		if i < 0 || i >= h.tr.Len() {
			return 0
		}
		return h.tr.Values[i]
	}
	for _, tc := range []struct {
		name     string
		floor    func(time.Time) int
		promoted bool
	}{
		// Floors the HPA holds anyway buy nothing: they stand down.
		{"floors that buy nothing", func(time.Time) int { return 2 }, false},
		// The pods the next 20 minutes need at 70%.
		{"floors ahead of demand", func(t time.Time) int {
			peak := 0.0
			for m := 5; m <= 20; m += 5 {
				peak = math.Max(peak, demandAt(t.Add(time.Duration(m)*time.Minute)))
			}
			return int(math.Ceil(peak / (20 * 0.7)))
		}, true},
	} {
		lg := ledgerFrom(h.now, tc.floor)
		lg.judged = h.now.Add(-25 * time.Hour) // due
		h.loop.ledgers["web/web"] = lg
		h.tick(t)
		h.now = h.now.Add(5 * time.Minute)
		promoted := testutil.ToFloat64(h.exp.Promoted.WithLabelValues("web")) == 1
		if lg.impact14 == nil {
			t.Fatalf("%s: the floors were not judged", tc.name)
		}
		if promoted != tc.promoted {
			t.Fatalf("%s: promoted %v (%q / %q), want %v; gain per cost %.3g, stood down %v",
				tc.name, promoted, reported.Promoted, reported.NotPromoted, tc.promoted, lg.impact14.GainPerCost(), lg.down)
		}
		if !tc.promoted && !strings.HasPrefix(reported.NotPromoted, "floors stood down over") && !strings.HasPrefix(reported.NotPromoted, "gain per cost") {
			t.Errorf("%s: not promoted, saying %q: want the gain bar named", tc.name, reported.NotPromoted)
		}
		if tc.promoted && !strings.Contains(reported.Promoted, "gain per cost") {
			t.Errorf("%s: promoted, saying %q: want the gain per cost named", tc.name, reported.Promoted)
		}
		t.Logf("%s: %s%s", tc.name, reported.Promoted, reported.NotPromoted)
	}
}
