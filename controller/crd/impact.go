package crd

import (
	"math"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/sim"
)

// impactStatus is a target's impact report as its status shows it, nil
// before the first report.
func impactStatus(r *controller.ImpactReport) *v1alpha1.Impact {
	if r == nil {
		return nil
	}
	at := metav1.NewTime(r.At)
	st := &v1alpha1.Impact{
		Last7d:     impactWindow(r.Last7d),
		Last14d:    impactWindow(r.Last14d),
		StandDown:  r.StoodDown,
		Reason:     r.Why,
		ComputedAt: &at,
	}
	if r.Quantile > 0 {
		st.OperatingQuantile = strconv.FormatFloat(r.Quantile, 'g', -1, 64)
	}
	return st
}

func impactWindow(im *sim.Impact) *v1alpha1.ImpactWindow {
	if im == nil {
		return nil
	}
	return &v1alpha1.ImpactWindow{
		Window:              config.FormatDuration(im.To.Sub(im.From).Round(time.Hour)),
		UnservedReactive:    sig(im.Reactive.UnservedFraction),
		UnservedPredictive:  sig(im.Predictive.UnservedFraction),
		ExtraReplicaHours:   sig(im.ReplicaHoursPaid()),
		UnservedAtEqualCost: sig(im.EqualCost.ReactiveUnserved),
		EqualCostRatio:      sig(im.EqualCostRatio()),
		GainPerCost:         sig(im.GainPerCost()),
		DaysBetter:          int32(im.DayWins),
		DaysWorse:           int32(im.DayLosses),
	}
}

// sig keeps 4 significant digits (unserved fractions are small: rounding
// to decimals would read 0), nil for NaN and infinities, which JSON
// cannot carry.
func sig(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	x, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return &x
}
