package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGuerrero: cycles whose spread grows in proportion to their level
// call for the log (λ = 0); cycles with the same spread at every level
// call for no transform (λ = 1); spread growing as the square root of the
// level, for λ = 0.5.
func TestGuerrero(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	series := func(sd func(level float64) float64) []float64 {
		var y []float64
		for c := range 30 {
			level := 50 + 40*float64(c%6)
			for range 24 {
				y = append(y, level+sd(level)*rng.NormFloat64())
			}
		}
		return y
	}
	cases := []struct {
		name string
		sd   func(float64) float64
		want float64
	}{
		{"proportional", func(l float64) float64 { return 0.1 * l }, 0},
		{"constant", func(float64) float64 { return 5 }, 1},
		{"square root", func(l float64) float64 { return math.Sqrt(l) }, 0.5},
	}
	for _, c := range cases {
		if got := guerrero(series(c.sd), 24); got != c.want {
			t.Errorf("%s spread: λ = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestBoxCoxRoundTrip: the inverse undoes the transform at every λ of the
// grid, and a transformed value below the range maps to zero.
func TestBoxCoxRoundTrip(t *testing.T) {
	for _, l := range guerreroLambdas {
		for _, y := range []float64{0.001, 0.5, 1, 7, 1234.5} {
			if got := invBoxCox(boxCox(y, l), l); math.Abs(got-y) > 1e-9*y {
				t.Errorf("λ %v: %v → %v", l, y, got)
			}
		}
		if l > 0 {
			if got := invBoxCox(-2/l, l); got != 0 {
				t.Errorf("λ %v: below the range gives %v", l, got)
			}
		}
	}
}
