package forecast

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
