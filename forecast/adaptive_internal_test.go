package forecast

import (
	"gonum.org/v1/gonum/stat"
	"math"
	"testing"
)

// TestObserveMovesEachStepOnce: one forecast's scores move every step's
// offset by γ(q − 1{y ≤ Q}) and the pooled offset by the mean of those
// misses times its own rate, no more; a tie moves nothing.
func TestObserveMovesEachStepOnce(t *testing.T) {
	const h = 50
	q := 0.9
	f := &Forecast{Mean: make([]float64, h), Quantiles: map[float64][]float64{q: make([]float64, h)}}
	actual := make([]float64, h)
	for k := range actual {
		actual[k] = 1 // above every quantile (0): a miss at every step
	}
	actual[7] = 0          // a tie: no move
	actual[8] = math.NaN() // not observed: no move
	o := newOnline()
	o.observe(f, actual)
	st := o.levels[q]
	for k, a := range st.step {
		want := float32(stepGamma * q)
		if k == 7 || k == 8 {
			want = 0
		}
		if math.Abs(float64(a-want)) > 1e-7 {
			t.Errorf("step %d offset %v, want %v", k, a, want)
		}
	}
	if want := poolGamma * q; math.Abs(st.pool-want) > 1e-12 {
		t.Errorf("pooled offset %v, want %v", st.pool, want)
	}
	if got := o.level(q, 3); math.Abs(got-(q+poolGamma*q+stepGamma*q)) > 1e-7 {
		t.Errorf("working level %v", got)
	}
	// Coverage counts the tie as at or under, the NaN not at all.
	if c := o.coverage()[q]; math.Abs(c-1.0/49) > 1e-12 {
		t.Errorf("coverage %v, want 1/49", c)
	}
}

// TestOnlineQuantileExtends: inside [0, 1] the sample quantile; beyond, it
// keeps growing with the level, on both sides, even for a degenerate
// sample, so that a high enough working level covers any error.
func TestOnlineQuantileExtends(t *testing.T) {
	z := []float64{-3, -1, 0, 0.5, 2, 10}
	if got := onlineQuantile(z, 1); got != 10 {
		t.Errorf("level 1: %v", got)
	}
	if got := onlineQuantile(z, 0); got != -3 {
		t.Errorf("level 0: %v", got)
	}
	prev := math.Inf(-1)
	for l := -2.0; l <= 3; l += 0.01 {
		v := onlineQuantile(z, l)
		if !(v > prev) && (l < 0 || l > 1) {
			t.Fatalf("level %.2f: %v not above %v", l, v, prev)
		}
		prev = v
	}
	// Level 3: the maximum plus twice the slope, twice the distance from
	// the median (0: the third of six, as stat.LinInterp reads it) to the
	// maximum: 10 + 2·2·10.
	if got := onlineQuantile(z, 3); math.Abs(got-50) > 1e-9 {
		t.Errorf("level 3: %v, want 50", got)
	}
	flat := []float64{1, 1, 1}
	if !(onlineQuantile(flat, 1.5) > 1) || !(onlineQuantile(flat, -0.5) < 1) {
		t.Errorf("degenerate sample does not extend: %v %v", onlineQuantile(flat, 1.5), onlineQuantile(flat, -0.5))
	}
}

// TestQuantileSortedIsLinInterp: the constant-time quantile agrees with
// gonum's stat.Quantile (LinInterp) at every level, on samples of several
// sizes with ties.
func TestQuantileSortedIsLinInterp(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 100} {
		z := make([]float64, n)
		for i := range z {
			z[i] = math.Floor(float64(i*i) / 3)
		}
		for p := 0.0; p <= 1.0000001; p += 0.001 {
			q := math.Min(p, 1)
			if got, want := quantileSorted(z, q), stat.Quantile(q, stat.LinInterp, z, nil); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("n %d p %v: %v, stat.Quantile %v", n, q, got, want)
			}
		}
	}
}
