package policy

import (
	"fmt"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
)

// The HPA's CPU target is prescale's second lever (hpa.maxTargetUtilization).
// A forecast floor is sized at capacity.quantile, so it already holds the
// forecast's headroom; the HPA's own headroom (its target below 100%) is
// then paid twice. While no rise is forecast over the coming lead time and
// window, the HPA may run hotter, up to the owner's ceiling, and spend
// fewer pods above the floor; before a forecast rise the target goes back
// to capacity.targetUtilization, so the HPA meets a ramp the forecast
// under-estimates with its normal headroom.

// leverTarget returns the HPA CPU target the lever plans at instant at and
// why. window is the forecast quantile demand over [at+lead, at+lead+window]
// the floor was sized for (ok false: no usable forecast); normal is the
// utilisation planned so far (capacity.targetUtilization, or lower when a
// volatility or event rule lowered it, which the lever never overrides).
func leverTarget(t *config.Target, f *forecast.Forecast, at time.Time, window float64, ok, stoodDown bool, normal float64) (float64, string) {
	ceiling := t.HPA.MaxTargetUtilization
	base := t.Capacity.TargetUtilization
	switch {
	case normal < base:
		return normal, "lever hpa.maxTargetUtilization held: a rule lowered the CPU target"
	case !ok:
		return base, "lever hpa.maxTargetUtilization held at capacity.targetUtilization: no usable demand forecast"
	case stoodDown:
		return base, "lever hpa.maxTargetUtilization held at capacity.targetUtilization: the forecast floors stand down"
	}
	lead := t.Capacity.LeadTime.D()
	near, _, nearOK := windowValue(f, t.Capacity.Quantile, at, at.Add(lead))
	// Running at ceiling instead of base, the pods that serve near at base
	// serve near × ceiling/base: a window above that is a rise the HPA
	// must meet with its normal headroom.
	rise := near * ceiling / base
	if !nearOK || near <= 0 || window > rise {
		return base, fmt.Sprintf("lever hpa.maxTargetUtilization: forecast rise ahead (%.4g over the window against %.4g until then): CPU target at capacity.targetUtilization %g%%",
			window, near, base*100)
	}
	return ceiling, fmt.Sprintf("lever hpa.maxTargetUtilization: the floor covers the forecast (%.4g over the window, no rise above %.4g × %g/%g): CPU target raised to %g%%",
		window, near, ceiling, base, ceiling*100)
}
