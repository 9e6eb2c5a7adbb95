package controller

import (
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
)

// refit fits the signal's forecast far enough ahead to serve until the next
// refit, and discards it when it is not finite or absurd.
func (l *Loop) refit(p *config.Policy, t *config.Target, sg signal, series forecast.Series, now time.Time, ahead time.Duration, ft *fitted) {
	l.score(t, p.TargetLabel(t.Name), sg, series, ft)
	ft.at = now
	ft.f = nil
	end := series.Time(series.Len())
	h := int(math.Ceil(float64(now.Add(l.cfg.Refit+l.cfg.Tick+ahead).Sub(end))/float64(series.Step))) + 1
	qs := t.Capacity.Levels()
	opts := forecast.Options{Horizon: max(h, 1), Quantiles: qs, Location: p.Location}
	var f *forecast.Forecast
	var err error
	period := l.cfg.Reselect
	if ft.quick {
		period = min(period, quickReselect)
	}
	if ft.sel != nil && ft.sel.Age(end) < reselectAfter(period, p.Key(), t.Name, sg.name) {
		f, err = ft.sel.Refit(series, opts)
	}
	if f == nil {
		// No selection yet, an old one, or a refit that failed: select.
		// The first selection, at start-up, validates at fewer origins
		// and leaves the costliest candidates out (forecast.Options.Quick):
		// with thousands of targets every one of them is selected at the
		// first tick, and no target has a plan until that tick ends.
		// Such a selection is made again in full within quickReselect.
		first := ft.sel == nil
		if first {
			opts.Origins = quickOrigins
			opts.Quick = true
		}
		// The signal's online calibration of its quantiles outlives the
		// selection (forecast.Options.Previous).
		opts.Previous = ft.sel
		f, ft.sel, err = forecast.Select(series, opts)
		ft.quick = first && err == nil
	}
	if err != nil {
		ft.why = fmt.Sprintf("forecast failed: %v", err)
		l.log.Warn("forecast failed", "target", t.Name, "signal", sg.name, "err", err)
		return
	}
	if why := l.absurd(f, series); why != "" {
		ft.why = why
		// Not a decision: decisions_total counts planned values, one per
		// resource and tick; the tick's plan counts its own.
		l.log.Warn("forecast discarded", "target", t.Name, "signal", sg.name, "why", why, "model", f.Model)
		return
	}
	ft.f = f
	ft.why = ""
	l.log.Debug("refit", "target", t.Name, "signal", sg.name, "model", f.Model, "detail", f.Detail)
	if l.exp != nil {
		// Only the series of the model this signal exported last is
		// dropped: a partial-match delete scans every series of the
		// vector, and with 20,000 signals refitted at one tick that was
		// quadratic (a tenth of a cold start's CPU at 2,000 targets).
		label := p.TargetLabel(t.Name)
		if ft.model != "" && ft.model != f.Model {
			l.exp.Model.DeleteLabelValues(label, sg.name, ft.model)
		}
		l.exp.Model.WithLabelValues(label, sg.name, f.Model).Set(1)
		ft.model = f.Model
	}
}

// A signal's first selection validates at quickOrigins rolling origins
// (a short horizon's full selection takes up to 24, about three times the
// work), without the costliest candidates (forecast.Options.Quick), and is
// made again in full after between half of and the whole of quickReselect.
const (
	quickOrigins  = 8
	quickReselect = time.Hour
)

// reselectAfter is the age at which one signal's model is selected afresh:
// between half of and the whole reselect period, fixed per signal by a
// hash of its name. Every model is selected at start-up; without the
// spread they would all be selected again at one tick every period, and
// with thousands of targets that tick would take minutes.
func reselectAfter(period time.Duration, names ...string) time.Duration {
	if period <= 0 {
		return period
	}
	h := fnv.New32a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	return period/2 + time.Duration(uint64(period/2)*uint64(h.Sum32()%1024)/1024)
}

// maseWeight is the weight of the newest score in the rolling MASE: about
// the last day of 15-minute refits counts.
const maseWeight = 0.05

// rolling adds the n-th score x to the rolling average avg: the plain
// mean of the first 1/maseWeight scores, exponentially weighted after.
// Weighting from the first score instead would leave it a third of the
// weight after a day of refits.
func rolling(avg, x float64, n int) float64 {
	if n <= 1 || math.IsNaN(avg) {
		return x
	}
	w := max(maseWeight, 1/float64(n))
	return (1-w)*avg + w*x
}

// score compares the forecast about to be replaced with the samples that
// have arrived since it was made, scaled by the in-sample error of the
// seasonal naive forecast (MASE: below 1 beats it), and updates the
// exported rolling MASE.
func (l *Loop) score(t *config.Target, label string, sg signal, series forecast.Series, ft *fitted) {
	f := ft.f
	if f == nil || f.Step != series.Step {
		return
	}
	var ae float64
	var n, under int
	q := f.Quantiles[t.Capacity.Quantile]
	for i := range f.Mean {
		j := int(f.Time(i).Sub(series.Start) / series.Step)
		if j < 0 || j >= series.Len() {
			continue
		}
		if y := series.Values[j]; !math.IsNaN(y) {
			ae += math.Abs(y - f.Mean[i])
			n++
			if i < len(q) && y <= q[i] {
				under++
			}
		}
	}
	if n > 0 && len(q) > 0 {
		ft.covered++
		ft.coverage = rolling(ft.coverage, float64(under)/float64(n), ft.covered)
		if l.exp != nil {
			l.exp.ForecastCoverage.WithLabelValues(label, sg.name).Set(ft.coverage)
		}
	}
	period := 1
	if len(f.Seasons) > 0 {
		period = f.Seasons[len(f.Seasons)-1].Period
	}
	var scale float64
	var m int
	for j := period; j < series.Len(); j++ {
		a, b := series.Values[j], series.Values[j-period]
		if !math.IsNaN(a) && !math.IsNaN(b) {
			scale += math.Abs(a - b)
			m++
		}
	}
	if n == 0 || m == 0 || scale == 0 {
		return
	}
	if math.IsNaN(ft.mase) {
		ft.scoredSince = series.Time(series.Len())
	}
	ft.scored++
	ft.mase = rolling(ft.mase, (ae/float64(n))/(scale/float64(m)), ft.scored)
	if l.exp != nil {
		l.exp.ForecastMASE.WithLabelValues(label, sg.name).Set(ft.mase)
	}
}

// absurd says why a forecast must not be acted on, or "".
func (l *Loop) absurd(f *forecast.Forecast, hist forecast.Series) string {
	peak := math.Inf(-1)
	for _, v := range hist.Values {
		if v > peak {
			peak = v
		}
	}
	bound := l.cfg.MaxGrowth * peak
	check := func(name string, vals []float64) string {
		for i, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Sprintf("%s at %s is %v", name, f.Time(i).Format(time.RFC3339), v)
			}
			if peak > 0 && v > bound {
				return fmt.Sprintf("%s %.4g at %s is above %.3g × the observed peak %.4g", name, v, f.Time(i).Format(time.RFC3339), l.cfg.MaxGrowth, peak)
			}
		}
		return ""
	}
	if why := check("mean", f.Mean); why != "" {
		return why
	}
	for q, vals := range f.Quantiles {
		if why := check(fmt.Sprintf("quantile %g", q), vals); why != "" {
			return why
		}
	}
	return ""
}
