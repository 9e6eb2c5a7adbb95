package controller

import (
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/config"
)

// promotions returns, by target name, the shadow targets of p with
// hpa.promote that are applied as active, and promotes those whose demand
// forecasts now meet their bar. A target whose HPA prescale already
// manages (it was promoted, or active, before this process started) is
// promoted at once: taking it back to shadow would leave its floors in
// place unmanaged.
func (l *Loop) promotions(p *config.Policy) map[string]string {
	out := map[string]string{}
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		if t.HPA.Mode != "shadow" || t.HPA.Promote == nil {
			if l.exp != nil {
				l.exp.Promoted.DeleteLabelValues(p.TargetLabel(t.Name)) // no stale 0 once promote goes
			}
			continue
		}
		key := p.Key() + "/" + t.Name
		why, ok := l.promoted[key]
		if !ok {
			if _, managed := l.managed[key]; managed {
				why, ok = "prescale already manages its HPA (promoted or active before)", true
			} else if ft := l.fits[fitKey{p.Key(), t.Name, "demand"}]; ft != nil && !ft.scoredSince.IsZero() && ft.f != nil {
				scored := ft.f.Start.Sub(ft.scoredSince)
				ok, why = promotion(t.HPA.Promote, scored, ft.mase, ft.coverage, l.ledgers[key])
				if !ok {
					l.log.Debug("not promoted yet", "target", t.Name, "why", why)
				}
			}
			if ok {
				l.promoted[key] = why
				l.log.Info("promoted from shadow: the plan is applied from now on", "target", t.Name, "why", why)
			}
		}
		v := 0.0
		if ok {
			out[t.Name], v = why, 1
		}
		if l.exp != nil {
			l.exp.Promoted.WithLabelValues(p.TargetLabel(t.Name)).Set(v)
		}
	}
	return out
}

// promotion judges a shadow target's demand forecasts, scored for scored
// with rolling MASE mase and coverage of the provisioning quantile
// coverage, and, when the bar sets minGainPerCost, its floors' last
// 14-day impact report in lg (nil when none), against its bar: whether
// they meet it, and why (or which part of the bar they fail).
func promotion(bar *config.Promote, scored time.Duration, mase, coverage float64, lg *floorLedger) (bool, string) {
	after := bar.After.D()
	switch {
	case scored < after:
		return false, fmt.Sprintf("scored for %s of the %s required", config.FormatDuration(scored.Truncate(time.Minute)), bar.After)
	case math.IsNaN(mase) || mase > bar.MaxMASE:
		return false, fmt.Sprintf("rolling MASE %.3g above %g", mase, bar.MaxMASE)
	case math.IsNaN(coverage) || coverage < bar.MinCoverage:
		return false, fmt.Sprintf("rolling coverage %.3g below %g", coverage, bar.MinCoverage)
	}
	why := fmt.Sprintf("rolling MASE %.3g ≤ %g and coverage %.3g ≥ %g after %s in shadow", mase, bar.MaxMASE, coverage, bar.MinCoverage, bar.After)
	if bar.MinGainPerCost <= 0 {
		return true, why
	}
	if lg == nil || lg.impact14 == nil {
		return false, fmt.Sprintf("no impact report of its floors yet (the first comes once a day after %s of floors) to check gain per cost ≥ %g", config.FormatDuration(minJudged), bar.MinGainPerCost)
	}
	im := lg.impact14
	span := config.FormatDuration(im.To.Sub(im.From).Round(time.Hour))
	if lg.down {
		return false, fmt.Sprintf("floors stood down over %s: %s", span, lg.why)
	}
	g, gain, cost := im.GainPerCost(), im.SavedShare(), im.PaidShare()
	if math.IsNaN(g) || g < bar.MinGainPerCost {
		return false, fmt.Sprintf("gain per cost %.3g below %g over %s (floors saved %.3g%% of the HPA alone's unserved demand for %.3g%% more replica-hours)",
			g, bar.MinGainPerCost, span, 100*gain, 100*cost)
	}
	return true, fmt.Sprintf("%s, and gain per cost %.3g ≥ %g over %s (floors saved %.3g%% of the HPA alone's unserved demand for %.3g%% more replica-hours)",
		why, g, bar.MinGainPerCost, span, 100*gain, 100*cost)
}
