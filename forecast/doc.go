// Package forecast fits seasonal models to demand series and forecasts them
// with calibrated prediction intervals.
//
// Everything here is pure computation: no I/O, no clocks. Seasonal position is
// computed in local time (an IANA zone given by the caller), so a 09:30
// America/New_York open stays at the same seasonal slot across DST changes.
//
// The package offers several models behind one small interface (Model), a
// selector that weights them by rolling-origin validation on the series' own
// recent history, and an evaluator that reports sMAPE, MASE and interval
// coverage against the seasonal naive baseline.
//
// Intervals are calibrated twice. Once on the out-of-sample errors of the
// rolling-origin validation (see calibrate in intervals.go), widened for
// the small number of origins behind them; and then online, for a signal
// that is refitted again and again (Selection), by adaptive conformal
// inference (Gibbs and Candès 2021): each quantile's level is corrected
// per horizon step from its own misses, so that its long-run coverage
// converges to the level whatever the series does (see adaptive.go). The
// validation errors are those of the whole selection, each origin held out
// of the choice that forecast it (see validation.heldOut). The selection is
// shrunk toward the seasonal naive when its validated gain is within noise
// (see validation.shrink in validate.go).
package forecast
