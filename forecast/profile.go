package forecast

import (
	"fmt"
	"math"
)

// SeasonalProfile forecasts with a robust seasonal profile: for each
// local-time slot of the season, a recency-weighted mean of the last Cycles
// cycles, smoothed across neighbouring slots and scaled to the recent level.
// It is the model runbooks assume ("Monday looks like last Mondays"), with
// the noise of any one cycle averaged out: on noisy load it beats the
// seasonal naive by a wide margin, and gaps or outages cost it little.
type SeasonalProfile struct {
	// Season indexes Input.Seasons; -1 means the longest.
	Season int
	// Cycles is how many past cycles are averaged (default 4).
	Cycles int
	// Decay is the weight of each older cycle relative to the next newer
	// one, in (0, 1] (default 0.8).
	Decay float64
	// Smooth is the half-width, in slots, of the moving average across
	// neighbouring slots (0: none).
	Smooth int
	// Level in [0, 1] is how much of the gap between the last day's
	// observations and the profile carries into the forecast.
	Level float64
}

// Name implements Model.
func (m SeasonalProfile) Name() string {
	return "profile"
}

// Fit implements Model.
func (m SeasonalProfile) Fit(in *Input) (Fit, error) {
	n := in.Len()
	k := m.Season
	if k < 0 || k >= len(in.Seasons) {
		k = len(in.Seasons) - 1
	}
	if k < 0 {
		return Fit{}, fmt.Errorf("profile: series has no season")
	}
	period := in.Seasons[k].Period
	if n < period {
		return Fit{}, fmt.Errorf("profile: %d points, less than one %s cycle (%d)", n, in.Seasons[k].Name, period)
	}
	cycles := m.Cycles
	if cycles <= 0 {
		cycles = 4
	}
	decay := m.Decay
	if decay <= 0 || decay > 1 {
		decay = 0.8
	}
	slots := in.Slots[k]
	// Scratch for the sums and the two profiles, and fillProfile's
	// smoothing: validation fits every profile at a dozen origins.
	sp, buf := getScratch(7 * period)
	defer putScratch(sp)
	clear(buf[:4*period])
	sum, wsum, psum, pwsum := buf[:period], buf[period:2*period], buf[2*period:3*period], buf[3*period:4*period]
	prof, prior, sm := buf[4*period:5*period], buf[5*period:6*period], buf[6*period:]
	from := n - cycles*period
	if from < 0 {
		from = 0
	}
	// Weights fall per cycle back from the end: exp(log(decay) * age).
	ld := math.Log(decay)
	// prior is the profile without the last two days: what the last days
	// are compared with to measure the recent level.
	day := in.Seasons[0].Period
	w, cycle := 1.0, 0
	for i := n - 1; i >= from; i-- {
		v := in.Values[i]
		if math.IsNaN(v) {
			continue
		}
		if c := (n - 1 - i) / period; c != cycle {
			cycle = c
			w = math.Exp(ld * float64(c))
		}
		s := slots[i]
		sum[s] += w * v
		wsum[s] += w
		if i < n-2*day {
			psum[s] += w * v
			pwsum[s] += w
		}
	}
	if err := fillProfile(prof, sum, wsum, m.Smooth, sm); err != nil {
		return Fit{}, fmt.Errorf("profile: %w", err)
	}
	f := level{mult: in.NonNegative, value: 0}
	if in.NonNegative {
		f.value = 1
	}
	weight := m.Level
	if fillProfile(prior, psum, pwsum, m.Smooth, sm) == nil {
		// Recent level: the last day against the prior profile at the
		// same slots. A rise that the day before shows too has held for
		// two days: it is taken in full; anything else in part.
		f = levelFactor(in, prior, slots, n-day, n)
		g := levelFactor(in, prior, slots, n-2*day, n-day)
		if f.persists(g) {
			weight = 1
		}
	}
	mean := make([]float64, in.Horizon)
	for i := range mean {
		p := prof[slots[n+i]]
		if f.mult {
			mean[i] = p * (1 + weight*(f.value-1))
		} else {
			mean[i] = p + weight*f.value
		}
		if in.NonNegative && mean[i] < 0 {
			mean[i] = 0
		}
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("profile(%s, %d cycles, smooth %d, level %.2f×%.3f)",
		in.Seasons[k].Name, cycles, m.Smooth, weight, f.value)}, nil
}

// fillProfile turns weighted sums into the profile, fills slots never
// observed from their neighbours and applies the circular moving average
// (sm: len(prof) values of scratch).
func fillProfile(prof, sum, wsum []float64, smooth int, sm []float64) error {
	period := len(prof)
	have := 0
	for s := range prof {
		if wsum[s] > 0 {
			prof[s] = sum[s] / wsum[s]
			have++
		} else {
			prof[s] = math.NaN()
		}
	}
	if have == 0 {
		return fmt.Errorf("no observed values")
	}
	if have < period {
		fillNearest(prof)
	}
	if smooth > 0 && period > 2*smooth+1 {
		sm = sm[:period]
		var acc float64
		for d := -smooth; d <= smooth; d++ {
			acc += prof[(d+period)%period]
		}
		w := float64(2*smooth + 1)
		// The window's next slot in and last slot out, around the cycle
		// (indices kept in range by subtraction: no division per slot).
		in, out := smooth+1, period-smooth
		for s := 0; s < period; s++ {
			sm[s] = acc / w
			acc += prof[in] - prof[out]
			if in++; in == period {
				in = 0
			}
			if out++; out == period {
				out = 0
			}
		}
		copy(prof, sm)
	}
	return nil
}

// fillNearest replaces each NaN of the cycle prof by the value of the
// nearest observed slot around the cycle, the later one on a tie. It fills
// gap by gap between the observed slots that bound it, rather than
// searching from every empty slot, which cost the square of a long gap's
// length. prof must hold an observed value.
func fillNearest(prof []float64) {
	period := len(prof)
	o0 := -1
	for s, v := range prof {
		if !math.IsNaN(v) {
			o0 = s
			break
		}
	}
	if o0 < 0 {
		return
	}
	// Walk once around from o0: l is the last observed slot, in steps
	// from o0; each observed slot r (o0 again at the end) closes a gap.
	// at maps a step from o0 to its slot without a division.
	at := func(d int) int {
		j := o0 + d
		if j >= period {
			j -= period
		}
		return j
	}
	l := 0
	for r := 1; r <= period; r++ {
		if r < period && math.IsNaN(prof[at(r)]) {
			continue
		}
		lv, rv := prof[at(l)], prof[at(r)]
		for g := l + 1; g < r; g++ {
			if r-g <= g-l {
				prof[at(g)] = rv
			} else {
				prof[at(g)] = lv
			}
		}
		l = r
	}
}

type level struct {
	mult  bool
	value float64 // a ratio when mult, else a difference
}

// levelFactor compares the observations in [from, to) with the profile at
// the same slots: a ratio for non-negative data with a positive profile, a
// difference otherwise. It returns the neutral value when there is too
// little to compare.
func levelFactor(in *Input, prof []float64, slots []int32, from, to int) level {
	var ys, ps float64
	var cnt int
	for i := max(0, from); i < to; i++ {
		v := in.Values[i]
		if math.IsNaN(v) {
			continue
		}
		ys += v
		ps += prof[slots[i]]
		cnt++
	}
	if cnt < (to-from)/4 || cnt == 0 {
		if in.NonNegative {
			return level{true, 1}
		}
		return level{false, 0}
	}
	if in.NonNegative && ps > 0 {
		r := ys / ps
		// A ratio outside [0.5, 2] is a regime change the profile cannot
		// explain; trust it only so far.
		return level{true, math.Max(0.5, math.Min(2, r))}
	}
	if in.NonNegative {
		return level{true, 1}
	}
	return level{false, (ys - ps) / float64(cnt)}
}

// levelShift is the ratio beyond which a day's level counts as changed.
const levelShift = 1.2

// persists tells whether l and the day before's level g show the same
// clear rise. Only rises count: a forecast that follows a two-day drop in
// full (a storm, a holiday weekend) under-provisions the day the load comes
// back, and under-provisioning is the costlier error for an autoscaler.
func (l level) persists(g level) bool {
	if !l.mult || !g.mult {
		return false
	}
	return l.value > levelShift && g.value > levelShift
}
