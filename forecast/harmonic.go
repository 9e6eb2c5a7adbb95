package forecast

import (
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// Harmonic is a multi-seasonal harmonic regression: an intercept, a linear
// trend, Fourier terms of the day and of the week (in local time), and the
// caller's regressors (holidays, events), fitted by ridge-regularised,
// recency-weighted least squares with gonum (BLAS and LAPACK).
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
	if len(in.Regressors) > 0 {
		nr = len(in.Regressors[0])
	}
	// Columns: intercept, trend, 2 per Fourier term, regressors.
	q := 2 + 2*len(terms)
	p := q + nr
	// Bucketing: slot s of the longest season maps to bucket s/bw.
	bw := max(1, (long.Period+harmonicBuckets-1)/harmonicBuckets)
	nb := (long.Period + bw - 1) / bw
	type acc struct{ s0, s1, s2, y0, y1 float64 }
	buckets := make([]acc, nb)
	xtx := make([]float64, p*p) // row-major, upper triangle used
	xty := make([]float64, p)
	row := make([]float64, p)
	slots := in.Slots[len(in.Slots)-1]
	var wsum float64
	// Weights fall by exp(-1/tau) per step back from the end.
	decay := math.Exp(-1 / tau)
	w := 1.0
	for i := n - 1; i >= from; i-- {
		wi := w
		w *= decay
		v := in.Values[i]
		if math.IsNaN(v) {
			continue
		}
		y := fwd(v)
		t := float64(i-n) / float64(long.Period)
		wsum += wi
		if nr > 0 && anyNonZero(in.Regressors[i]) {
			m.features(row, in, terms, i, t, nr)
			for j := 0; j < p; j++ {
				if row[j] == 0 {
					continue
				}
				for k := j; k < p; k++ {
					xtx[j*p+k] += wi * row[j] * row[k]
				}
				xty[j] += wi * row[j] * y
			}
			continue
		}
		b := &buckets[int(slots[i])/bw]
		b.s0 += wi
		b.s1 += wi * t
		b.s2 += wi * t * t
		b.y0 += wi * y
		b.y1 += wi * t * y
	}
	if wsum == 0 {
		return Fit{}, fmt.Errorf("harmonic: no observations")
	}
	// Aggregated rows are [f(bucket), t]: their sum of w·row·rowᵀ is
	// FᵀSF for the Fourier block (one BLAS rank-k update over the buckets,
	// with S the buckets' weights) plus the weighted moments of t. The
	// normal matrix depends on the weights and the gaps only, not on the
	// values: the additive and log forms at one origin share it, and its
	// Cholesky factor is cached on the input.
	key := harmonicKey{values: &in.Values[0], n: n, from: from, tau: tau, terms: len(terms), daily: m.DailyTerms, weekly: m.WeeklyTerms, bw: bw, nr: nr}
	factor, cached := in.cache.lookup(key)
	// Without regressors the Fourier block can be had from an earlier
	// origin's (see normalBlock): then the buckets' rows are not needed.
	var prev *normalBlock
	if !cached && nr == 0 {
		// Worth it only with fewer new rows than buckets.
		if prev = in.cache.earlier(key); prev != nil && n-prev.n >= nb {
			prev = nil
		}
	}
	var fs []float64
	if !cached && prev == nil {
		fs = make([]float64, nb*q)
	}
	feats := in.cache.bucketFeatures(featureKey{nb: nb, bw: bw, q: q, daily: m.DailyTerms, weekly: m.WeeklyTerms}, func() []float64 {
		out := make([]float64, nb*q)
		bslot := make([]int, len(in.Seasons))
		for bi := range nb {
			for k, se := range in.Seasons {
				bslot[k] = (bi*bw + bw/2) % se.Period
			}
			f := out[bi*q : (bi+1)*q]
			f[0], f[1] = 1, 0
			fourier(f, terms, in.Seasons, bslot)
		}
		return out
	})
	for bi, b := range buckets {
		if b.s0 == 0 {
			continue
		}
		f := feats[bi*q : (bi+1)*q]
		for j := 0; j < q; j++ {
			xty[j] += b.y0 * f[j]
		}
		xty[1] += b.y1
		if cached {
			continue
		}
		if fs != nil {
			r := math.Sqrt(b.s0)
			row := fs[bi*q : (bi+1)*q]
			for j := 0; j < q; j++ {
				row[j] = r * f[j]
			}
		}
		// The trend column: (0, 1) and (1, j) of the upper triangle.
		xtx[0*p+1] += b.s1 * f[0]
		for j := 2; j < q; j++ {
			xtx[1*p+j] += b.s1 * f[j]
		}
		xtx[1*p+1] += b.s2
	}
	if !cached {
		// Column 1 of the rows is zero, so the Fourier block leaves the
		// trend alone (adds exact zeros to it).
		var g []float64
		if prev != nil {
			g = prev.advance(in, feats, q, bw, decay, n)
		} else {
			g = make([]float64, q*q)
			blas64.Syrk(blas.Trans, 1, blas64.General{Rows: nb, Cols: q, Stride: q, Data: fs}, 0,
				blas64.Symmetric{Uplo: blas.Upper, N: q, Stride: q, Data: g})
		}
		if nr == 0 {
			in.cache.keep(key, &normalBlock{n: n, g: g}, prev != nil)
		}
		for j := 0; j < q; j++ {
			for k := j; k < q; k++ {
				xtx[j*p+k] += g[j*q+k]
			}
		}
		// Ridge: the intercept is free; the trend is held back hard (a
		// day's extrapolation should not run away); Fourier terms are held
		// back more as their frequency rises.
		lambda := 1e-3 * wsum
		xtx[1*p+1] += 10 * lambda
		for j, tm := range terms {
			pen := lambda * float64(tm.k*tm.k) / float64(tm.base*tm.base)
			xtx[(2+2*j)*p+2+2*j] += pen
			xtx[(3+2*j)*p+3+2*j] += pen
		}
		for j := q; j < p; j++ {
			xtx[j*p+j] += lambda
		}
		var ok bool
		factor, ok = lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: p, Stride: p, Data: xtx})
		if !ok {
			return Fit{}, fmt.Errorf("harmonic: normal equations are singular")
		}
		in.cache.store(key, factor)
	}
	lapack64.Potrs(factor, blas64.General{Rows: p, Cols: 1, Stride: 1, Data: xty})
	coef := xty
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

// fourier fills f[2:] with the sine and cosine of every term at the given
// per-season slots.
//
// Terms come grouped by season with k rising by one (or skipping a multiple
// of 7), so sin(kθ) and cos(kθ) follow from the angle-addition recurrence
// and one Sincos per season does.
func fourier(f []float64, terms []term, seasons []Season, slot []int) {
	cur := -1
	var s1, c1, sk, ck float64
	k := 0
	for j, tm := range terms {
		if tm.season != cur {
			cur = tm.season
			s1, c1 = math.Sincos(2 * math.Pi * float64(slot[cur]) / float64(seasons[cur].Period))
			sk, ck, k = 0, 1, 0
		}
		for k < tm.k {
			sk, ck = sk*c1+ck*s1, ck*c1-sk*s1
			k++
		}
		f[2+2*j] = sk
		f[3+2*j] = ck
	}
}

// features fills row for grid index i with trend value t.
func (m Harmonic) features(row []float64, in *Input, terms []term, i int, t float64, nr int) {
	var slotBuf [4]int
	slot := slotBuf[:len(in.Seasons)]
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

func anyNonZero(r []float64) bool {
	for _, x := range r {
		if x != 0 {
			return true
		}
	}
	return false
}

// harmonicKey identifies a normal matrix: the cut of the series, the
// weights and the terms.
type harmonicKey struct {
	values        *float64 // the backing array: which values are gaps
	n, from       int
	tau           float64
	terms         int
	daily, weekly int
	bw, nr        int
}

// featureKey identifies the Fourier features of the buckets of the
// longest season: they depend on the seasons (one input's) and the terms.
type featureKey struct {
	nb, bw, q     int
	daily, weekly int
}

// normalBlock is the Fourier block of a normal matrix (the intercept and
// Fourier columns, q×q, upper triangle, before the trend's moments and the
// ridge) at the cut of n points: Σ w_i f_i f_iᵀ over the observed points i
// in [from, n), with w_i = decay^(n-1-i) and f_i the features of i's
// bucket.
//
// Validation fits the same model at origins a day or a horizon apart, and
// the block at a later origin follows from an earlier one's: every older
// weight shrinks by the same decay^(n-n₀), and the points in [n₀, n) add
// their rows. A rank-k update of the new rows then replaces the update of
// all buckets (168 for hourly data, 672 for 5-minute). Only decay^k < 1
// multiplies, never its inverse: rounding errors shrink along the chain of
// origins and nothing needs rescaling. It applies when the cut's start
// (from) is the same and there are no regressors.
type normalBlock struct {
	n int
	g []float64
}

// advance returns the block at n > b.n. decay^(n-b.n) is formed as the
// direct sum forms each weight, by one multiplication per step back.
func (b *normalBlock) advance(in *Input, feats []float64, q, bw int, decay float64, n int) []float64 {
	slots := in.Slots[len(in.Slots)-1]
	// The new points' rows, √(weight)·f per run of points in one bucket.
	rows := make([]float64, 0, (n-b.n)*q)
	cur, acc := -1, 0.0
	flush := func() {
		if cur < 0 || acc == 0 {
			return
		}
		r := math.Sqrt(acc)
		for _, x := range feats[cur*q : (cur+1)*q] {
			rows = append(rows, r*x)
		}
	}
	w := 1.0
	for i := n - 1; i >= b.n; i-- {
		wi := w
		w *= decay
		if math.IsNaN(in.Values[i]) {
			continue
		}
		if bi := int(slots[i]) / bw; bi != cur {
			flush()
			cur, acc = bi, 0
		}
		acc += wi
	}
	flush()
	g := make([]float64, q*q)
	for j := 0; j < q; j++ {
		for k := j; k < q; k++ {
			g[j*q+k] = w * b.g[j*q+k]
		}
	}
	if len(rows) > 0 {
		blas64.Syrk(blas.Trans, 1, blas64.General{Rows: len(rows) / q, Cols: q, Stride: q, Data: rows}, 1,
			blas64.Symmetric{Uplo: blas.Upper, N: q, Stride: q, Data: g})
	}
	return g
}

// maxBlocks bounds the normal blocks kept per model and cut start: a
// validation has at most maxShortOrigins origins and the final fit.
const maxBlocks = maxShortOrigins + 8

// earlier returns the kept block of k's model and cut start with the
// largest n below k.n, or nil.
func (c *fitCache) earlier(k harmonicKey) *normalBlock {
	if c == nil {
		return nil
	}
	n := k.n
	k.n = 0
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *normalBlock
	for _, b := range c.blocks[k] {
		if b.n < n && (best == nil || b.n > best.n) {
			best = b
		}
	}
	return best
}

// keep stores b for later origins of k's model and cut start; advanced
// says it came from an earlier block (counted, for tests).
func (c *fitCache) keep(k harmonicKey, b *normalBlock, advanced bool) {
	if c == nil {
		return
	}
	k.n = 0
	c.mu.Lock()
	defer c.mu.Unlock()
	if advanced {
		c.advanced++
	}
	if c.blocks == nil {
		c.blocks = map[harmonicKey][]*normalBlock{}
	}
	if len(c.blocks[k]) < maxBlocks {
		c.blocks[k] = append(c.blocks[k], b)
	}
}

// fitCache holds Cholesky factors of harmonic normal matrices and the
// buckets' Fourier features for one input and its truncations (they share
// it). Safe for concurrent use.
type fitCache struct {
	mu     sync.Mutex
	m      map[harmonicKey]blas64.Triangular
	feats  map[featureKey][]float64
	blocks map[harmonicKey][]*normalBlock // by model and cut start (n = 0)
	// advanced counts the blocks had from an earlier one.
	advanced int
}

// bucketFeatures returns the features cached under k, made by mk the
// first time: every validation origin's fit reads the same ones.
func (c *fitCache) bucketFeatures(k featureKey, mk func() []float64) []float64 {
	if c == nil {
		return mk()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.feats[k]
	if !ok {
		f = mk()
		if c.feats == nil {
			c.feats = map[featureKey][]float64{}
		}
		c.feats[k] = f
	}
	return f
}

func (c *fitCache) lookup(k harmonicKey) (blas64.Triangular, bool) {
	if c == nil {
		return blas64.Triangular{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	return t, ok
}

func (c *fitCache) store(k harmonicKey, t blas64.Triangular) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[harmonicKey]blas64.Triangular{}
	}
	c.m[k] = t
	c.mu.Unlock()
}
