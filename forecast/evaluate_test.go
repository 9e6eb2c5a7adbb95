package forecast_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// TestEvaluateCalibrationPerLevelAndBlock: Evaluate's calibration report
// (the share of actual values at or under each quantile, over all steps
// and per block of horizon steps, and the central interval's coverage per
// block) is recomputed here from the forecasts a daemon would have made at
// the same origins (Select, each inheriting the one before's online
// calibration), and must agree exactly. A miscounted block, a level left
// out, an off-by-one in the origins or a report that ignores the online
// calibration fails it.
func TestEvaluateCalibrationPerLevelAndBlock(t *testing.T) {
	s := shiftingSeries(24, 3)
	const h, origins, blocks = 12, 10, 3
	ev, err := forecast.Evaluate(s, forecast.EvalOptions{Horizon: h, Origins: origins, Coverage: 0.9, Levels: []float64{0.8, 0.2, 0.5}, Blocks: blocks})
	if err != nil {
		t.Fatal(err)
	}
	levels := []float64{0.05, 0.2, 0.5, 0.8, 0.95}
	wantBlocks := []forecast.StepBlock{{From: 1, To: 4}, {From: 5, To: 8}, {From: 9, To: 12}}
	if !slices.Equal(ev.Blocks, wantBlocks) {
		t.Fatalf("blocks %v, want %v", ev.Blocks, wantBlocks)
	}
	if len(ev.Calibration) != len(levels) {
		t.Fatalf("%d levels reported, want %v", len(ev.Calibration), levels)
	}

	// The same origins, oldest first: one horizon apart, the last leaving
	// a full horizon of actual values.
	below := make([][]float64, len(levels))
	under := make([]float64, len(levels))
	for l := range below {
		below[l] = make([]float64, blocks)
	}
	inside, n := make([]float64, blocks), make([]float64, blocks)
	var prev *forecast.Selection
	for j := origins - 1; j >= 0; j-- {
		o := s.Len() - h - j*h
		f, sel, err := forecast.Select(s.Slice(0, o), forecast.Options{Horizon: h, Quantiles: levels, Previous: prev})
		if err != nil {
			t.Fatal(err)
		}
		prev = sel
		for k := range h {
			y, b := s.Values[o+k], k*blocks/h
			n[b]++
			for l, q := range levels {
				if y <= f.Quantiles[q][k] {
					below[l][b]++
				}
				if y < f.Quantiles[q][k] {
					under[l]++
				}
			}
			if y >= f.Quantiles[0.05][k] && y <= f.Quantiles[0.95][k] {
				inside[b]++
			}
		}
	}
	total := n[0] + n[1] + n[2]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	for l, q := range levels {
		lc := ev.Calibration[l]
		if lc.Level != q {
			t.Fatalf("level %d is %v, want %v", l, lc.Level, q)
		}
		all := below[l][0] + below[l][1] + below[l][2]
		if !near(lc.Below, all/total) {
			t.Errorf("q%v: %.4f of actual values at or under it reported, %.4f recomputed", q, lc.Below, all/total)
		}
		if !near(lc.Under, under[l]/total) {
			t.Errorf("q%v: %.4f of actual values strictly under it reported, %.4f recomputed", q, lc.Under, under[l]/total)
		}
		for b := range blocks {
			if !near(lc.Blocks[b], below[l][b]/n[b]) {
				t.Errorf("q%v block %v: %.4f reported, %.4f recomputed", q, ev.Blocks[b], lc.Blocks[b], below[l][b]/n[b])
			}
		}
	}
	for b := range blocks {
		if !near(ev.IntervalBlocks[b], inside[b]/n[b]) {
			t.Errorf("90%% interval, block %v: %.4f reported, %.4f recomputed", ev.Blocks[b], ev.IntervalBlocks[b], inside[b]/n[b])
		}
	}
	sel, _ := ev.Score("selection")
	if in := (inside[0] + inside[1] + inside[2]) / total; !near(sel.Coverage, in) {
		t.Errorf("selection's 90%% coverage %.4f, recomputed %.4f", sel.Coverage, in)
	}
	// The quantiles are ordered, so their shares must be too; and the
	// replay is not degenerate (every share 0 or 1 would pass the above).
	for l := 1; l < len(levels); l++ {
		if ev.Calibration[l].Below < ev.Calibration[l-1].Below {
			t.Errorf("q%v holds %.3f, less than q%v's %.3f", levels[l], ev.Calibration[l].Below, levels[l-1], ev.Calibration[l-1].Below)
		}
	}
	if m := ev.Calibration[2].Below; m < 0.2 || m > 0.8 {
		t.Errorf("median holds %.3f of actual values", m)
	}
}

// TestEvaluateUnderWithTies: on counts that are mostly zero the low
// quantiles are clipped at zero, every zero ties with them, and the share
// at or under them overstates where they lie; the strict share tells.
// A calibrated low quantile then has Under ≤ level ≤ Below.
func TestEvaluateUnderWithTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	v := make([]float64, 24*24)
	for i := range v {
		// Zero at night, a few events by day.
		if h := i % 24; h >= 8 && h < 20 && rng.Float64() < 0.5 {
			v[i] = float64(1 + rng.IntN(3))
		}
	}
	s := forecast.Series{Start: time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC), Step: time.Hour, Values: v}
	ev, err := forecast.Evaluate(s, forecast.EvalOptions{Horizon: 24, Origins: 10, Coverage: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	lo := ev.Calibration[0]
	if lo.Level != 0.05 || lo.Below < 0.5 {
		t.Fatalf("q%v holds %.3f at or under it: the zeros should tie with it", lo.Level, lo.Below)
	}
	if lo.Under >= lo.Below || lo.Under > lo.Level {
		t.Errorf("q0.05: %.3f strictly under, %.3f at or under; want strictly under below both the share at or under and the level", lo.Under, lo.Below)
	}
	for _, lc := range ev.Calibration {
		if lc.Under > lc.Below {
			t.Errorf("q%v: %.3f strictly under, more than the %.3f at or under", lc.Level, lc.Under, lc.Below)
		}
	}
}

// TestEvaluateM4OWA: Evaluate's M4 score is recomputed here from Auto's
// and Naive2's forecasts at the same origins: sMAPE over every forecast
// point, MASE scaled per origin by the in-sample seasonal naive at a day
// (M4's m = 24 for hourly data, not the evaluation's weekly baseline), and
// OWA = ½ sMAPE ratio + ½ MASE ratio against Naive2.
func TestEvaluateM4OWA(t *testing.T) {
	s := shiftingSeries(21, 5)
	const h, origins = 24, 6
	ev, err := forecast.Evaluate(s, forecast.EvalOptions{Horizon: h, Origins: origins, Independent: true})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Baseline.Period != 168 {
		t.Fatalf("baseline %v: the test wants a weekly one, to tell M4's MASE from it", ev.Baseline)
	}
	m4 := ev.M4
	if m4 == nil || m4.Period != 24 || m4.Origins != origins || m4.SeasonalOrigins != origins {
		t.Fatalf("M4 score %+v: want period 24 and %d origins, all seasonal", m4, origins)
	}
	smape := func(y, p float64) float64 {
		if d := math.Abs(y) + math.Abs(p); d > 0 {
			return 200 * math.Abs(y-p) / d
		}
		return 0
	}
	var sS, nS, sMASE, nMASE, points float64
	for j := origins - 1; j >= 0; j-- {
		o := s.Len() - h - j*h
		hist := s.Slice(0, o)
		f, err := forecast.Auto(hist, forecast.Options{Horizon: h, Quantiles: forecast.DefaultLevels})
		if err != nil {
			t.Fatal(err)
		}
		n2, _, err := forecast.Naive2(hist.Values, 24, h)
		if err != nil {
			t.Fatal(err)
		}
		var scale float64
		for i := 24; i < o; i++ {
			scale += math.Abs(s.Values[i] - s.Values[i-24])
		}
		scale /= float64(o - 24)
		var aeS, aeN float64
		for k := range h {
			y := s.Values[o+k]
			sS += smape(y, f.Mean[k])
			nS += smape(y, n2[k])
			aeS += math.Abs(y - f.Mean[k])
			aeN += math.Abs(y - n2[k])
			points++
		}
		sMASE += aeS / h / scale / origins
		nMASE += aeN / h / scale / origins
	}
	want := forecast.M4Score{Period: 24, Origins: origins, SeasonalOrigins: origins,
		SMAPE: sS / points, Naive2SMAPE: nS / points, MASE: sMASE, Naive2MASE: nMASE}
	want.OWA = (want.SMAPE/want.Naive2SMAPE + want.MASE/want.Naive2MASE) / 2
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Abs(b) }
	if !near(m4.SMAPE, want.SMAPE) || !near(m4.Naive2SMAPE, want.Naive2SMAPE) || !near(m4.MASE, want.MASE) ||
		!near(m4.Naive2MASE, want.Naive2MASE) || !near(m4.OWA, want.OWA) {
		t.Errorf("M4 score\n %+v, recomputed\n %+v", *m4, want)
	}
	if sc, ok := ev.Score("naive2"); !ok || !near(sc.SMAPE, want.Naive2SMAPE) {
		t.Errorf("naive2 score %+v, want sMAPE %v", sc, want.Naive2SMAPE)
	}
	t.Logf("OWA %.3f (sMAPE %.2f vs %.2f, MASE %.3f vs %.3f)", m4.OWA, m4.SMAPE, m4.Naive2SMAPE, m4.MASE, m4.Naive2MASE)
}
