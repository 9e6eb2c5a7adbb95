package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Harmonic is a multi-seasonal harmonic regression: an intercept, a linear
// trend, Fourier terms of the day and of the week (in local time), and the
// caller's regressors (holidays, events), fitted by ridge-regularised,
// recency-weighted least squares with gonum/mat.
//
// The Fourier terms give a smooth seasonal shape from few coefficients, so
// the model needs less history than a per-slot profile and is not thrown by
// one noisy cycle; the regressors let a holiday or an event move the level
// on the days they mark. With Log set it fits log(1+y), which turns the
// common "the daily swing grows with the level" into an additive pattern.
type Harmonic struct {
	// DailyTerms and WeeklyTerms are the Fourier orders (pairs of sine and
	// cosine); 0 means the default (10 and 10, capped at half a period).
	DailyTerms, WeeklyTerms int
	// Log fits log(1+y); only used when the data is non-negative.
	Log bool
	// Memory is the e-folding age of the observation weights in cycles of
	// the longest season (default 3).
	Memory float64
	// Level in [0, 1] is how much of the last day's mean residual carries
	// into the forecast.
	Level float64
}

// Name implements Model.
func (m Harmonic) Name() string { return "harmonic" }

// harmonicBuckets bounds the distinct seasonal positions the normal
// equations are built from: observations are summed per bucket of the
// longest season (15 minutes for a weekly season of 5-minute data), so the
// cost of a fit is O(n) + O(buckets × terms²) however long the history.
const harmonicBuckets = 672

// Fit implements Model.
func (m Harmonic) Fit(in *Input) (Fit, error) {
	n := in.Len()
	if len(in.Seasons) == 0 {
		return Fit{}, fmt.Errorf("harmonic: series has no season")
	}
	logT := m.Log && in.NonNegative
	fwd := func(y float64) float64 { return y }
	inv := fwd
	if logT {
		fwd = math.Log1p
		inv = math.Expm1
	}
	long := in.Seasons[len(in.Seasons)-1]
	memory := m.Memory
	if memory <= 0 {
		memory = 3
	}
	tau := memory * float64(long.Period)
	from := max(0, n-int(3*tau))

	terms := seasonTerms(in.Seasons, m.DailyTerms, m.WeeklyTerms)
	nr := 0
	if in.Regressors != nil && len(in.Regressors) > 0 {
		nr = len(in.Regressors[0])
	}
	// Columns: intercept, trend, 2 per Fourier term, regressors.
	p := 2 + 2*len(terms) + nr
	// Bucketing: slot s of the longest season maps to bucket s/bw.
	bw := max(1, (long.Period+harmonicBuckets-1)/harmonicBuckets)
	nb := (long.Period + bw - 1) / bw
	type acc struct{ s0, s1, s2, y0, y1 float64 }
	buckets := make([]acc, nb)
	xtx := mat.NewSymDense(p, nil)
	xty := make([]float64, p)
	row := make([]float64, p)
	slots := in.Slots[len(in.Slots)-1]
	var wsum, ysum float64
	for i := from; i < n; i++ {
		v := in.Values[i]
		if math.IsNaN(v) {
			continue
		}
		y := fwd(v)
		w := math.Exp(-float64(n-1-i) / tau)
		t := float64(i-n) / float64(long.Period)
		wsum += w
		ysum += w * y
		if nr > 0 && anyNonZero(in.Regressors[i]) {
			m.features(row, in, terms, i, t, nr)
			addOuter(xtx, xty, row, w, y)
			continue
		}
		b := &buckets[int(slots[i])/bw]
		b.s0 += w
		b.s1 += w * t
		b.s2 += w * t * t
		b.y0 += w * y
		b.y1 += w * t * y
	}
	if wsum == 0 {
		return Fit{}, fmt.Errorf("harmonic: no observations")
	}
	// Aggregated rows: row = [f(bucket), t]; sum over the bucket's members
	// of w·row·rowᵀ needs only the bucket's weighted moments of t.
	f := make([]float64, p)
	for bi := range buckets {
		b := buckets[bi]
		if b.s0 == 0 {
			continue
		}
		// Phase at the centre of the bucket.
		fourier(f, terms, in.Seasons, bucketSlots(in.Seasons, bi*bw+bw/2, long.Period))
		f[0] = 1
		f[1] = 0
		for j := 0; j < p-nr; j++ {
			if j == 1 {
				continue
			}
			for k := j; k < p-nr; k++ {
				if k == 1 {
					continue
				}
				xtx.SetSym(j, k, xtx.At(j, k)+b.s0*f[j]*f[k])
			}
			xtx.SetSym(j, 1, xtx.At(j, 1)+b.s1*f[j])
			xty[j] += b.y0 * f[j]
		}
		xtx.SetSym(1, 1, xtx.At(1, 1)+b.s2)
		xty[1] += b.y1
	}
	// Ridge: the intercept is free; the trend is held back hard (a day's
	// extrapolation should not run away); Fourier terms are held back more
	// as their frequency rises.
	scale := wsum
	lambda := 1e-3 * scale
	xtx.SetSym(1, 1, xtx.At(1, 1)+10*lambda)
	for j, tm := range terms {
		pen := lambda * float64(tm.k*tm.k) / float64(tm.base*tm.base)
		xtx.SetSym(2+2*j, 2+2*j, xtx.At(2+2*j, 2+2*j)+pen)
		xtx.SetSym(3+2*j, 3+2*j, xtx.At(3+2*j, 3+2*j)+pen)
	}
	for j := p - nr; j < p; j++ {
		xtx.SetSym(j, j, xtx.At(j, j)+lambda)
	}
	var chol mat.Cholesky
	if ok := chol.Factorize(xtx); !ok {
		return Fit{}, fmt.Errorf("harmonic: normal equations are singular")
	}
	beta := mat.NewVecDense(p, nil)
	if err := chol.SolveVecTo(beta, mat.NewVecDense(p, xty)); err != nil {
		return Fit{}, fmt.Errorf("harmonic: %w", err)
	}
	coef := beta.RawVector().Data
	predict := func(i int) float64 {
		t := float64(i-n) / float64(long.Period)
		m.features(row, in, terms, i, t, nr)
		var s float64
		for j, c := range coef {
			s += c * row[j]
		}
		return s
	}
	// Level: the last day's mean residual, in the fitted scale.
	var lvl float64
	if m.Level > 0 {
		day := in.Seasons[0].Period
		var rs float64
		var rc int
		for i := max(from, n-day); i < n; i++ {
			if v := in.Values[i]; !math.IsNaN(v) {
				rs += fwd(v) - predict(i)
				rc++
			}
		}
		if rc >= day/4 && rc > 0 {
			lvl = m.Level * rs / float64(rc)
		}
	}
	mean := make([]float64, in.Horizon)
	for h := range mean {
		y := inv(predict(n+h) + lvl)
		if in.NonNegative && y < 0 {
			y = 0
		}
		mean[h] = y
	}
	form := "additive"
	if logT {
		form = "log"
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("harmonic(%s, %d Fourier pairs, %d regressors, trend %.3g/cycle)", form, len(terms), nr, coef[1])}, nil
}

// term is one Fourier pair: k cycles per cycle of season `season`; base is
// the lowest k of that season's family, for the frequency penalty.
type term struct {
	season int
	k      int
	base   int
}

// seasonTerms lists the Fourier pairs. Weekly harmonics at multiples of 7
// are daily harmonics already, and are skipped when the day is a season.
func seasonTerms(seasons []Season, daily, weekly int) []term {
	var out []term
	hasDay := false
	for si, s := range seasons {
		kmax := 0
		switch s.Name {
		case "daily":
			hasDay = true
			kmax = daily
			if kmax <= 0 {
				kmax = 10
			}
		default:
			kmax = weekly
			if kmax <= 0 {
				kmax = 10
			}
		}
		kmax = min(kmax, s.Period/2)
		for k := 1; k <= kmax; k++ {
			if s.Name == "weekly" && hasDay && k%7 == 0 {
				continue
			}
			out = append(out, term{season: si, k: k, base: 1})
		}
	}
	return out
}

// bucketSlots derives, from a slot of the longest season, the slot of each
// season (the shorter seasons divide the longest one in this package).
func bucketSlots(seasons []Season, longSlot, longPeriod int) []int {
	out := make([]int, len(seasons))
	for k, s := range seasons {
		out[k] = longSlot % s.Period
	}
	return out
}

// fourier fills f[2:] with the sine and cosine of every term at the given
// per-season slots.
func fourier(f []float64, terms []term, seasons []Season, slot []int) {
	for j, tm := range terms {
		ang := 2 * math.Pi * float64(tm.k) * float64(slot[tm.season]) / float64(seasons[tm.season].Period)
		s, c := math.Sincos(ang)
		f[2+2*j] = s
		f[3+2*j] = c
	}
}

// features fills row for grid index i with trend value t.
func (m Harmonic) features(row []float64, in *Input, terms []term, i int, t float64, nr int) {
	slot := make([]int, len(in.Seasons))
	for k := range in.Seasons {
		slot[k] = int(in.Slots[k][i])
	}
	row[0] = 1
	row[1] = t
	fourier(row, terms, in.Seasons, slot)
	base := 2 + 2*len(terms)
	for j := 0; j < nr; j++ {
		row[base+j] = in.Regressors[i][j]
	}
}

func addOuter(xtx *mat.SymDense, xty, row []float64, w, y float64) {
	p := len(row)
	for j := 0; j < p; j++ {
		if row[j] == 0 {
			continue
		}
		for k := j; k < p; k++ {
			xtx.SetSym(j, k, xtx.At(j, k)+w*row[j]*row[k])
		}
		xty[j] += w * row[j] * y
	}
}

func anyNonZero(r []float64) bool {
	for _, x := range r {
		if x != 0 {
			return true
		}
	}
	return false
}
