package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refAdditiveETS is fitAdditiveETS as first written: each grid point by
// its own pass over the series.
func refAdditiveETS(x []float64) (aetsParams, bool) {
	best := aetsParams{}
	bestE := math.Inf(1)
	found := false
	try := func(alpha, beta, phi float64) {
		l, b := math.NaN(), 0.0
		var sse float64
		for _, v := range x {
			if math.IsNaN(v) {
				continue
			}
			if math.IsNaN(l) {
				l = v
				continue
			}
			f := l + phi*b
			e := v - f
			sse += e * e
			l = f + alpha*e
			b = phi*b + beta*e
		}
		if !math.IsNaN(l) && sse < bestE {
			best, bestE, found = aetsParams{alpha: alpha, beta: beta, phi: phi, l: l, b: b}, sse, true
		}
	}
	for _, a := range thetaAlphas {
		try(a, 0, 1)
	}
	noTrend, noTrendE := best, bestE
	for _, a := range []float64{0.1, 0.3, 0.7} {
		for _, phi := range []float64{0.9, 0.98} {
			try(a, 0.05*a, phi)
		}
	}
	if best.beta > 0 && bestE > 0.98*noTrendE {
		best = noTrend
	}
	return best, found
}

// TestAdditiveETSGridEqualsOnePassEach: the one-pass grids (simple
// smoothing and damped trends) give exactly what one recursion per grid
// point gives, on random walks with and without drift, gaps, leading gaps
// and an all-gap series.
func TestAdditiveETSGridEqualsOnePassEach(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 7))
	for trial := range 200 {
		n := 1 + r.IntN(400)
		x := make([]float64, n)
		lvl, drift := 100*r.Float64(), 0.0
		if trial%2 == 1 {
			drift = 2 * r.NormFloat64()
		}
		gaps := r.Float64() * 0.3
		for i := range x {
			lvl += drift + 5*r.NormFloat64()
			x[i] = lvl
			if r.Float64() < gaps || (trial%5 == 0 && i < n/3) || trial%37 == 0 {
				x[i] = math.NaN()
			}
		}
		got, gotOK := fitAdditiveETS(x)
		want, wantOK := refAdditiveETS(x)
		if got != want || gotOK != wantOK {
			t.Fatalf("trial %d (n %d): got %+v %v, want %+v %v", trial, n, got, gotOK, want, wantOK)
		}
	}
}

// TestSeasonalComponentReadsFromComponentStart: MSTL computes the series
// less the other components only from componentStart on; seasonalComponent
// must read nothing before it. Poisoning the values before it changes
// nothing; poisoning the one value at it does.
func TestSeasonalComponentReadsFromComponentStart(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 8))
	for range 300 {
		period := 2 + r.IntN(200)
		cycles := 1 + r.IntN(7)
		n := 2*period + r.IntN(8*period)
		y := make([]float64, n)
		slots := make([]int32, n)
		for i := range y {
			y[i] = 10*math.Sin(2*math.Pi*float64(i)/float64(period)) + r.NormFloat64()
			if r.Float64() < 0.1 {
				y[i] = math.NaN()
			}
			slots[i] = int32(i % period)
		}
		buf := make([]float64, 2*(n+1))
		want := seasonalComponent(y, slots, period, cycles, 0.85, buf)
		start := componentStart(n, period, cycles)
		p := append([]float64(nil), y...)
		for i := range start {
			p[i] = 1e300
		}
		got := seasonalComponent(p, slots, period, cycles, 0.85, buf)
		for s := range want {
			if got[s] != want[s] && !(math.IsNaN(got[s]) && math.IsNaN(want[s])) {
				t.Fatalf("n %d period %d cycles %d: slot %d is %v with values before %d poisoned, %v without",
					n, period, cycles, s, got[s], start, want[s])
			}
		}
		// The bound is tight: the value at start is read when observed.
		if !math.IsNaN(y[start]) {
			p[start] = 1e300
			got = seasonalComponent(p, slots, period, cycles, 0.85, buf)
			same := true
			for s := range want {
				same = same && got[s] == want[s]
			}
			if same {
				t.Fatalf("n %d period %d cycles %d: value %d not read", n, period, cycles, start)
			}
		}
	}
}
