// Package metrics brings signals in and the daemon's own metrics out.
//
// In: a Source returns a signal of a target (demand, p95 latency, DB
// connections, ...) as a regular series on an aligned grid, from Prometheus
// or any server that speaks its HTTP API (Thanos, Mimir, VictoriaMetrics),
// or from a trace being replayed. A History keeps each signal's recent past
// in memory in a compact form, backfilled once and then extended with only
// the new samples every tick.
//
// Out: an Exporter holds the metrics the daemon exports on /metrics: what it
// forecast, observed, wanted and applied, why, and how healthy its sources
// are.
//
// Errors name the target and signal and carry a Kind from a small fixed set,
// so that an operator can act on them and they can be counted in a metric. A
// failed fetch is never turned into zeros: the caller sees an error and holds
// what it had.
package metrics
