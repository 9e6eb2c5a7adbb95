// Package policy turns a validated policy (package config), forecasts and
// the observed state of a cluster into a Plan: the floors, ceilings, node
// group minimums and database and cache tiers prescale wants now, each with
// its reasons in order (which forecast and quantile, which rules, which
// limit bound it).
//
// The engine is pure: Engine.Plan takes the time, the previous State and
// the Inputs and returns the Plan and the next State, with no I/O and no
// clock, so the daemon calls it every tick, the backtest simulator calls it
// every simulated minute, and tests call it with tables.
//
// For each target the order is:
//
//  1. capacity model: floor = ceil(q(forecast demand over [now+lead,
//     now+lead+window]) × (1+headroom) / (per-pod capacity × target
//     utilisation)), with the per-pod capacity lowered (bounded) when the
//     observed p95 latency exceeds the objective;
//  2. rules: schedule windows and ramps, event step plans, volatility with
//     hysteresis, then connection budgets;
//  3. limits: the owner's minReplicas, the ceiling, the max step up, the
//     scale-down stabilisation, rate and cooldown.
//
// Node groups follow the planned pods; databases and caches follow the
// forecast load and connections against their tier ladders, one rung at a
// time, inside change windows, with hysteresis before stepping down.
package policy
