package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestClipBoundsIsTheSort: the percentiles DetectSeasons clips at, found by
// selection, are the order statistics a sort gives, with ties, gaps and
// short series.
func TestClipBoundsIsTheSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for c := range 3000 {
		n := rng.IntN(700)
		v := make([]float64, n)
		levels := 1 + rng.IntN(50)
		for i := range v {
			v[i] = float64(rng.IntN(levels)) * rng.Float64()
			if rng.IntN(10) == 0 {
				v[i] = math.NaN()
			}
		}
		var obs []float64
		for _, x := range v {
			if !math.IsNaN(x) {
				obs = append(obs, x)
			}
		}
		lo, hi := clipBounds(append([]float64(nil), v...))
		if len(obs) < 4 {
			if !math.IsNaN(lo) || !math.IsNaN(hi) {
				t.Fatalf("case %d: %d observed values: bounds %v %v, want NaN", c, len(obs), lo, hi)
			}
			continue
		}
		slices.Sort(obs)
		k := len(obs) / 100
		if lo != obs[k] || hi != obs[len(obs)-1-k] {
			t.Fatalf("case %d (%d values): bounds %v %v, the sort gives %v %v", c, len(obs), lo, hi, obs[k], obs[len(obs)-1-k])
		}
	}
}

// TestMedianIsTheSort: median by selection equals the sorted middle (the
// mean of the two middles for an even count), with ties and tiny inputs.
func TestMedianIsTheSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for c := range 5000 {
		n := 1 + rng.IntN(40)
		if c%3 == 0 {
			n = 1 + rng.IntN(6)
		}
		if c%10 == 0 {
			n = 1 + rng.IntN(3000)
		}
		x := make([]float64, n)
		levels := 1 + rng.IntN(20)
		for i := range x {
			x[i] = float64(rng.IntN(levels)) - 5*rng.Float64()
		}
		s := append([]float64(nil), x...)
		slices.Sort(s)
		want := s[n/2]
		if n%2 == 0 {
			want = (s[n/2-1] + s[n/2]) / 2
		}
		if n <= 6 {
			// cleanOutliers' median of a point's neighbours.
			if got := smallMedian(append([]float64(nil), x...)); got != want {
				t.Fatalf("case %d (%d values): smallMedian %v, the sort gives %v", c, n, got, want)
			}
		}
		if got := median(x); got != want {
			t.Fatalf("case %d (%d values): median %v, the sort gives %v", c, n, got, want)
		}
	}
}
