package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Session forecasts load that runs in sessions: a market's trading hours,
// with gaps overnight and at weekends, a jump at the open and a spike at
// the close. A daily profile that treats the day as a cycle cannot see that
// the open is a new session whose level follows from the previous ones,
// and interval calibration pooled over the day holds the open's error all
// afternoon. Session models the log of the load, as the intraday volume
// literature does (Białkowski, Darolles & Le Fol 2008; Chen, Feng &
// Palomar 2016), as
//
//		log(v + c) = level(session) + shape(slot) + dynamic(t) + noise(slot)
//
//	  - shape is the session's intraday shape in local time: per daily slot,
//	    a recency-weighted mean over the last Sessions sessions of the log
//	    load less that session's level;
//	  - level is the session's level. Between sessions it follows an
//	    exponentially weighted average of past sessions' levels (its weight
//	    chosen by one-step error), so the open is known ahead and its level
//	    follows from the previous sessions. Inside a session it is updated,
//	    as a Kalman filter would, from the session's own observations so
//	    far, weighted by how much levels vary between sessions against how
//	    much slots vary within one: a busy morning raises the afternoon;
//	  - dynamic is the recent past at short horizons: the last residual,
//	    decaying as an AR(1) fitted within sessions;
//	  - noise has its own spread per slot (the open errs more than midday),
//	    and the level's uncertainty adds to it.
//
// Its point forecast is the median of that log-normal distribution (what
// minimises absolute error), and it supplies its own quantiles
// (Fit.Quantile) per horizon step, so a floor follows the intraday shape
// down after the open rather than holding the morning's quantile all
// afternoon. Slots no session has observed (the night) are forecast at the
// profile's lowest level.
//
// It needs a daily season and is a candidate only for a series that runs
// in sessions (see sessional); validation decides whether it is used.
type Session struct {
	// Sessions is how many recent sessions the shape averages (20 by
	// default).
	Sessions int
	// Decay is the weight of a session relative to the next newer one in
	// the shape (0.9 by default).
	Decay float64
}

// Name implements Model.
func (Session) Name() string { return "session" }

// sessional reports whether in runs in sessions: with a daily season, at
// least a quarter of the day's slots were never observed over the last two
// weeks of history (or all of it, if shorter), while at least two days saw
// samples. A market's nights do that; an outage of a day does not.
func sessional(in *Input) bool {
	if len(in.Seasons) == 0 || in.Seasons[0].Name != "daily" {
		return false
	}
	period := in.Seasons[0].Period
	n := in.Len()
	from := max(0, n-14*period)
	if n-from < 2*period {
		return false
	}
	seen := make([]bool, period)
	days := map[int]bool{}
	slots := in.Slots[0]
	day := 0
	for i := from; i < n; i++ {
		if i > from && slots[i] < slots[i-1] {
			day++
		}
		if !math.IsNaN(in.Values[i]) {
			seen[slots[i]] = true
			days[day] = true
		}
	}
	unseen := 0
	for _, s := range seen {
		if !s {
			unseen++
		}
	}
	return len(days) >= 2 && unseen*4 >= period
}

// sessionFit is the fitted state the forecast reads.
type sessionFit struct {
	c        float64   // offset of the log
	shape    []float64 // per slot; NaN where never observed
	spread2  []float64 // residual variance per slot
	lowShape float64
	rho      float64 // AR(1) of residuals within a session
	level    float64 // current session's level (posterior when in progress)
	levelVar float64
	next     float64 // next session's level
	tau2     float64 // between-session level innovation variance
	lastRes  float64 // last observed residual
	lastIdx  int     // grid index of the last observation
	curDay   int     // day id of the last observation
}

// Fit implements Model.
func (m Session) Fit(in *Input) (Fit, error) {
	if len(in.Seasons) == 0 || in.Seasons[0].Name != "daily" {
		return Fit{}, errors.New("session: needs a daily season")
	}
	sf, err := m.fit(in)
	if err != nil {
		return Fit{}, err
	}
	mu, v := sf.predict(in)
	mean := make([]float64, len(mu))
	for k := range mu {
		mean[k] = math.Max(0, math.Exp(mu[k])-sf.c)
	}
	quantile := func(q float64) []float64 {
		z := distuv.UnitNormal.Quantile(q)
		out := make([]float64, len(mu))
		for k := range mu {
			out[k] = math.Max(0, math.Exp(mu[k]+z*math.Sqrt(v[k]))-sf.c)
		}
		return out
	}
	return Fit{
		Mean:     mean,
		Detail:   fmt.Sprintf("session: shape over %d sessions, level %.3g (next %.3g), rho %.2f", m.sessions(), math.Exp(sf.level), math.Exp(sf.next), sf.rho),
		Quantile: quantile,
	}, nil
}

func (m Session) sessions() int {
	if m.Sessions <= 0 {
		return 20
	}
	return m.Sessions
}

func (m Session) decay() float64 {
	if !(m.Decay > 0 && m.Decay <= 1) {
		return 0.9
	}
	return m.Decay
}

// day is one session's observations: grid indices and log values.
type sessionDay struct {
	id  int
	idx []int
	y   []float64
	lvl float64
}

func (m Session) fit(in *Input) (*sessionFit, error) {
	n := in.Len()
	period := in.Seasons[0].Period
	slots := in.Slots[0]
	// The offset keeps the log finite at zero load: a thousandth of the
	// median positive load.
	var pos []float64
	for _, v := range in.Values {
		if v > 0 {
			pos = append(pos, v)
		}
	}
	if len(pos) == 0 {
		return nil, errors.New("session: no positive load")
	}
	sort.Float64s(pos)
	c := pos[len(pos)/2] * 1e-3
	// Sessions, oldest first; day ids count local midnights.
	var days []*sessionDay
	id := 0
	for i := range n {
		if i > 0 && slots[i] < slots[i-1] {
			id++
		}
		v := in.Values[i]
		if math.IsNaN(v) || v < 0 {
			continue
		}
		if len(days) == 0 || days[len(days)-1].id != id {
			days = append(days, &sessionDay{id: id})
		}
		d := days[len(days)-1]
		d.idx = append(d.idx, i)
		d.y = append(d.y, math.Log(v+c))
	}
	// The session in progress: the last one, if the forecast's first step
	// falls on its day.
	lastID := id
	if n > 0 && int(slots[n]) < int(slots[n-1]) {
		lastID++ // the horizon starts on a new day
	}
	var cur *sessionDay
	if len(days) > 0 && days[len(days)-1].id == lastID {
		cur = days[len(days)-1]
		days = days[:len(days)-1]
	}
	// Sessions too short to have a level of their own are left out.
	full := days[:0:0]
	for _, d := range days {
		if len(d.y) >= 3 {
			full = append(full, d)
		}
	}
	if len(full) < 2 {
		return nil, fmt.Errorf("session: %d complete session(s), need 2", len(full))
	}
	K := m.sessions()
	recent := full[max(0, len(full)-K):]
	decay := m.decay()

	// Shape and levels, alternately: the level of a session is the mean of
	// its log load less the shape, the shape the weighted mean over
	// sessions of the log load less the level.
	shape := make([]float64, period)
	wsum := make([]float64, period)
	for _, d := range full {
		d.lvl = stat.Mean(d.y, nil)
	}
	for range 3 {
		clear(shape)
		clear(wsum)
		for a, d := range recent {
			w := math.Pow(decay, float64(len(recent)-1-a))
			for j, i := range d.idx {
				shape[slots[i]] += w * (d.y[j] - d.lvl)
				wsum[slots[i]] += w
			}
		}
		// Centre the shape on the slots most sessions observe, so that
		// levels stay comparable whatever slots a session missed.
		var cs, cn float64
		for s := range shape {
			if wsum[s] > 0 {
				shape[s] /= wsum[s]
				cs += shape[s]
				cn++
			} else {
				shape[s] = math.NaN()
			}
		}
		for s := range shape {
			shape[s] -= cs / cn
		}
		for _, d := range full {
			var sum float64
			var cnt int
			for j, i := range d.idx {
				if sh := shape[slots[i]]; !math.IsNaN(sh) {
					sum += d.y[j] - sh
					cnt++
				}
			}
			if cnt > 0 {
				d.lvl = sum / float64(cnt)
			}
		}
	}
	low := math.Inf(1)
	for _, s := range shape {
		if !math.IsNaN(s) {
			low = math.Min(low, s)
		}
	}
	// Residual spread per slot and the AR(1) of residuals within sessions.
	spread := make([]float64, period)
	cnt := make([]float64, period)
	var total, totalN, num, den float64
	for a, d := range recent {
		w := math.Pow(decay, float64(len(recent)-1-a))
		prev, prevI := math.NaN(), -2
		for j, i := range d.idx {
			r := d.y[j] - d.lvl - shape[slots[i]]
			if math.IsNaN(r) {
				continue
			}
			spread[slots[i]] += w * r * r
			cnt[slots[i]] += w
			total += w * r * r
			totalN += w
			if i == prevI+1 {
				num += prev * r
				den += prev * prev
			}
			prev, prevI = r, i
		}
	}
	global := total / math.Max(totalN, 1e-12)
	if !(global > 0) {
		global = 1e-6
	}
	// Each slot's spread is shrunk toward the global one with the weight
	// of three sessions, after pooling two neighbours either side.
	const prior = 3.0
	sm := make([]float64, period)
	for s := range period {
		var ss, sn float64
		for d := -2; d <= 2; d++ {
			t := s + d
			if t < 0 || t >= period {
				continue
			}
			ss += spread[t]
			sn += cnt[t]
		}
		sm[s] = (ss + prior*global) / (sn + prior)
	}
	rho := 0.0
	if den > 0 {
		rho = math.Max(0, math.Min(0.95, num/den))
	}

	// Levels between sessions: an EWMA whose weight minimises the one-step
	// error over the sessions known; its mean squared error is the
	// innovation variance.
	lv := make([]float64, len(full))
	for i, d := range full {
		lv[i] = d.lvl
	}
	bestA, bestE := 0.5, math.Inf(1)
	for _, a := range []float64{0.1, 0.2, 0.3, 0.5, 0.7, 0.9} {
		f := lv[0]
		var e float64
		for _, x := range lv[1:] {
			e += (x - f) * (x - f)
			f += a * (x - f)
		}
		if e < bestE {
			bestA, bestE = a, e
		}
	}
	next := lv[0]
	for _, x := range lv[1:] {
		next += bestA * (x - next)
	}
	tau2 := bestE / float64(len(lv)-1)
	sig2 := global
	sf := &sessionFit{c: c, shape: shape, spread2: sm, lowShape: low, rho: rho, tau2: tau2,
		level: next, levelVar: tau2, next: next, lastIdx: -1, curDay: lastID}
	if cur != nil {
		// The session in progress: its level is the prior from the EWMA
		// updated by its own residuals; correlated residuals count as
		// fewer observations.
		var sum float64
		var k int
		for j, i := range cur.idx {
			if sh := shape[slots[i]]; !math.IsNaN(sh) {
				sum += cur.y[j] - sh - next
				k++
			}
		}
		if k > 0 {
			neff := float64(k) * (1 - rho) / (1 + rho)
			// A session far from its prior says the prior was too sure
			// (a news day): its level variance is then estimated from
			// the session itself, as empirical Bayes would, so that a
			// morning at three times the usual level is believed.
			m := sum / float64(k)
			t2 := math.Max(tau2, m*m-sig2/neff)
			gain := neff * t2 / (neff*t2 + sig2)
			sf.level = next + gain*m
			sf.levelVar = t2 * sig2 / (neff*t2 + sig2)
			sf.next = next + bestA*(sf.level-next)
			li := cur.idx[len(cur.idx)-1]
			if sh := shape[slots[li]]; !math.IsNaN(sh) {
				sf.lastRes = cur.y[len(cur.y)-1] - sf.level - sh
				sf.lastIdx = li
			}
		}
	}
	return sf, nil
}

// predict returns the log-scale mean and variance of each horizon step.
func (sf *sessionFit) predict(in *Input) (mu, v []float64) {
	n := in.Len()
	slots := in.Slots[0]
	mu = make([]float64, in.Horizon)
	v = make([]float64, in.Horizon)
	day := sf.curDay
	for k := range in.Horizon {
		i := n + k
		// Index n's day is curDay; later midnights start new days.
		if k > 0 && slots[i] < slots[i-1] {
			day++
		}
		s := slots[i]
		lvl, lvar := sf.level, sf.levelVar
		if day != sf.curDay {
			lvl, lvar = sf.next, sf.tau2
		}
		sh := sf.shape[s]
		if math.IsNaN(sh) {
			sh = sf.lowShape
		}
		mu[k] = lvl + sh
		v[k] = lvar + sf.spread2[s]
		if day == sf.curDay && sf.lastIdx >= 0 {
			a := math.Pow(sf.rho, float64(i-sf.lastIdx))
			mu[k] += a * sf.lastRes
			v[k] = lvar + sf.spread2[s]*(1-a*a)
		}
	}
	return mu, v
}
