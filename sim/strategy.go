package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prescale/prescale/forecast"
)

// FloorPlanner decides how many pods should be ready ahead of demand. It is
// the seam between the simulator and whatever plans floors: the built-in
// SchedulePlanner and ForecastPlanner, or prescale's policy engine.
type FloorPlanner interface {
	// Plan returns the replicas to hold as a floor from now on, judged only
	// from observed (the demand known at now; see Strategy.Floor).
	Plan(now time.Time, observed forecast.Series) (int32, error)
}

// Floors is a Strategy that asserts a FloorPlanner's floors the way the
// daemon does: a floor goes up at once, is held while the demand it was
// planned for may still come, comes down only along a scale-down limit
// (predictions alone never scale in), and survives planning errors for a
// grace period before it is dropped.
type Floors struct {
	// Label is the strategy's name in results.
	Label   string
	Planner FloorPlanner
	// Hold is how long a planned floor stands after it was planned. A
	// floor planned at p provisions for demand up to p+Lead+Window, so
	// Backtest holds it that long: otherwise a lower plan made once the
	// peak is inside the lead time would shed, just as the peak arrives,
	// the pods raised for it (which could not come back in time). The
	// daemon's policy gets the same from its scale-down stabilisation.
	Hold time.Duration
	// DownPercent of the floor (at least one pod) may be shed per
	// DownPeriod.
	DownPercent float64
	DownPeriod  time.Duration
	// Grace is how long the last good floor is held when planning fails.
	Grace time.Duration
	// StandDown, when set, judges the floors against a cooler HPA at
	// equal cost on their own history and drops them where they do not
	// pay (see StandDown).
	StandDown *StandDown

	lastGood time.Time
	// states holds each operating point's floor (one unless the planner
	// is a LevelPlanner judged by StandDown).
	states []floorState
}

// floorState is a floor as asserted: raised at once, held, shed along
// the scale-down limit.
type floorState struct {
	floor    int32
	lastDown time.Time
	held     []plannedFloor
}

// LevelPlanner is a FloorPlanner that can plan at several operating
// points: the floors of several quantiles of the same forecast. A Floors
// with a StandDown asserts one of them, the one its last judgement found
// to pay best on the target's own history.
type LevelPlanner interface {
	FloorPlanner
	// Levels returns the quantiles planned, the owner's first.
	Levels() []float64
	// PlanLevels returns the floor of each level, in Levels order; use is
	// the level in force (a planner may plan more than floors for it,
	// such as an HPA target).
	PlanLevels(now time.Time, observed forecast.Series, use int) ([]int32, error)
}

// A VerdictPlanner plans the floor to assert from the stand-down's
// verdict itself, as prescale's policy engine does: stood down, its rules
// and the owner's values still apply; at an operating point, it sizes the
// forecast floor there. Besides the floor to assert it returns, for the
// judgement, the forecast floor of every level in Levels order (0 where
// no forecast was planned), the floors the daemon records.
type VerdictPlanner interface {
	FloorPlanner
	// Levels returns the quantiles planned, the owner's first.
	Levels() []float64
	PlanVerdict(now time.Time, observed forecast.Series, level int, down bool) (floor int32, judged []int32, err error)
}

// plannedFloor is a plan still within its Hold.
type plannedFloor struct {
	at    time.Time
	floor int32
}

// NewFloors wraps p with the default limits: down by at most 10% (at least
// a pod) per minute, 30 minutes of grace.
func NewFloors(label string, p FloorPlanner) *Floors {
	return &Floors{Label: label, Planner: p, DownPercent: 10, DownPeriod: time.Minute, Grace: 30 * time.Minute}
}

// Name implements Strategy.
func (f *Floors) Name() string { return f.Label }

// Floor implements Strategy.
func (f *Floors) Floor(now time.Time, observed forecast.Series) (int32, error) {
	if vp, ok := f.Planner.(VerdictPlanner); ok && f.StandDown != nil {
		return f.floorVerdict(now, observed, vp)
	}
	if lp, ok := f.Planner.(LevelPlanner); ok && f.StandDown != nil && len(lp.Levels()) > 1 {
		return f.floorLevels(now, observed, lp)
	}
	if len(f.states) == 0 {
		f.states = make([]floorState, 1)
	}
	st := &f.states[0]
	sd := f.StandDown
	if sd != nil {
		sd.size(1)
		sd.judgeDue(context.Background(), now, observed)
	}
	want, err := f.Planner.Plan(now, observed)
	if err != nil {
		if f.lastGood.IsZero() || now.Sub(f.lastGood) > f.Grace {
			st.floor = 0
		}
		return st.floor, err
	}
	f.lastGood = now
	floor := f.step(st, now, want)
	if sd != nil {
		return sd.assert(now, observed, []int32{floor}), nil
	}
	return floor, nil
}

// floorLevels asserts the floor of the operating point in force, keeping
// every level's floor so that the stand-down can judge them all.
func (f *Floors) floorLevels(now time.Time, observed forecast.Series, lp LevelPlanner) (int32, error) {
	sd := f.StandDown
	levels := lp.Levels()
	if len(f.states) != len(levels) {
		f.states = make([]floorState, len(levels))
	}
	sd.levels = levels
	sd.size(len(levels))
	sd.judgeDue(context.Background(), now, observed)
	wants, err := lp.PlanLevels(now, observed, sd.level)
	if err != nil {
		if f.lastGood.IsZero() || now.Sub(f.lastGood) > f.Grace {
			for k := range f.states {
				f.states[k].floor = 0
			}
		}
		if sd.down {
			return 0, err
		}
		return f.states[sd.level].floor, err
	}
	f.lastGood = now
	floors := make([]int32, len(levels))
	for k := range floors {
		floors[k] = f.step(&f.states[k], now, wants[k])
	}
	return sd.assert(now, observed, floors), nil
}

// floorVerdict judges first when due, as the daemon does before it plans,
// then has the planner plan under the verdict and records the forecast
// floors it returns for the next judgement.
func (f *Floors) floorVerdict(now time.Time, observed forecast.Series, vp VerdictPlanner) (int32, error) {
	ctx := context.Background()
	sd := f.StandDown
	levels := vp.Levels()
	sd.levels = levels
	sd.size(len(levels))
	if len(f.states) == 0 {
		f.states = make([]floorState, 1)
	}
	st := &f.states[0]
	sd.judgeDue(ctx, now, observed)
	floor, judged, err := vp.PlanVerdict(now, observed, sd.level, sd.down)
	if err != nil {
		if f.lastGood.IsZero() || now.Sub(f.lastGood) > f.Grace {
			st.floor = 0
		}
		return st.floor, err
	}
	if len(judged) != len(levels) {
		return st.floor, fmt.Errorf("planner returned %d level floors for %d levels", len(judged), len(levels))
	}
	f.lastGood = now
	sd.assert(now, observed, judged)
	return f.step(st, now, floor), nil
}

// step applies the hold and the scale-down limit to the plan want made at
// now and returns the floor to assert.
func (f *Floors) step(st *floorState, now time.Time, want int32) int32 {
	want = f.hold(st, now, want)
	switch {
	case want >= st.floor:
		st.floor = want
	case st.lastDown.IsZero() || now.Sub(st.lastDown) >= f.DownPeriod:
		step := max(1, int32(float64(st.floor)*f.DownPercent/100))
		st.floor = max(want, st.floor-step)
		st.lastDown = now
	}
	return st.floor
}

// HPATarget implements TargetSetter: the planner's HPA target when it plans
// one, and the cluster's own while the floors stand down.
func (f *Floors) HPATarget() float64 {
	if f.StandDown != nil && f.StandDown.down {
		return 0
	}
	if ts, ok := f.Planner.(TargetSetter); ok {
		return ts.HPATarget()
	}
	return 0
}

// hold records the plan want made at now and returns the highest plan
// still within Hold. Only earlier plans above want can be that maximum
// while want is held, so the others are dropped.
func (f *Floors) hold(st *floorState, now time.Time, want int32) int32 {
	if f.Hold <= 0 {
		return want
	}
	keep := st.held[:0]
	out := want
	for _, p := range st.held {
		if now.Sub(p.at) < f.Hold && p.floor > want {
			keep = append(keep, p)
			out = max(out, p.floor)
		}
	}
	st.held = append(keep, plannedFloor{now, want})
	return out
}

// Sizing turns demand into pods the way the HPA will hold them: at the
// target utilisation of a pod's capacity.
type Sizing struct {
	Capacity          float64
	TargetUtilization float64
}

// Pods is ceil(d / (c × target)); 0 for a missing or non-positive demand.
func (s Sizing) Pods(d float64) int32 {
	if math.IsNaN(d) || d <= 0 {
		return 0
	}
	return int32(math.Ceil(d/(s.Capacity*s.TargetUtilization) - 1e-9))
}

// SchedulePlanner is what a CronJob runbook does: fixed time-of-day floors.
// Without a policy, the floors are the trace's typical daily profile as
// known so far: for each time-of-day slot, the median over the last Days
// complete days of the slot's peak demand. The profile is rebuilt once a
// day, from the past only, like a runbook revised each morning.
type SchedulePlanner struct {
	Sizing
	// Lead and Window: the floor at now covers the profile over
	// [now+Lead, now+Lead+Window].
	Lead, Window time.Duration
	// Slot is the profile's resolution (15 minutes by default).
	Slot time.Duration
	// Days of history the profile is the median of (7 by default).
	Days int
	// Location gives time of day; nil is UTC.
	Location *time.Location

	day     time.Time
	profile []float64
}

// Plan implements FloorPlanner.
func (p *SchedulePlanner) Plan(now time.Time, observed forecast.Series) (int32, error) {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	slot := p.Slot
	if slot <= 0 {
		slot = 15 * time.Minute
	}
	days := p.Days
	if days <= 0 {
		days = 7
	}
	perDay := int(24 * time.Hour / slot)
	lt := now.In(loc)
	today := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	// Rebuild once a day, as soon as yesterday is fully observed (the
	// metrics lag delays that a little past midnight).
	if !today.Equal(p.day) {
		if prof, ok := dailyProfile(observed, today, days, slot, perDay, loc); ok {
			p.day, p.profile = today, prof
		}
	}
	if p.profile == nil {
		return 0, nil
	}
	// Every slot that [now+Lead, now+Lead+Window] touches, wrapping at
	// midnight.
	peak := 0.0
	from := slotOf(now.Add(p.Lead).In(loc), slot)
	n := int(p.Window/slot) + 2
	to := slotOf(now.Add(p.Lead+p.Window).In(loc), slot)
	for k := from; n > 0; k, n = (k+1)%perDay, n-1 {
		peak = max(peak, p.profile[k])
		if k == to {
			break
		}
	}
	return p.Pods(peak), nil
}

func slotOf(t time.Time, slot time.Duration) int {
	sod := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return int(sod / slot)
}

// dailyProfile is the median over up to days complete local days before
// today of each slot's peak. ok is false while yesterday is not yet fully
// observed; the profile is nil when no complete day is known.
func dailyProfile(s forecast.Series, today time.Time, days int, slot time.Duration, perDay int, loc *time.Location) (prof []float64, ok bool) {
	if i1 := int(today.Sub(s.Start) / s.Step); i1 > s.Len() {
		return nil, false
	}
	peaks := make([][]float64, perDay)
	complete := 0
	for d := 1; d <= days; d++ {
		from := today.AddDate(0, 0, -d)
		to := today.AddDate(0, 0, -d+1)
		i0 := int(from.Sub(s.Start) / s.Step)
		i1 := int(to.Sub(s.Start) / s.Step)
		if i0 < 0 {
			break
		}
		day := make([]float64, perDay)
		for i := range day {
			day[i] = math.NaN()
		}
		for i := i0; i < i1; i++ {
			v := s.Values[i]
			if math.IsNaN(v) {
				continue
			}
			k := slotOf(s.Time(i).In(loc), slot)
			if math.IsNaN(day[k]) || v > day[k] {
				day[k] = v
			}
		}
		for k, v := range day {
			if !math.IsNaN(v) {
				peaks[k] = append(peaks[k], v)
			}
		}
		complete++
	}
	if complete == 0 {
		return nil, true
	}
	prof = make([]float64, perDay)
	for k, vs := range peaks {
		prof[k] = median(vs)
	}
	return prof, true
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ { // short slices: insertion sort
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// Forecaster is forecast.Auto's signature, so tests can substitute a
// simpler model.
type Forecaster func(s forecast.Series, opts forecast.Options) (*forecast.Forecast, error)

// ForecastPlanner is prescale's predictive floor: a quantile of forecast
// demand over the window the floor must cover, sized at the HPA's target.
//
//	floor(now) = ceil(max q(t) for t in [now+Lead, now+Lead+Window] / (c × target))
//
// The model is refitted every Refit on the observed history only (as the
// daemon refits on its own schedule, not every tick), on a coarser grid
// than the simulator's minute so that a fit stays cheap.
type ForecastPlanner struct {
	Sizing
	// Quantile of the forecast to provision for (0.9 by default); the
	// mean when the forecast has no such quantile.
	Quantile float64
	// OperatingPoints are further quantiles whose floors are planned
	// beside Quantile's, for a StandDown to choose among (see
	// LevelPlanner). Empty plans Quantile only.
	OperatingPoints []float64
	// Lead is how far ahead pods must be asked for (Config.LeadTime).
	Lead time.Duration
	// Window is how long after now+Lead the floor must cover.
	Window time.Duration
	// Refit is the model's refit period (15 minutes by default).
	Refit time.Duration
	// Step is the forecast grid (5 minutes by default); it should be a
	// multiple of the trace's own step and divide a day.
	Step time.Duration
	// History bounds the history fitted (28 days by default).
	History time.Duration
	// MinHistory is the history needed before any floor (2 days by
	// default): before it, the strategy is reactive.
	MinHistory time.Duration
	// Location gives the seasons' local time; nil is UTC.
	Location *time.Location
	// Reselect is how often the model is chosen afresh by rolling-origin
	// validation (forecast.Select); refits in between only refit the
	// chosen models (Selection.Refit). 6 hours by default; a negative
	// value selects at every refit.
	Reselect time.Duration
	// Model forecasts; nil is forecast.Select and Selection.Refit.
	Model Forecaster
	// TargetCeiling, when set, is the second lever, as the policy's
	// hpa.maxTargetUtilization: while the forecast quantile over the
	// window is at most TargetCeiling/NormalTarget times the quantile
	// over the lead time before it, the HPA runs at TargetCeiling, since
	// the floor already holds the quantile's headroom; before a larger
	// forecast rise it goes back to its NormalTarget (the cluster's).
	TargetCeiling, NormalTarget float64
	// Truth and ErrorScale, when ErrorScale is in (0, 1), scale the
	// forecast's error against Truth, the 1-minute demand it forecasts
	// (future included): every value v of the mean and the quantiles at a
	// step whose mean demand in Truth is d becomes d·(v/d)^ErrorScale,
	// its log error scaled by ErrorScale (linearly where either is 0).
	// It reads the future, so it is a bound and not a strategy, as
	// PerfectForecast is: how much better the forecast would have to be
	// for the floors to pay by some figure. The online calibration still
	// learns from the real forecast's errors.
	Truth      forecast.Series
	ErrorScale float64

	target float64 // planned HPA target, 0: the cluster's

	sel    *forecast.Selection
	err    error     // of the last fit, retried after Refit
	errAt  time.Time // when it failed
	fc     *forecast.Forecast
	fitAt  time.Time
	fitLen int // buckets of history behind fc
	agg    bucketer
	peak   float64
}

func (p *ForecastPlanner) defaults() {
	if p.Quantile == 0 {
		p.Quantile = 0.9
	}
	if p.Refit <= 0 {
		p.Refit = 15 * time.Minute
	}
	if p.Step <= 0 {
		p.Step = 5 * time.Minute
	}
	if p.History <= 0 {
		p.History = 28 * 24 * time.Hour
	}
	if p.MinHistory <= 0 {
		p.MinHistory = ForecastMinHistory
	}
	if p.Reselect == 0 {
		p.Reselect = 6 * time.Hour
	}
}

// fit forecasts hist with the caller's model, or by refitting the current
// selection while it is younger than Reselect and selecting afresh
// otherwise (or when the refit fails).
func (p *ForecastPlanner) fit(hist forecast.Series, opts forecast.Options) (*forecast.Forecast, error) {
	if p.Model != nil {
		return p.Model(hist, opts)
	}
	if p.sel != nil && p.sel.Age(hist.Time(hist.Len())) < p.Reselect {
		if fc, err := p.sel.Refit(hist, opts); err == nil {
			return fc, nil
		}
	}
	opts.Previous = p.sel // the online calibration outlives the selection
	fc, sel, err := forecast.Select(hist, opts)
	if err != nil {
		return nil, err
	}
	p.sel = sel
	return fc, nil
}

// Plan implements FloorPlanner.
func (p *ForecastPlanner) Plan(now time.Time, observed forecast.Series) (int32, error) {
	fc, err := p.Forecast(now, observed)
	if err != nil || fc == nil {
		return 0, err
	}
	return p.floor(now, p.Quantile, true)
}

// levels is Quantile followed by the OperatingPoints that differ from it.
func (p *ForecastPlanner) levels() []float64 {
	p.defaults()
	out := []float64{p.Quantile}
	for _, l := range p.OperatingPoints {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Levels implements LevelPlanner.
func (p *ForecastPlanner) Levels() []float64 { return p.levels() }

// PlanLevels implements LevelPlanner: the HPA target (the second lever)
// follows the level in force.
func (p *ForecastPlanner) PlanLevels(now time.Time, observed forecast.Series, use int) ([]int32, error) {
	levels := p.levels()
	out := make([]int32, len(levels))
	fc, err := p.Forecast(now, observed)
	if err != nil || fc == nil {
		return out, err
	}
	for k, q := range levels {
		if out[k], err = p.floor(now, q, k == use); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Forecast returns the forecast the decision at now uses, refitting it
// on observed when it is Refit old; nil while the history is shorter than
// MinHistory. It covers at least [now, now+Refit+Lead+Window].
func (p *ForecastPlanner) Forecast(now time.Time, observed forecast.Series) (*forecast.Forecast, error) {
	p.defaults()
	if p.fc != nil && now.Sub(p.fitAt) < p.Refit {
		return p.fc, nil
	}
	// A failed fit is retried on the refit schedule, as the daemon does,
	// not at every decision.
	if p.err != nil && now.Sub(p.errAt) < p.Refit {
		return nil, p.err
	}
	p.err = nil
	p.agg.extend(observed, p.Step)
	hist := p.agg.series()
	if time.Duration(hist.Len())*p.Step < p.MinHistory {
		return nil, nil
	}
	// On a grid coarser than the refit period, a refit often finds no new
	// bucket; the model would return the same forecast, so keep it
	// (forecast.Auto is deterministic) if it still reaches far enough.
	if p.fc != nil && hist.Len() == p.fitLen && !p.fc.Time(p.fc.Len()).Before(now.Add(p.Refit+p.Lead+p.Window)) {
		p.fitAt = now
		return p.fc, nil
	}
	if max := int(p.History / p.Step); hist.Len() > max {
		hist = hist.Slice(hist.Len()-max, hist.Len())
	}
	// Cover every decision until the next refit, and one step more so
	// that a refit finding no new bucket can keep this forecast.
	end := now.Add(p.Refit + p.Lead + p.Window + p.Step)
	h := int(end.Sub(hist.Time(hist.Len()))/p.Step) + 1
	fc, err := p.fit(hist, forecast.Options{Horizon: h, Quantiles: p.levels(), Location: p.Location})
	if err != nil {
		p.fc, p.err, p.errAt = nil, fmt.Errorf("forecast at %s: %w", now.Format(time.RFC3339), err), now
		return nil, p.err
	}
	if p.ErrorScale > 0 && p.ErrorScale < 1 && p.Truth.Len() > 0 {
		fc = scaleError(fc, p.Truth, p.ErrorScale)
	}
	p.fc, p.fitAt, p.fitLen = fc, now, hist.Len()
	p.peak = 0
	for _, v := range hist.Values {
		if v > p.peak {
			p.peak = v
		}
	}
	return fc, nil
}

// floor reads the current forecast's quantile level for the decision at
// now; lever sets the HPA target from it.
func (p *ForecastPlanner) floor(now time.Time, level float64, lever bool) (int32, error) {
	q := p.fc.Quantiles[level]
	if q == nil {
		q = p.fc.Mean
	}
	from, to := now.Add(p.Lead), now.Add(p.Lead+p.Window)
	peak := 0.0
	for i, v := range q {
		t := p.fc.Time(i)
		if !t.Add(p.fc.Step).After(from) {
			continue
		}
		if t.After(to) {
			break
		}
		// Never act on NaN, Inf or an absurd forecast (ten times the
		// highest demand ever seen).
		if math.IsNaN(v) || math.IsInf(v, 0) || v > 10*p.peak {
			return 0, fmt.Errorf("forecast at %s: unusable value %v for %s", now.Format(time.RFC3339), v, t.Format(time.RFC3339))
		}
		peak = max(peak, v)
	}
	if !lever {
		return p.Pods(peak), nil
	}
	p.target = 0
	if p.TargetCeiling > 0 {
		near := 0.0
		for i, v := range q {
			t := p.fc.Time(i)
			if !t.Add(p.fc.Step).After(now) {
				continue
			}
			if !t.Before(from) {
				break
			}
			near = max(near, v)
		}
		if near > 0 && peak <= near*p.TargetCeiling/p.NormalTarget {
			p.target = p.TargetCeiling
		}
	}
	return p.Pods(peak), nil
}

// scaleError returns a copy of fc with its error against truth scaled by
// s (see ForecastPlanner.ErrorScale). Steps truth does not cover, or
// where it has no sample, keep their values.
func scaleError(fc *forecast.Forecast, truth forecast.Series, s float64) *forecast.Forecast {
	out := *fc
	d := make([]float64, fc.Len())
	for i := range d {
		d[i] = math.NaN()
		from := int(fc.Time(i).Sub(truth.Start) / truth.Step)
		to := int(fc.Time(i+1).Sub(truth.Start) / truth.Step)
		sum, n := 0.0, 0
		for j := max(0, from); j < min(truth.Len(), to); j++ {
			if v := truth.Values[j]; !math.IsNaN(v) {
				sum += v
				n++
			}
		}
		if n > 0 {
			d[i] = sum / float64(n)
		}
	}
	scale := func(vs []float64) []float64 {
		o := make([]float64, len(vs))
		for i, v := range vs {
			switch t := d[i]; {
			case math.IsNaN(t) || math.IsNaN(v):
				o[i] = v
			case t > 0 && v > 0:
				o[i] = t * math.Pow(v/t, s)
			default:
				o[i] = t + s*(v-t)
			}
		}
		return o
	}
	out.Mean = scale(fc.Mean)
	out.Quantiles = make(map[float64][]float64, len(fc.Quantiles))
	for q, vs := range fc.Quantiles {
		out.Quantiles[q] = scale(vs)
	}
	return &out
}

// HPATarget implements TargetSetter.
func (p *ForecastPlanner) HPATarget() float64 { return p.target }

// PerfectForecast plans the floors a forecast without error would: the
// demand's own future over [now+Lead, now+Lead+Window], sized like
// ForecastPlanner. It reads the future on purpose, so it is a bound and not
// a strategy: run in place of ForecastPlanner on the same cluster, it shows
// how much of the gap between the predictive strategy and its goals is the
// forecast's error and how much is the mechanics (lead time, sizing, the
// HPA's own reaction) that no forecast can remove.
type PerfectForecast struct {
	Sizing
	// Demand is the replayed 1-minute demand (Report.Demand).
	Demand       forecast.Series
	Lead, Window time.Duration
}

// Plan implements FloorPlanner; observed is ignored.
func (p *PerfectForecast) Plan(now time.Time, _ forecast.Series) (int32, error) {
	from := max(0, int(now.Add(p.Lead).Sub(p.Demand.Start)/p.Demand.Step))
	to := min(p.Demand.Len()-1, int(now.Add(p.Lead+p.Window).Sub(p.Demand.Start)/p.Demand.Step))
	peak := 0.0
	for i := from; i <= to; i++ {
		if v := p.Demand.Values[i]; v > peak { // NaN compares false
			peak = v
		}
	}
	return p.Pods(peak), nil
}

// bucketer aggregates a growing 1-minute series into means over a coarser
// grid aligned on the Unix epoch, keeping only complete buckets. It is
// extended incrementally because the simulator hands the planner ever
// longer prefixes of the same demand; a different series resets it.
type bucketer struct {
	start    time.Time // of the 1-minute series seen
	consumed int       // minutes read
	first    time.Time // first bucket
	values   []float64
	sum      float64
	cnt      int
	step     time.Duration
}

func (b *bucketer) extend(s forecast.Series, step time.Duration) {
	if !s.Start.Equal(b.start) || s.Len() < b.consumed || step != b.step {
		*b = bucketer{start: s.Start, step: step}
	}
	for i := b.consumed; i < s.Len(); i++ {
		t := s.Time(i)
		bucket := t.Truncate(step)
		if b.first.IsZero() {
			b.first = bucket
		}
		k := int(bucket.Sub(b.first) / step)
		for len(b.values) < k { // close the open bucket(s)
			b.close()
		}
		if v := s.Values[i]; !math.IsNaN(v) {
			b.sum += v
			b.cnt++
		}
		// The minute ending the bucket completes it.
		if !t.Add(s.Step).Before(bucket.Add(step)) {
			b.close()
		}
	}
	b.consumed = s.Len()
}

func (b *bucketer) close() {
	v := math.NaN()
	if b.cnt > 0 {
		v = b.sum / float64(b.cnt)
	}
	b.values = append(b.values, v)
	b.sum, b.cnt = 0, 0
}

func (b *bucketer) series() forecast.Series {
	return forecast.Series{Start: b.first, Step: b.step, Values: b.values}
}
