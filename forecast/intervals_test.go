package forecast

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// errRows returns n validation origins of hv steps whose errors at step k
// are draws of noise(k).
func errRows(n, hv int, noise func(rng *rand.Rand, k int) float64) [][]float64 {
	rng := rand.New(rand.NewPCG(3, 14))
	rows := make([][]float64, n)
	for j := range rows {
		rows[j] = make([]float64, hv)
		for k := range rows[j] {
			rows[j][k] = noise(rng, k)
		}
	}
	return rows
}

func flatMean(n int, v float64) []float64 {
	m := make([]float64, n)
	for i := range m {
		m[i] = v
	}
	return m
}

// TestCalibrateIsTheErrorQuantile: when every step errs alike (here the
// same multiset of errors at every step, and every origin's errors with the
// same mean, so that nothing is common to a whole forecast), each step's
// scale is the same, so the calibrated quantile q is the mean plus the
// q-quantile of the errors themselves. A band scaled by any factor fails
// this.
func TestCalibrateIsTheErrorQuantile(t *testing.T) {
	base := []float64{-9, -4, -2, -1, 0, 0.5, 1, 2, 3, 5, 8, 13}
	hv := len(base)
	rows := make([][]float64, len(base))
	for j := range rows {
		rows[j] = make([]float64, hv)
		for k := range hv {
			rows[j][k] = base[(j+k)%len(base)]
		}
	}
	pool := append([]float64(nil), base...)
	for range hv - 1 {
		pool = append(pool, base...)
	}
	sort.Float64s(pool)
	qs := []float64{0.1, 0.5, 0.9}
	out := calibrate(flatMean(hv, 100), rows, qs, false, nil)
	for _, q := range qs {
		want := 100 + stat.Quantile(q, stat.LinInterp, pool, nil)
		for k, v := range out[q] {
			if math.Abs(v-want) > 1e-9 {
				t.Errorf("q%.1f step %d = %.6f, want %.6f (mean + the errors' own quantile)", q, k, v, want)
			}
		}
	}
}

// TestCalibrateWidensTheCommonPart: when each origin errs by one amount at
// every step (all of the error common to the forecast), n origins are n
// draws of it, and the band around their mean is widened by the
// prediction-interval factor √((n+1)/(n−1))·t₀.₉₅(n−1)/z₀.₉₅ (1.31 for 8),
// which tends to 1 as origins accumulate.
func TestCalibrateWidensTheCommonPart(t *testing.T) {
	const hv = 5
	base := []float64{-6, -3, -1, 0, 1, 2, 4, 9}
	rows := make([][]float64, len(base))
	var m float64
	for j, e := range base {
		rows[j] = flatMean(hv, e)
		m += e / float64(len(base))
	}
	var pool []float64 // every step's errors: hv copies of base
	for range hv {
		pool = append(pool, base...)
	}
	sort.Float64s(pool)
	n := float64(len(base))
	c := math.Sqrt((n+1)/(n-1)) * 1.894578605 / 1.644853627 // t₀.₉₅(7) / z₀.₉₅
	if c < 1.3 || c > 1.32 {
		t.Fatalf("factor %v", c)
	}
	for _, q := range []float64{0.05, 0.5, 0.9} {
		got := calibrate(flatMean(hv, 0), rows, []float64{q}, false, nil)[q]
		want := m + c*(stat.Quantile(q, stat.LinInterp, pool, nil)-m)
		for k, v := range got {
			if math.Abs(v-want) > 1e-6 {
				t.Errorf("q%v step %d = %.6f, want %.6f", q, k, v, want)
			}
		}
	}
	// 400 origins: the factor is within 1% of 1.
	rows = errRows(400, hv, func(rng *rand.Rand, _ int) float64 { return 0 })
	for j := range rows {
		rows[j] = flatMean(hv, base[j%len(base)])
	}
	got := calibrate(flatMean(hv, 0), rows, []float64{0.9}, false, nil)[0.9]
	if want := stat.Quantile(0.9, stat.LinInterp, pool, nil); math.Abs(got[0]-m-(want-m)) > 0.01*math.Abs(want-m)+1e-9 {
		t.Errorf("400 origins: q0.9 %.4f, want about %.4f", got[0], want)
	}
}

// TestCalibrateWidensPastTheValidatedHorizon: beyond the last validated
// step the band widens as the square root of the horizon: at step k ≥ hv
// it is the last validated step's times sqrt((k+1)/hv).
func TestCalibrateWidensPastTheValidatedHorizon(t *testing.T) {
	const hv, h = 4, 16
	rows := errRows(50, hv, func(rng *rand.Rand, _ int) float64 { return rng.NormFloat64() * 5 })
	out := calibrate(flatMean(h, 0), rows, []float64{0.9}, false, nil)[0.9]
	last := out[hv-1]
	if last <= 0 {
		t.Fatalf("band %v at the last validated step", last)
	}
	for k := hv; k < h; k++ {
		want := last * math.Sqrt(float64(k+1)/hv)
		if math.Abs(out[k]-want) > 1e-9*want {
			t.Errorf("step %d band %.6f, want %.6f (×sqrt(%d/%d))", k, out[k], want, k+1, hv)
		}
	}
	if out[h-1] < 1.99*last {
		t.Errorf("step %d band %.3f not twice step %d's %.3f", h-1, out[h-1], hv-1, last)
	}
}

// TestCalibratePerStepScaleShrunkTowardGlobal: steps 0–1 err by ±1, steps
// 2–3 by ±10. Each step's scale is the mean absolute error of it and its
// neighbours, shrunk toward the overall mean: the late band is wider than
// the early one (a global scale would make them equal), but by less than
// the raw ratio of 10 (no shrinkage would give exactly 10).
func TestCalibratePerStepScaleShrunkTowardGlobal(t *testing.T) {
	const hv = 4
	rows := errRows(10, hv, func(rng *rand.Rand, k int) float64 {
		s := 1.0
		if k >= 2 {
			s = 10
		}
		if rng.IntN(2) == 0 {
			return -s
		}
		return s
	})
	out := calibrate(flatMean(hv, 0), rows, []float64{0.9}, false, nil)[0.9]
	r := out[3] / out[0]
	if !(r > 1.5 && r < 9.5) {
		t.Errorf("band at step 3 / step 0 = %.3f (%.3f / %.3f), want between 1 (global scale) and 10 (no shrinkage)", r, out[3], out[0])
	}
	// With many origins the local evidence dominates the prior: the ratio
	// approaches the raw 10 but stays below it.
	rows = errRows(2000, hv, func(rng *rand.Rand, k int) float64 {
		if k >= 2 {
			return 10 * (2*float64(rng.IntN(2)) - 1)
		}
		return 2*float64(rng.IntN(2)) - 1
	})
	out = calibrate(flatMean(hv, 0), rows, []float64{0.9}, false, nil)[0.9]
	if r2 := out[3] / out[0]; !(r2 > r && r2 < 10) {
		t.Errorf("with 2000 origins the ratio %.3f, want between %.3f and 10", r2, r)
	}
}
