package controller

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/config"
)

// A verdict a previous process left (Config.Verdicts) stands from the first
// tick until this process has a day of its own floors to judge: an
// operating point stays in force, with a reason that says it was carried
// over and prescale_operating_quantile from the first tick; one older than
// carriedFor, or at a quantile the target no longer has, is dropped, and
// the target starts unjudged, saying why.
func TestCarriedVerdictStandsUntilJudged(t *testing.T) {
	doc := strings.Replace(testPolicy, "        operatingPoints: []\n", "", 1) // the default points 0.3, 0.5, 0.7
	for _, tc := range []struct {
		name     string
		v        Verdict
		want     string // in the floor's reasons
		quantile float64
	}{
		{"operating point", Verdict{Quantile: 0.5, Why: "operating at p50 rather than the owner's p90: ..."}, "operating point p50, not the owner's p90: " + CarriedPrefix, 0.5},
		{"too old", Verdict{Quantile: 0.5, Why: "x", JudgedAt: time.Time{}.Add(1)}, "is older than 28d and not carried over", 0.3},
		{"quantile gone", Verdict{Quantile: 0.6, Why: "x"}, "operated at p60, no longer one of the target's quantiles", 0.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, doc)
			v := tc.v
			if v.JudgedAt.IsZero() {
				v.JudgedAt = h.now.Add(-20 * time.Hour)
			} else {
				v.JudgedAt = h.now.Add(-carriedFor - time.Hour)
			}
			v.WrittenAt = h.now.Add(-time.Hour)
			asked := 0
			h.loop.cfg.Verdicts = func(p *config.Policy, target string) (Verdict, bool) {
				asked++
				return v, target == "web"
			}
			why := strings.Join(floorOf(t, h.tick(t), "web").Reasons, "; ")
			if !strings.Contains(why, tc.want) {
				t.Errorf("first tick's reasons %q, want %q", why, tc.want)
			}
			if q := testutil.ToFloat64(h.exp.OperatingQuantile.WithLabelValues("web")); q != tc.quantile {
				t.Errorf("prescale_operating_quantile %v, want %v", q, tc.quantile)
			}
			h.now = h.now.Add(5 * time.Minute)
			h.tick(t)
			if asked != 2 { // once per target, at the first tick
				t.Errorf("Verdicts asked %d times, want once per target", asked)
			}
		})
	}
}

// A stood-down verdict carried over keeps the forecast floors down, and the
// report (the status's impact) carries it, without figures, until this
// process judges a day of its own floors; then its own judgement replaces
// it. An empty ledger is never judged.
func TestCarriedStandDownUntilADayOfFloors(t *testing.T) {
	h := newHarness(t, testPolicy)
	judged := h.now.Add(-30 * time.Hour)
	h.loop.cfg.Verdicts = func(_ *config.Policy, target string) (Verdict, bool) {
		return Verdict{StoodDown: true, Why: CarriedPrefix + "2014-04-19T00:00:00Z (judged at x; ...): floors leave 1% unserved, not 20% under", JudgedAt: judged, WrittenAt: judged,
			Figures: map[string]Figures{"14d": {UnservedSaved: 0.01, ReplicaHoursPaid: 250, EqualCostRatio: 0.5}, "7d": {UnservedSaved: math.NaN(), ReplicaHoursPaid: 10, EqualCostRatio: math.NaN()}}}, target == "web"
	}
	var reported TargetReport
	h.loop.cfg.Report = func(_ context.Context, r Report) { reported = r.Targets["web"] }
	p := h.loop.policies()[0]
	// At 23:59, past every target's point of the day.
	if lg := h.loop.ledger(p, &p.Spec.Targets[0]); judgeDue(lg, h.now.Truncate(judgeEvery).Add(judgeEvery-time.Minute), "web", "web") {
		t.Fatal("an empty ledger is due for judgement")
	}
	for i := 0; i < 12; i++ {
		r := floorOf(t, h.tick(t), "web")
		why := strings.Join(r.Reasons, "; ")
		if !strings.Contains(why, "stood down, it does not pay: "+CarriedPrefix+judged.UTC().Format(time.RFC3339)) || strings.Count(why, CarriedPrefix) != 1 {
			t.Fatalf("tick %d: reasons %q, want the forecast floor stood down by the verdict carried over, said once", i, why)
		}
		if ir := reported.Impact; ir == nil || !ir.Carried || !ir.StoodDown || !ir.At.Equal(judged) || ir.Last14d != nil {
			t.Fatalf("tick %d: reported impact %+v, want the verdict carried over", i, ir)
		}
		h.now = h.now.Add(time.Hour)
	}
	if v := testutil.ToFloat64(h.exp.StoodDown.WithLabelValues("web")); v != 1 {
		t.Errorf("prescale_stood_down %v, want 1", v)
	}
	// The figures the status held are exported as they were; none is
	// made up where it had none.
	for _, c := range []struct {
		g    *prometheus.GaugeVec
		w    string
		want float64
	}{{h.exp.ImpactUnservedSaved, "14d", 0.01}, {h.exp.ImpactReplicaHoursPaid, "14d", 900000}, {h.exp.ImpactEqualCostRatio, "14d", 0.5}, {h.exp.ImpactReplicaHoursPaid, "7d", 36000}} {
		if v := testutil.ToFloat64(c.g.WithLabelValues("web", c.w)); v != c.want {
			t.Errorf("carried %s figure %v, want %v", c.w, v, c.want)
		}
	}
	if n := testutil.CollectAndCount(h.exp.ImpactEqualCostRatio); n != 1 {
		t.Errorf("%d equal-cost ratios exported, want the 14d one only", n)
	}
	// A day and more of this process's own floors: judged, and the
	// verdict carried over is replaced.
	for i := 0; i < 14*4 && (reported.Impact == nil || reported.Impact.Carried); i++ {
		h.tick(t)
		h.now = h.now.Add(30 * time.Minute)
	}
	if ir := reported.Impact; ir == nil || ir.Carried || ir.Last14d == nil || strings.Contains(ir.Why, CarriedPrefix) {
		t.Fatalf("after a day and more of floors the report is %+v, want this process's judgement", ir)
	}
}

func TestOriginalWhyStripsCarriedOver(t *testing.T) {
	v := &Verdict{Why: "floors leave 1% unserved (at p50): x", JudgedAt: time.Unix(0, 0), WrittenAt: time.Unix(60, 0)}
	twice := &Verdict{Why: carriedWhy(v)}
	if got := OriginalWhy(carriedWhy(twice)); got != v.Why {
		t.Errorf("OriginalWhy = %q, want %q", got, v.Why)
	}
}
