package main

import (
	"fmt"
	"math"
)

// Bounds of the forecast command's inputs, checked before any work starts
// so that the cost of a request is known before it is paid. docs/policy.md
// ("Limits") lists them.
const (
	// maxHorizon is the most steps forecast may predict: five weeks of
	// 1-minute steps, or nearly three years of half-hours.
	maxHorizon = 50_000
	// maxQuantiles is the most quantile levels one request may ask for.
	maxQuantiles = 99
	// maxForecastValues bounds horizon × (1 + quantiles): the values the
	// forecast holds and prints (8 MB of float64, about 40 MB of JSON).
	maxForecastValues = 1_000_000
	// maxOrigins bounds --evaluate's rolling origins, each a full fit.
	maxOrigins = 500
	// maxEvalSteps bounds origins × horizon: the points --evaluate scores.
	maxEvalSteps = 2_000_000
)

// checkForecastFlags checks the numeric flags of forecast against their
// ranges; h is 0 when --horizon was left out (then the default, one day of
// steps, is checked once the trace's step is known).
func checkForecastFlags(h, quantiles int, evaluate bool, origins int, coverage float64) error {
	switch {
	case h < 0 || h > maxHorizon:
		return fmt.Errorf("--horizon %d: must be between 1 and %d steps", h, maxHorizon)
	case quantiles > maxQuantiles:
		return fmt.Errorf("--quantiles: %d levels, at most %d", quantiles, maxQuantiles)
	case h > 0 && h*(1+quantiles) > maxForecastValues:
		return fmt.Errorf("--horizon %d with %d quantiles: %d values, at most %d (a shorter horizon or fewer quantiles)",
			h, quantiles, h*(1+quantiles), maxForecastValues)
	}
	if !evaluate {
		return nil
	}
	switch {
	case origins < 1 || origins > maxOrigins:
		return fmt.Errorf("--origins %d: must be between 1 and %d", origins, maxOrigins)
	case !(coverage > 0 && coverage < 1) || math.IsNaN(coverage):
		return fmt.Errorf("--coverage %g: must be a level in (0,1)", coverage)
	case h > 0 && h*origins > maxEvalSteps:
		return fmt.Errorf("--horizon %d × --origins %d = %d steps to score, at most %d", h, origins, h*origins, maxEvalSteps)
	}
	return nil
}
