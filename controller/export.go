package controller

import (
	"strings"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// exportForecast exports the mean and the provisioning quantile at the
// lead horizon.
func (l *Loop) exportForecast(t *config.Target, label, name string, f *forecast.Forecast, now time.Time) {
	at := now.Add(t.Capacity.LeadTime.D())
	i := int(at.Sub(f.Start) / f.Step)
	if i < 0 || i >= f.Len() {
		return
	}
	l.exp.Forecast.WithLabelValues(label, name, "mean").Set(f.Mean[i])
	if q, ok := f.Quantiles[t.Capacity.Quantile]; ok {
		l.exp.Forecast.WithLabelValues(label, name, "quantile").Set(q[i])
	}
}

// export records a planned value and the reason that bound it.
func (l *Loop) export(p *config.Policy, r policy.Resource) {
	if l.exp == nil {
		return
	}
	if v, ok := numeric(p, r, r.Desired); ok {
		l.exp.Desired.WithLabelValues(p.TargetLabel(r.Target), r.Kind, r.Field).Set(v)
	}
	if v, ok := numeric(p, r, r.Current); ok {
		l.exp.Applied.WithLabelValues(p.TargetLabel(r.Target), r.Kind, r.Field).Set(v)
	}
	l.exp.Decisions.WithLabelValues(p.TargetLabel(r.Target), r.Kind, string(Binding(r.Reasons))).Inc()
}

// numeric turns a planned value into a gauge value: replicas and sizes as
// they are, a class as its rung in the resource's ladder.
func numeric(p *config.Policy, r policy.Resource, v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case string:
		ladders := p.Spec.Databases
		if r.Kind == policy.KindCache {
			ladders = p.Spec.Caches
		}
		for _, d := range ladders {
			if d.Name != r.Name {
				continue
			}
			for i, tier := range d.Tiers {
				if tier.Class == x {
					return float64(i), true
				}
			}
		}
	}
	return 0, false
}

// Binding classifies a planned value's reasons into the bounded set of
// decision reasons: fail_static when it was planned without a usable
// demand forecast (whatever limit or rule then shaped it: so a target's
// fail_static floor decisions count the ticks prescale_fail_static is 1),
// else the last limit that bound it, else the last rule, else the
// forecast.
func Binding(reasons []string) metrics.Reason {
	for _, r := range reasons {
		if strings.HasPrefix(strings.ToLower(r), "no usable") {
			return metrics.ReasonFailStatic
		}
	}
	var rule, base metrics.Reason
	for i := len(reasons) - 1; i >= 0; i-- {
		r := strings.ToLower(reasons[i])
		switch {
		case strings.HasPrefix(r, "mode "):
			continue
		case strings.HasPrefix(r, "limit:"):
			if c, ok := classify(r, limitReasons); ok {
				return c
			}
		default:
			if c, ok := classify(r, ruleReasons); ok {
				if rule == "" {
					rule = c
				}
			} else if c, ok := classify(r, baseReasons); ok && base == "" {
				base = c
			}
		}
	}
	switch {
	case rule != "":
		return rule
	case base != "":
		return base
	}
	return metrics.ReasonOwnerFloor
}

// reasonClass is a decision reason and the words of the planner's reasons
// that mark it.
type reasonClass struct {
	words  []string
	reason metrics.Reason
}

// The classes of Binding, each list in order of precedence.
var (
	limitReasons = []reasonClass{
		{[]string{"connection budget"}, metrics.ReasonConnectionBudget},
		{[]string{"ceiling"}, metrics.ReasonCeiling},
		{[]string{"max step"}, metrics.ReasonMaxStepUp},
		{[]string{"cooldown"}, metrics.ReasonCooldown},
		{[]string{"scale-down"}, metrics.ReasonScaleDownLimit},
		{[]string{"owner"}, metrics.ReasonOwnerFloor},
	}
	ruleReasons = []reasonClass{
		{[]string{"connection budget"}, metrics.ReasonConnectionBudget},
		{[]string{"volatility"}, metrics.ReasonVolatility},
		{[]string{"event"}, metrics.ReasonEvent},
		{[]string{"schedule", "session", "ramp"}, metrics.ReasonSchedule},
		{[]string{"window"}, metrics.ReasonWindow},
	}
	baseReasons = []reasonClass{
		{[]string{"no usable", "holding"}, metrics.ReasonFailStatic},
		{[]string{"forecast"}, metrics.ReasonForecast},
		{[]string{"owner"}, metrics.ReasonOwnerFloor},
	}
)

// classify returns the first class whose words r contains.
func classify(r string, classes []reasonClass) (metrics.Reason, bool) {
	for _, c := range classes {
		for _, w := range c.words {
			if strings.Contains(r, w) {
				return c.reason, true
			}
		}
	}
	return "", false
}
