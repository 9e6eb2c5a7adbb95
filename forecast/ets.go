package forecast

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/optimize"
)

// ETSTrend chooses the trend component of an ETS model.
type ETSTrend int

const (
	// TrendAuto fits both forms below and keeps the one with the lower
	// AICc. It is the zero value.
	TrendAuto ETSTrend = iota
	// TrendNone keeps a level only (simple or seasonal smoothing).
	TrendNone
	// TrendDamped adds an additive trend damped by phi in [0.8, 0.98], so
	// that long horizons flatten out instead of extrapolating a slope
	// forever: the safer choice for capacity planning.
	TrendDamped
)

// ETSSeasonal chooses the seasonal component of an ETS model.
type ETSSeasonal int

const (
	// SeasonalAuto fits the additive and (for positive data) the
	// multiplicative form and keeps the one with the lower AICc. It is the
	// zero value. Without a usable season it means SeasonalNone.
	SeasonalAuto ETSSeasonal = iota
	// SeasonalNone ignores seasons.
	SeasonalNone
	// SeasonalAdditive adds a per-slot offset to the level.
	SeasonalAdditive
	// SeasonalMultiplicative scales the level by a per-slot factor: the
	// daily swing grows with the level, as request rates usually do. Only
	// for data whose observed values are all > 0.
	SeasonalMultiplicative
)

// ETS is exponential smoothing in state-space form (Holt-Winters with a
// damped trend, ETS(A,Ad,A) or ETS(A,Ad,M) and their simpler relatives). It
// smooths a level, a damped trend and one seasonal state per local-time slot
// of one season (the shortest, Input.Seasons[0], unless Season says
// otherwise), indexing the seasonal state by that season's Input.Slots
// rather than by position modulo the period, so that a slot keeps its
// wall-clock meaning across DST changes: on a short day a slot is skipped
// and keeps its state, on a long day a slot is updated twice.
//
// Fitting. Only the recent part of a long history is used: the last
// max(2000 points, 4 seasons), which bounds the cost of a fit (the states
// forget older data anyway). The initial states come from robust statistics
// of the first (up to four) seasons of that window: per-slot medians, with
// values beyond five robust standard deviations of that profile (the zeros
// of an outage, a spike) left out. The smoothing parameters are fitted with
// gonum's Nelder-Mead in logistic coordinates that keep them in bounds, on
// the one-step errors plus the errors at a quarter, half and all of the
// requested horizon (sampled every few points); one-step errors alone
// reward chasing the last observation (alpha near 1, a steep trend) and
// forecast a day ahead badly: on nyc_taxi, 1.9 times the daily seasonal
// naive's error with one-step errors alone, 1.04 with the longer horizons
// (weekly state: 0.68 and 0.50). R's forecast::ets offers the same idea as
// opt.crit = "amse".
//
// Robustness. Errors beyond four times the running mean absolute error are
// clipped in the state update and their square capped in the loss, so that
// a spike cannot drag the parameters towards chasing it. Errors beyond
// twelve times that scale (and a tenth of the mean level), the zeros of an
// outage, are skipped like gaps; a run of them longer than an eighth of the
// season (three hours of a day) is taken for a change of level, and the
// level jumps by the run's mean error: demand that doubled is followed
// within hours, while the seasonal profile is left alone either way. Gaps
// (NaN) advance the state with its forecast and do not count in the loss. Forecasts are never NaN or Inf: a form whose forecast diverges is
// dropped for the next best, and with nothing usable the last observation
// is repeated.
//
// The zero value is usable: it smooths the shortest season and chooses the
// trend (none or damped) and the season (additive or, for positive data,
// multiplicative) by AICc. A history shorter than two seasons is smoothed
// without season and Fit.Detail says so. Regressors are ignored.
type ETS struct {
	Trend    ETSTrend
	Seasonal ETSSeasonal
	// Season selects the season whose slots index the seasonal state, by
	// index into Input.Seasons as for SeasonalNaive: 0 (the default) is
	// the shortest; -1 is the longest season with two cycles in the
	// history. A daily state cannot tell Saturday from Monday; on demand
	// with a weekly rhythm the weekly state forecasts a day ahead about
	// twice as well (nyc_taxi), at the cost of a longer window.
	Season int
	// MaxEvaluations caps the loss evaluations of the optimiser per fitted
	// form; 0 means a default tuned for speed (see etsDefaultEvaluations).
	MaxEvaluations int

	// plain disables the robust clipping and skipping; tests use it to
	// show what they buy.
	plain bool
	// fixed, set by Tuned, skips the parameter search: Fit runs the
	// smoother with these parameters.
	fixed *etsFitted
}

const (
	// etsWindow is the least number of recent points fitted. Older history
	// is dropped: it keeps the cost of a fit bounded on long histories,
	// and the initial states, set from the start of the window, are then
	// recent enough to matter less. The window grows to etsWindowSeasons
	// seasons when the season is long, so that the seasonal states are
	// updated a few times after their initialisation.
	etsWindow        = 2000
	etsWindowSeasons = 4
	// etsInitSeasons is how many seasons at the start of the window set the
	// initial level, trend and seasonal profile.
	etsInitSeasons = 4
	// etsDefaultEvaluations bounds the optimiser per form; with a sensible
	// start and a logistic reparametrisation Nelder-Mead gets close to the
	// optimum well within this, and more buys little forecast accuracy.
	etsDefaultEvaluations = 30
	// etsWarmEvaluations bounds, per parameter, a fit that starts from the
	// parameters of a related form already fitted.
	etsWarmEvaluations = 4
	// etsClip is the multiple of the running mean absolute error beyond
	// which a one-step error is clipped (about 3.2 standard deviations
	// for Gaussian errors).
	etsClip = 4.0
	// etsScaleRate is the rate at which the running mean absolute error
	// follows the (clipped) errors. Slow, so that an outage of a few hours
	// does not inflate the scale enough to let itself through.
	etsScaleRate = 0.01
	// etsReject is the multiple of the running mean absolute error beyond
	// which a one-step error is not even clipped but skipped, as a gap
	// (about 10 standard deviations: the zeros of an outage, not a busy
	// hour). At most etsRejectRun points, or an eighth of the season (three
	// hours of a day), are skipped in a row; a longer run is taken for a
	// change of level: the level jumps by the run's mean error, so that
	// demand that doubled is followed within hours. The seasonal states
	// are left alone by the run either way.
	etsReject    = 12.0
	etsRejectRun = 3
	// etsInitOutlierZ is how many robust standard deviations from the
	// robust seasonal profile a value must be to be ignored when the
	// initial states are computed.
	etsInitOutlierZ = 5.0
)

// Bounds of the smoothing parameters, kept by a logistic transform.
const (
	etsAlphaMin, etsAlphaMax = 0.0001, 0.9999
	etsPhiMin, etsPhiMax     = 0.8, 0.98
)

// Name implements Model.
func (m ETS) Name() string { return "ets" }

// etsSeason is the kind of seasonal component of one candidate form.
type etsSeason int

const (
	etsSeasonNone etsSeason = iota
	etsSeasonAdd
	etsSeasonMul
)

// etsForm is one candidate model form.
type etsForm struct {
	damped bool
	season etsSeason
}

func (f etsForm) String() string {
	t := "N"
	if f.damped {
		t = "Ad"
	}
	s := [...]string{"N", "A", "M"}[f.season]
	return "ets(A," + t + "," + s + ")"
}

// etsParams are the smoothing parameters of one form.
type etsParams struct {
	alpha, beta, gamma, phi float64
}

// etsFitted is one fitted candidate form.
type etsFitted struct {
	form   etsForm
	params etsParams
	loss   float64
	aicc   float64
	evals  int
}

// Fit implements Model.
func (m ETS) Fit(in *Input) (Fit, error) {
	f, _, err := m.fit(in)
	return f, err
}

// Tuned fits m's smoothing parameters and form on in and returns a copy
// of m that keeps them: its Fit on another cut of the same series only runs
// the smoother. Rolling-origin validation uses it to search the parameters
// once, at its earliest origin (so on the past only), instead of at every
// origin. When in is too short to fit, m itself is returned.
func (m ETS) Tuned(in *Input) Model {
	_, chosen, err := m.fit(in)
	if err != nil || chosen == nil {
		return m
	}
	m.fixed = chosen
	return m
}

func (m ETS) fit(in *Input) (Fit, *etsFitted, error) {
	if in.Horizon < 0 {
		return Fit{}, nil, fmt.Errorf("ets: negative horizon %d", in.Horizon)
	}
	n := in.Len()
	h := in.Horizon
	last, ok := lastObserved(in.Values)
	if !ok {
		return Fit{}, nil, errors.New("ets: no observed values")
	}
	var notes []string

	period := 0
	seasonName := ""
	si := m.seasonIndex(in)
	if si >= 0 && in.Seasons[si].Period >= 2 {
		period = in.Seasons[si].Period
		seasonName = in.Seasons[si].Name
	}
	window := max(etsWindow, etsWindowSeasons*period)
	start := max(0, n-window)
	for start < n && math.IsNaN(in.Values[start]) {
		start++ // leading gaps tell the states nothing
	}
	y := in.Values[start:n]

	var slots []int32
	if period > 0 {
		if len(in.Slots) > si && len(in.Slots[si]) >= n+h && etsSlotsValid(in.Slots[si][start:n+h], period) {
			slots = in.Slots[si][start : n+h]
		} else {
			// Without local-time slots, fall back to positions on the grid:
			// right except across DST changes.
			slots = make([]int32, n+h-start)
			for i := range slots {
				slots[i] = int32((start + i) % period)
			}
			notes = append(notes, "no valid slots given: season by grid position")
		}
	}

	seasonUsable := period > 0 && len(y) >= 2*period
	if period > 0 && !seasonUsable {
		notes = append(notes, fmt.Sprintf("history of %d points is shorter than two %s seasons (%d): no seasonality", len(y), seasonName, 2*period))
	}
	positive := true
	for _, v := range y {
		if v <= 0 { // NaN compares false and is skipped
			positive = false
			break
		}
	}

	seasons, trends, note := m.candidates(seasonUsable, positive)
	if note != "" {
		notes = append(notes, note)
	}
	if !seasonUsable {
		period = 0
		slots = nil
	}

	sm := newETSSmoother(y, slots, period, h, !m.plain)
	maxEval := m.MaxEvaluations
	if maxEval <= 0 {
		maxEval = etsDefaultEvaluations
	}

	var fitted []*etsFitted
	var warm *etsParams
	totalEvals := 0
	if f := m.fixed; f != nil && slices.Contains(seasons, f.form.season) {
		fitted = []*etsFitted{f}
		seasons = nil
	}
	for _, s := range seasons {
		// The damped form is fitted first; its parameters start the
		// undamped fit of the same season, which then needs few steps.
		// Each seasonal kind starts afresh: the additive optimum is a
		// poor start for the multiplicative one.
		warm = nil
		for _, damped := range trends {
			f := sm.fit(etsForm{damped: damped, season: s}, warm, maxEval)
			if f == nil {
				continue
			}
			totalEvals += f.evals
			p := f.params
			warm = &p
			fitted = append(fitted, f)
		}
	}
	slices.SortStableFunc(fitted, func(a, b *etsFitted) int { return cmp.Compare(a.aicc, b.aicc) })

	// Forecast with the best form whose forecast is sane: finite and not
	// far outside what was observed. A multiplicative fit can diverge on a
	// series with near-zero troughs; the next form by AICc is then used.
	lo, hi := etsRange(y)
	mean := make([]float64, h)
	detail := ""
	var chosen *etsFitted
	for i, f := range fitted {
		sm.prepare(f.form)
		sm.run(f.params)
		sm.forecast(f.params, mean)
		if !etsSane(mean, lo, hi) {
			notes = append(notes, fmt.Sprintf("%s forecast diverged: dropped", f.form))
			continue
		}
		detail = f.describe(seasonName, period) + fmt.Sprintf(" window=%d evals=%d", len(y), totalEvals)
		if len(fitted) > 1 {
			detail += fmt.Sprintf(" (best of %d by AICc)", len(fitted)-i)
		}
		if m.fixed != nil && totalEvals == 0 {
			detail += " (parameters kept from an earlier fit)"
		}
		chosen = f
		break
	}
	// The forecast must be finite whatever the optimiser did: fall back to
	// the last observation rather than hand NaN to a scaler.
	if detail == "" {
		for i := range mean {
			mean[i] = last
		}
		detail = "ets: last observation repeated"
	}
	if in.NonNegative {
		for i, v := range mean {
			if v < 0 {
				mean[i] = 0
			}
		}
	}
	if len(notes) > 0 {
		detail += "; " + strings.Join(notes, "; ")
	}
	return Fit{Mean: mean, Detail: detail}, chosen, nil
}

// etsSlotsValid reports whether every slot indexes a seasonal state of the
// period: a bad slot from a caller must not crash the daemon.
func etsSlotsValid(slots []int32, period int) bool {
	for _, k := range slots {
		if k < 0 || int(k) >= period {
			return false
		}
	}
	return true
}

// etsRange returns the least and greatest observed values of y.
func etsRange(y []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range y {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// etsSane reports whether a forecast is finite and within the observed
// range widened by etsSaneWidth times its width on either side: a damped
// trend cannot honestly leave it by more, only a diverging fit does.
func etsSane(f []float64, lo, hi float64) bool {
	w := etsSaneWidth * max(hi-lo, 1e-9*max(math.Abs(lo), math.Abs(hi)), 1e-12)
	for _, v := range f {
		if !(v >= lo-w && v <= hi+w) { // false for NaN
			return false
		}
	}
	return true
}

// etsSaneWidth: see etsSane.
const etsSaneWidth = 2.0

// candidates lists the seasonal kinds and trends to fit, and a note when
// the form asked for cannot be had.
func (m ETS) candidates(seasonUsable, positive bool) (seasons []etsSeason, damped []bool, note string) {
	switch {
	case !seasonUsable || m.Seasonal == SeasonalNone:
		seasons = []etsSeason{etsSeasonNone}
	case m.Seasonal == SeasonalAdditive:
		seasons = []etsSeason{etsSeasonAdd}
	case m.Seasonal == SeasonalMultiplicative && !positive:
		note = "multiplicative season needs values > 0: additive"
		seasons = []etsSeason{etsSeasonAdd}
	case m.Seasonal == SeasonalMultiplicative:
		seasons = []etsSeason{etsSeasonMul}
	case positive:
		seasons = []etsSeason{etsSeasonAdd, etsSeasonMul}
	default:
		seasons = []etsSeason{etsSeasonAdd}
	}
	switch m.Trend {
	case TrendNone:
		damped = []bool{false}
	case TrendDamped:
		damped = []bool{true}
	default:
		damped = []bool{true, false}
	}
	return seasons, damped, note
}

// describe names the fitted form and its parameters for Fit.Detail.
func (f *etsFitted) describe(seasonName string, period int) string {
	d := fmt.Sprintf("%s alpha=%.3g", f.form, f.params.alpha)
	if f.form.damped {
		d += fmt.Sprintf(" beta=%.3g phi=%.3g", f.params.beta, f.params.phi)
	}
	if f.form.season != etsSeasonNone {
		d += fmt.Sprintf(" gamma=%.3g %s=%d", f.params.gamma, seasonName, period)
	}
	return d
}

// seasonIndex resolves m.Season against in: the index of the season to
// smooth, or -1 for none.
func (m ETS) seasonIndex(in *Input) int {
	if len(in.Seasons) == 0 {
		return -1
	}
	if m.Season >= 0 {
		return min(m.Season, len(in.Seasons)-1)
	}
	for k := len(in.Seasons) - 1; k > 0; k-- {
		if in.Len() >= 2*in.Seasons[k].Period {
			return k
		}
	}
	return 0
}

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

// etsNumParams is the number of free parameters of a form for the optimiser.
func etsNumParams(f etsForm) int {
	k := 1
	if f.damped {
		k += 2
	}
	if f.season != etsSeasonNone {
		k++
	}
	return k
}

func etsLogistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func etsLogit(p float64) float64 {
	p = min(max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

// decode maps the optimiser's unbounded vector to parameters within bounds:
// alpha in (0, 1), beta in (0, alpha), gamma in (0, 1-alpha), phi in
// [0.8, 0.98], the usual admissible region of Holt-Winters.
func (f etsForm) decode(x []float64) etsParams {
	p := etsParams{alpha: etsAlphaMin + (etsAlphaMax-etsAlphaMin)*etsLogistic(x[0])}
	i := 1
	if f.damped {
		p.beta = p.alpha * etsLogistic(x[i])
		p.phi = etsPhiMin + (etsPhiMax-etsPhiMin)*etsLogistic(x[i+1])
		i += 2
	}
	if f.season != etsSeasonNone {
		p.gamma = (1 - p.alpha) * etsLogistic(x[i])
	}
	return p
}

// encode is the inverse of decode, for starting points.
func (f etsForm) encode(p etsParams, x []float64) {
	x[0] = etsLogit((p.alpha - etsAlphaMin) / (etsAlphaMax - etsAlphaMin))
	i := 1
	if f.damped {
		x[i] = etsLogit(p.beta / p.alpha)
		x[i+1] = etsLogit((p.phi - etsPhiMin) / (etsPhiMax - etsPhiMin))
		i += 2
	}
	if f.season != etsSeasonNone {
		x[i] = etsLogit(p.gamma / (1 - p.alpha))
	}
}

// fit finds the parameters of form f by Nelder-Mead on the (robust) sum of
// squared one-step errors, starting from warm when given.
func (sm *etsSmoother) fit(f etsForm, warm *etsParams, maxEval int) *etsFitted {
	sm.prepare(f)
	start := etsParams{alpha: 0.1, beta: 0.005, gamma: 0.2, phi: 0.95}
	if warm != nil {
		start = *warm
		if start.beta <= 0 {
			start.beta = 0.1 * start.alpha
		}
		if start.phi == 0 {
			start.phi = 0.9
		}
		if start.gamma <= 0 {
			start.gamma = 0.1 * (1 - start.alpha)
		}
	}
	dim := etsNumParams(f)
	x0 := make([]float64, dim)
	f.encode(start, x0)
	evals := 0
	problem := optimize.Problem{Func: func(x []float64) float64 {
		evals++
		l := sm.run(f.decode(x))
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return math.MaxFloat64
		}
		return l
	}}
	if warm != nil {
		maxEval = min(maxEval, etsWarmEvaluations*dim)
	}
	settings := &optimize.Settings{
		FuncEvaluations: maxEval,
		Converger:       &optimize.FunctionConverge{Relative: 1e-5, Iterations: 4 * dim},
	}
	// A simplex of one unit in logit space spans a useful part of each
	// parameter's range; gonum's default (0.05) would crawl. From a warm
	// start the optimum is near: a smaller simplex and budget do.
	simplex := 1.0
	if warm != nil {
		simplex = 0.5
	}
	x, loss := x0, math.NaN()
	res, err := optimize.Minimize(problem, x0, settings, &optimize.NelderMead{SimplexSize: simplex})
	if err == nil && res != nil && len(res.X) == dim {
		x, loss = res.X, res.F
	}
	if math.IsNaN(loss) || loss == math.MaxFloat64 {
		loss = sm.run(f.decode(x))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil
		}
	}
	p := f.decode(x)
	// AICc of the Gaussian likelihood of the one-step errors, counting the
	// smoothing parameters and the initial states (level, trend, m-1
	// seasonal states) as Hyndman et al. do.
	k := float64(dim + 1 + 1) // parameters, initial level, error variance
	if f.damped {
		k++
	}
	if f.season != etsSeasonNone {
		k += float64(sm.period - 1)
	}
	nobs := float64(sm.nobs)
	aicc := math.Inf(1)
	if loss > 0 && nobs > k+1 {
		aicc = nobs*math.Log(loss/nobs) + 2*k + 2*k*(k+1)/(nobs-k-1)
	} else if loss == 0 {
		aicc = math.Inf(-1) // a perfect fit (constant series)
	}
	return &etsFitted{form: f, params: p, loss: loss, aicc: aicc, evals: evals}
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

// etsInitialStates computes robust initial states from the first seasons of
// y: medians per slot, with values far from that robust profile (the zeros
// of an outage, a spike) dropped by a MAD rule before the profile, level and
// trend are averaged. With period 0 it returns a level and a trend only.
func etsInitialStates(y []float64, slots []int32, period int, mul bool) *etsInit {
	if period == 0 {
		return etsInitialLevel(y)
	}
	cycles := min(etsInitSeasons, len(y)/period)
	m := cycles * period
	w := y[:m]

	// Pass 1: level of each cycle (median), then per-slot medians of the
	// values relative to their cycle's level.
	cyc := make([]float64, cycles)
	buf := make([]float64, 0, m)
	for c := range cycles {
		buf = buf[:0]
		for _, v := range w[c*period : (c+1)*period] {
			if !math.IsNaN(v) {
				buf = append(buf, v)
			}
		}
		cyc[c] = etsMedian(buf)
	}
	rel := func(i int) float64 {
		v, c := w[i], cyc[i/period]
		if math.IsNaN(v) || math.IsNaN(c) {
			return math.NaN()
		}
		if mul {
			if c <= 0 {
				return math.NaN()
			}
			return v / c
		}
		return v - c
	}
	// Group values by slot (counting sort; a DST day may give a slot two
	// values or none).
	start := make([]int, period+1)
	for i := range m {
		start[slots[i]+1]++
	}
	for k := range period {
		start[k+1] += start[k]
	}
	bySlot := make([]float64, m)
	fill := slices.Clone(start[:period])
	for i := range m {
		k := slots[i]
		bySlot[fill[k]] = rel(i)
		fill[k]++
	}
	prof := make([]float64, period)
	for k := range period {
		buf = buf[:0]
		for _, v := range bySlot[start[k]:start[k+1]] {
			if !math.IsNaN(v) {
				buf = append(buf, v)
			}
		}
		prof[k] = etsMedian(buf)
	}

	// MAD of the residuals from the robust profile, then drop what lies
	// beyond etsInitOutlierZ robust standard deviations.
	resid := make([]float64, m)
	buf = buf[:0]
	for i := range m {
		r := rel(i) - prof[slots[i]]
		resid[i] = r
		if !math.IsNaN(r) {
			buf = append(buf, math.Abs(r))
		}
	}
	sigma := 1.4826 * etsMedian(buf)
	keep := func(i int) bool {
		r := resid[i]
		if math.IsNaN(r) {
			return false
		}
		return sigma == 0 || math.IsNaN(sigma) || math.Abs(r) <= etsInitOutlierZ*sigma
	}

	// Pass 2: means of the kept values: cycle levels, then the profile.
	for c := range cycles {
		var sum float64
		var cnt int
		for i := c * period; i < (c+1)*period; i++ {
			if keep(i) {
				sum += w[i]
				cnt++
			}
		}
		if cnt > 0 {
			cyc[c] = sum / float64(cnt)
		}
	}
	sums := make([]float64, period)
	cnts := make([]int, period)
	for i := range m {
		if keep(i) {
			if r := rel(i); !math.IsNaN(r) {
				sums[slots[i]] += r
				cnts[slots[i]]++
			}
		}
	}
	neutral := 0.0
	if mul {
		neutral = 1
	}
	var total float64
	var seen int
	for k := range period {
		if cnts[k] > 0 {
			prof[k] = sums[k] / float64(cnts[k])
			total += prof[k]
			seen++
		} else if math.IsNaN(prof[k]) {
			prof[k] = neutral
		}
	}
	// Normalise: offsets average 0, factors average 1.
	if seen > 0 {
		avg := total / float64(seen)
		for k := range prof {
			if cnts[k] == 0 {
				continue
			}
			if mul {
				if avg > 0 {
					prof[k] /= avg
				}
			} else {
				prof[k] -= avg
			}
		}
	}

	// Level and trend from the deseasonalised cycle means.
	des := make([]float64, cycles)
	for c := range cycles {
		var sum float64
		var cnt int
		for i := c * period; i < (c+1)*period; i++ {
			if !keep(i) {
				continue
			}
			s := prof[slots[i]]
			if mul {
				sum += w[i] / max(s, 1e-6)
			} else {
				sum += w[i] - s
			}
			cnt++
		}
		des[c] = math.NaN()
		if cnt > 0 {
			des[c] = sum / float64(cnt)
		}
	}
	buf = buf[:0]
	for c := 1; c < cycles; c++ {
		if !math.IsNaN(des[c]) && !math.IsNaN(des[c-1]) {
			buf = append(buf, (des[c]-des[c-1])/float64(period))
		}
	}
	trend := etsMedian(buf)
	if math.IsNaN(trend) {
		trend = 0
	}
	level := math.NaN()
	for c := range cycles {
		if !math.IsNaN(des[c]) {
			// Cycle c's mean sits at its middle; the initial level is the
			// state just before the first point.
			level = des[c] - trend*(float64(c*period)+float64(period+1)/2)
			break
		}
	}
	if math.IsNaN(level) {
		level = etsInitialLevel(y).level
	}
	scale := 0.8 * sigma
	if mul {
		scale *= math.Abs(level) // sigma is relative for factors
	}
	return &etsInit{level: level, trend: trend, season: prof, scale: etsScaleFloor(scale, y)}
}

// etsInitialLevel starts a non-seasonal model: the median of the first
// points as the level, the difference of the medians of the first two blocks
// as the trend, and the MAD of the differences as the error scale.
func etsInitialLevel(y []float64) *etsInit {
	q := min(max(len(y)/4, 1), 50)
	var a, b []float64
	for i, v := range y {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case i < q:
			a = append(a, v)
		case i < 2*q:
			b = append(b, v)
		}
	}
	ma, mb := etsMedian(a), etsMedian(b)
	if math.IsNaN(ma) {
		ma = mb
	}
	if math.IsNaN(ma) {
		if v, ok := lastObserved(y); ok {
			ma = v
		} else {
			ma = 0
		}
	}
	trend := 0.0
	if !math.IsNaN(mb) {
		trend = (mb - ma) / float64(q)
	}
	level := ma - trend*float64(q+1)/2
	var d []float64
	prev := math.NaN()
	for _, v := range y[:min(len(y), 500)] {
		if math.IsNaN(v) {
			continue
		}
		if !math.IsNaN(prev) {
			d = append(d, math.Abs(v-prev))
		}
		prev = v
	}
	scale := 0.8 * 1.4826 * etsMedian(d)
	return &etsInit{level: level, trend: trend, scale: etsScaleFloor(scale, y)}
}

// etsScaleFloor keeps the clipping scale positive: on a constant series the
// MAD is zero, and a zero threshold would clip every error away.
func etsScaleFloor(scale float64, y []float64) float64 {
	var sum float64
	var n int
	for _, v := range y {
		if !math.IsNaN(v) {
			sum += math.Abs(v)
			n++
		}
	}
	floor := 1e-12
	if n > 0 {
		floor = max(floor, 1e-3*sum/float64(n))
	}
	if math.IsNaN(scale) || scale < floor {
		return floor
	}
	return scale
}

// etsMedian returns the median of x (NaN when empty), reordering x. It
// selects rather than sorts: the initial states take medians of whole
// cycles, 10,080 values for a week of minutes.
func etsMedian(x []float64) float64 {
	n := len(x)
	if n == 0 {
		return math.NaN()
	}
	hi := etsSelect(x, n/2)
	if n%2 == 1 {
		return hi
	}
	// The lower middle is the largest value left of n/2 after selection.
	lo := x[0]
	for _, v := range x[1 : n/2] {
		lo = max(lo, v)
	}
	return (lo + hi) / 2
}

// etsSelect reorders x so that x[k] is the value a sort would put there,
// with no greater value before it and no smaller after (Hoare's
// quickselect with a median-of-three pivot), and returns x[k]. x holds no
// NaN.
func etsSelect(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for hi-lo > 16 {
		mid := lo + (hi-lo)/2
		// Median of three to x[mid], which also guards the scans below.
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k] // between j and i: equal to the pivot
		}
	}
	// Short range: insertion sort.
	for i := lo + 1; i <= hi; i++ {
		for j := i; j > lo && x[j] < x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
	return x[k]
}
