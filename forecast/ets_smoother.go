package forecast

import "math"

// etsSmoother runs the state-space recursions over one window of history.
// It owns every buffer the recursions need, so evaluating the loss for a new
// set of parameters allocates nothing.
type etsSmoother struct {
	y       []float64
	slots   []int32 // len(y)+horizon entries; nil without season
	period  int
	horizon int
	ahead   []int   // longer horizons of the loss, ascending (etsAheadSteps)
	stride  int     // the multi-step terms are computed every stride points
	rate    float64 // of the running error scale, per point (etsScaleRate)
	maxRun  int     // most outliers in a row skipped (see etsReject)
	// minOutlier is the least error called an outlier: a tenth of the
	// mean level, so that on smooth data, where the running error scale
	// is tiny, a small misfit is not taken for an outage.
	minOutlier float64
	robust     bool
	nobs       int // observed points in y

	// Robust initial states, computed once per window (nil until needed).
	addInit, mulInit, noneInit *etsInit

	// Set by prepare for the form being fitted.
	form etsForm
	init *etsInit

	// Working states, valid after run.
	level, trend float64
	season       []float64
	scale        float64
}

// etsInit holds the initial states of one seasonal kind.
type etsInit struct {
	level, trend float64
	season       []float64
	scale        float64 // initial mean absolute one-step error
}

// newETSSmoother prepares the recursions over the window y, whose slots
// (len(y)+horizon of them; nil without season) index a season of period.
func newETSSmoother(y []float64, slots []int32, period, horizon int, robust bool) *etsSmoother {
	sm := &etsSmoother{y: y, slots: slots, period: period, horizon: horizon, robust: robust}
	sm.ahead = etsAheadSteps(horizon, len(y))
	// The error scale remembers at least a season, so that half a day of
	// outage at minute resolution cannot inflate it enough to let itself
	// through; runs of outliers are judged in fractions of the season.
	sm.rate, sm.maxRun = etsScaleRate, etsRejectRun
	if period > 0 {
		sm.rate = min(etsScaleRate, 1/float64(period))
		sm.maxRun = max(etsRejectRun, period/8)
	}
	// The multi-step terms are sampled every stride points: a few hundred
	// samples per horizon pin the parameters down as well as all of them,
	// and the recursion itself stays the only per-point cost. The stride
	// is prime to the period so that the samples visit every slot; a
	// stride of 8 on a period of 48 would only ever look at six times of
	// day.
	sm.stride = max(1, len(y)/etsAheadSamples)
	for period > 0 && etsGCD(sm.stride, period) != 1 {
		sm.stride++
	}
	var sum float64
	for _, v := range y {
		if !math.IsNaN(v) {
			sm.nobs++
			sum += math.Abs(v)
		}
	}
	if sm.nobs > 0 {
		sm.minOutlier = 0.1 * sum / float64(sm.nobs)
	}
	if period > 0 {
		sm.season = make([]float64, period)
	}
	return sm
}

// prepare selects the form whose loss run evaluates, computing its initial
// states on first use.
func (sm *etsSmoother) prepare(f etsForm) {
	sm.form = f
	switch f.season {
	case etsSeasonAdd:
		if sm.addInit == nil {
			sm.addInit = etsInitialStates(sm.y, sm.slots, sm.period, false)
		}
		sm.init = sm.addInit
	case etsSeasonMul:
		if sm.mulInit == nil {
			sm.mulInit = etsInitialStates(sm.y, sm.slots, sm.period, true)
		}
		sm.init = sm.mulInit
	default:
		if sm.noneInit == nil {
			sm.noneInit = etsInitialLevel(sm.y)
		}
		sm.init = sm.noneInit
	}
}

// run smooths the window with parameters p from the prepared form's initial
// states and returns the fitting loss. It leaves the final states in sm and
// does not allocate.
//
// The loss adds, to the one-step errors, the errors of the forecasts made
// every sm.stride points for a few longer horizons (sm.ahead, up to the
// requested horizon), all with capped squares: see ETS for why.
//
// The recursions carry lb = l + phi*b (the level part of the next one-step
// forecast) and pb = phi*b instead of l and b. It is the same model, but
// the chain of dependent operations from one point to the next is half as
// long (lb' = lb + phi*pb + (alpha+phi*beta)*e), and that chain, not the
// arithmetic, is what bounds the speed of the loop.
func (sm *etsSmoother) run(p etsParams) float64 {
	ini := sm.init
	phi, beta := p.phi, p.beta
	b0 := ini.trend
	if !sm.form.damped {
		phi, beta, b0 = 0, 0, 0
	}
	alpha, gamma := p.alpha, p.gamma
	lb, pb := ini.level+phi*b0, phi*b0
	ga := alpha + phi*beta // lb gains ga*e
	gb := phi * beta       // pb gains gb*e
	mae, rate := ini.scale, sm.rate
	clip, reject := etsClip, etsReject
	if !sm.robust {
		clip, reject = math.Inf(1), math.Inf(1)
	}
	// Errors beyond reject times the scale are skipped as gaps, up to
	// maxRun in a row: a run that lasts longer is a change of level, and
	// the level jumps by the run's mean error.
	run, maxRun, runSum := 0, sm.maxRun, 0.0
	minOut := sm.minOutlier
	// Multi-step horizons: the k-step forecast is lb + (phi+...+phi^(k-1))*pb.
	var ah etsAhead
	ah.n = len(sm.ahead)
	ah.rate = min(0.2, sm.rate*float64(sm.stride))
	ah.weight = float64(sm.stride)
	ah.mul = sm.form.season == etsSeasonMul
	pw, damp := 1.0, 0.0
	for k, j := 1, 0; j < ah.n; k++ {
		if k == sm.ahead[j] {
			ah.k[j], ah.damp[j], ah.mae[j] = k, damp, ini.scale
			j++
		}
		pw *= phi
		damp += pw
	}
	var loss float64
	y := sm.y
	n := len(y)
	stride, next := sm.stride, 0
	switch sm.form.season {
	case etsSeasonNone:
		for i, v := range y {
			if i == next {
				next += stride
				loss += ah.loss(y, nil, nil, i, lb, pb, clip)
			}
			drift := phi * pb
			if v != v { // gap: follow the forecast
				lb, pb = lb+drift, drift
				continue
			}
			e := v - lb
			if math.Abs(e) > max(reject*mae, minOut) {
				if run < maxRun { // an outlier: skip it as a gap
					run++
					runSum += e
					lb, pb = lb+drift, drift
					loss += clip * clip * mae * mae
					continue
				}
				lb += runSum / float64(run) // a change of level
				e = v - lb
			}
			run, runSum = 0, 0
			ec, sq := etsHuber(e, clip*mae)
			loss += sq
			mae += rate * (math.Abs(ec) - mae)
			lb += drift + ga*ec
			pb = drift + gb*ec
		}
	case etsSeasonAdd:
		s := sm.season[:sm.period]
		copy(s, ini.season)
		slots := sm.slots[:n+sm.horizon]
		for i, v := range y {
			if i == next {
				next += stride
				loss += ah.loss(y, slots, s, i, lb, pb, clip)
			}
			drift := phi * pb
			if v != v {
				lb, pb = lb+drift, drift
				continue
			}
			k := slots[i]
			e := (v - s[k]) - lb
			if math.Abs(e) > max(reject*mae, minOut) {
				if run < maxRun {
					run++
					runSum += e
					lb, pb = lb+drift, drift
					loss += clip * clip * mae * mae
					continue
				}
				lb += runSum / float64(run)
				e = (v - s[k]) - lb
			}
			run, runSum = 0, 0
			ec, sq := etsHuber(e, clip*mae)
			loss += sq
			mae += rate * (math.Abs(ec) - mae)
			lb += drift + ga*ec
			pb = drift + gb*ec
			s[k] += gamma * ec
		}
	case etsSeasonMul:
		s := sm.season[:sm.period]
		copy(s, ini.season)
		slots := sm.slots[:n+sm.horizon]
		floor := 1e-9 * math.Abs(ini.level)
		for i, v := range y {
			if i == next {
				next += stride
				loss += ah.loss(y, slots, s, i, lb, pb, clip)
			}
			drift := phi * pb
			if v != v {
				lb, pb = lb+drift, drift
				continue
			}
			k := slots[i]
			sk := max(s[k], 1e-6)
			// Work in level units: the error divided by the seasonal
			// factor is v/sk - lb, and v/sk is off the level's chain.
			e := v/sk - lb
			if math.Abs(e) > max(reject*mae, minOut) {
				if run < maxRun {
					run++
					runSum += e
					lb, pb = lb+drift, drift
					loss += clip * clip * mae * mae * sk * sk
					continue
				}
				lb += runSum / float64(run)
				e = v/sk - lb
			}
			run, runSum = 0, 0
			ecl, sq := etsHuber(e, clip*mae)
			loss += sq * sk * sk // squared error in data units
			mae += rate * (math.Abs(ecl) - mae)
			s[k] = sk + gamma*ecl*sk/max(lb, floor)
			lb += drift + ga*ecl
			pb = drift + gb*ecl
		}
	}
	// A run still going at the end of the history is taken for a change
	// of level once it has lasted a while: traffic that came back after an
	// outage (or went away) is what the next hours will look like.
	if run >= max(etsRejectRun, maxRun/4) {
		lb += runSum / float64(run)
	}
	sm.level, sm.trend, sm.scale = lb-pb, 0, mae
	if phi > 0 {
		sm.trend = pb / phi
	}
	return loss
}

// etsMaxAhead is the most multi-step horizons the loss adds.
const etsMaxAhead = 3

// etsAheadSamples is about how many points of the window the multi-step
// terms of the loss are computed at.
const etsAheadSamples = 150

func etsGCD(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// etsAhead tracks the multi-step horizons of one loss evaluation.
type etsAhead struct {
	n    int
	k    [etsMaxAhead]int
	damp [etsMaxAhead]float64 // phi+...+phi^(k-1): the weight of pb
	mae  [etsMaxAhead]float64 // running mean absolute error, level units
	// rate is etsScaleRate per point of the window: the samples are
	// stride points apart, so the scales must move stride times as fast.
	rate float64
	// weight is the stride too: each sample stands for stride points,
	// which keeps the multi-step terms' share of the loss what it would
	// be without sampling.
	weight float64
	mul    bool // seasonal factors multiply
}

// loss returns the weighted, capped squared errors of the forecasts made
// from the states (lb, pb, s) just before point i for its horizons, each
// clipped at its own running scale, and updates those scales.
func (a *etsAhead) loss(y []float64, slots []int32, s []float64, i int, lb, pb, clip float64) float64 {
	var sum float64
	for j := range a.n {
		x := i - 1 + a.k[j]
		if x >= len(y) {
			break
		}
		w := y[x]
		if w != w {
			continue
		}
		f, sf := lb+a.damp[j]*pb, 1.0
		switch {
		case s == nil:
		case a.mul:
			sf = max(s[slots[x]], 1e-6)
			f *= sf
		default:
			f += s[slots[x]]
		}
		ec, sq := etsHuber(w-f, clip*a.mae[j]*sf)
		a.mae[j] += a.rate * (math.Abs(ec)/sf - a.mae[j])
		sum += sq
	}
	return a.weight * sum
}

// etsAheadSteps picks the longer horizons of the loss for a forecast of h
// steps over a window of n points: h/4, h/2 and h, each at least 2 and at
// most a quarter of the window.
func etsAheadSteps(h, n int) []int {
	var out []int
	for _, k := range []int{h / 4, h / 2, h} {
		k = min(k, n/4)
		if k >= 2 && (len(out) == 0 || k > out[len(out)-1]) {
			out = append(out, k)
		}
	}
	return out
}

// etsHuber clips e to [-t, t] and returns the clipped error and its loss,
// the squared clipped error. The state update gets the clipped error, as in
// Huber's M-estimation; the loss is capped rather than linear beyond t, so
// that the zeros of a long outage, each far off, cannot outweigh the whole
// rest of the history and drag the parameters towards chasing them.
func etsHuber(e, t float64) (clipped, loss float64) {
	switch {
	case e > t:
		return t, t * t
	case e < -t:
		return -t, t * t
	}
	return e, e * e
}

// forecast fills out with the point forecasts after the window, from the
// states left by run.
func (sm *etsSmoother) forecast(p etsParams, out []float64) {
	l, b, phi := sm.level, sm.trend, p.phi
	if !sm.form.damped {
		b, phi = 0, 0
	}
	damp := 0.0 // phi + phi^2 + ... + phi^h
	pw := 1.0
	n := len(sm.y)
	for i := range out {
		pw *= phi
		damp += pw
		f := l + damp*b
		switch sm.form.season {
		case etsSeasonAdd:
			f += sm.season[sm.slots[n+i]]
		case etsSeasonMul:
			f *= sm.season[sm.slots[n+i]]
		}
		out[i] = f
	}
}
