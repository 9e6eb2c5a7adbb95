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
package forecast
