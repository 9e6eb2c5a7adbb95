package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFillNearestIsTheSearch: the two-pass fill gives every empty slot the
// value the search from that slot would (nearest observed slot around the
// cycle, the later one on a tie), on random cycles with gaps of every
// length, wrapping ones and a single observed slot among them.
func TestFillNearestIsTheSearch(t *testing.T) {
	search := func(prof []float64) []float64 {
		period := len(prof)
		out := append([]float64(nil), prof...)
		for s := range prof {
			if !math.IsNaN(prof[s]) {
				continue
			}
			for d := 1; d < period; d++ {
				if v := prof[(s+d)%period]; !math.IsNaN(v) {
					out[s] = v
					break
				}
				if v := prof[(s-d+period)%period]; !math.IsNaN(v) {
					out[s] = v
					break
				}
			}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range 2000 {
		period := 1 + rng.IntN(60)
		prof := make([]float64, period)
		pEmpty := rng.Float64()
		have := 0
		for s := range prof {
			prof[s] = float64(s + 1)
			if rng.Float64() < pEmpty {
				prof[s] = math.NaN()
			} else {
				have++
			}
		}
		if have == 0 {
			prof[rng.IntN(period)] = 7
		}
		want := search(prof)
		got := append([]float64(nil), prof...)
		fillNearest(got)
		for s := range want {
			if got[s] != want[s] {
				t.Fatalf("case %d, %v: slot %d filled with %v, the search gives %v", c, prof, s, got[s], want[s])
			}
		}
	}
}

// TestFillProfileSmoothsAroundTheCycle: the smoothing is the circular
// moving average of 2·smooth+1 slots centred on each slot, wrapping at
// both ends, on random cycles and widths (reused scratch included).
func TestFillProfileSmoothsAroundTheCycle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sm := make([]float64, 0, 64)
	for c := range 2000 {
		period := 1 + rng.IntN(60)
		smooth := rng.IntN(6)
		sum, wsum := make([]float64, period), make([]float64, period)
		for s := range sum {
			wsum[s] = 0.5 + rng.Float64()
			sum[s] = wsum[s] * 100 * rng.Float64()
		}
		got := make([]float64, period)
		if err := fillProfile(got, sum, wsum, smooth, sm[:cap(sm)]); err != nil {
			t.Fatal(err)
		}
		for s := range got {
			want := sum[s] / wsum[s]
			if smooth > 0 && period > 2*smooth+1 {
				want = 0
				for d := -smooth; d <= smooth; d++ {
					j := ((s+d)%period + period) % period
					want += sum[j] / wsum[j]
				}
				want /= float64(2*smooth + 1)
			}
			if math.Abs(got[s]-want) > 1e-9 {
				t.Fatalf("case %d (period %d, smooth %d): slot %d is %v, the moving average %v", c, period, smooth, s, got[s], want)
			}
		}
	}
}
