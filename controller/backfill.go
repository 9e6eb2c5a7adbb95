package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
)

// A target the daemon meets without a verdict in force (a new install, a
// new ScalingPolicy, none carried over) has an empty floor ledger: left
// alone, it would run a day at its lowest operating point, unjudged, with
// no impact report. Its demand history is already held (the forecasts are
// fitted on it), so the leader backfills the ledger: in the background, at
// most Config.Backfills targets at once, it replays the floors the
// target's forecast would have planned over the last (up to) 14 days of
// that history, refitted on the past only, and judges them, as `prescale
// plan` does (sim.PolicyImpactFloors: the same code). The first tick after
// it ends seeds the ledger with those floors (the ledger's own, planned
// since, replace them where both have a slot) and puts the verdict in
// force; until then the target stays at its lowest operating point.

// errTargetGone ends a queued backfill whose target left the policies.
var errTargetGone = errors.New("the target is no longer planned")

// backfillRetry is how long after a backfill that could not run (too
// little history, or it failed) the next is tried.
const backfillRetry = time.Hour

// backfillNeeds is the least demand history a backfill replays: the
// history the replayed forecast needs before its first floor, and a day
// of floors to judge.
const backfillNeeds = sim.ForecastMinHistory + minJudged

// backfill is one target's ledger backfill, queued or running. The
// worker sets done after the fields below it; the tick reads them only
// once done is set.
type backfill struct {
	p      *config.Policy
	t      *config.Target
	q      metrics.Query
	queued time.Time
	// seen is the last tick (backfiller.ticks) whose policies had the
	// target: a queued backfill of a target gone is dropped unrun.
	seen int

	done atomic.Bool
	ti   *sim.TargetImpact
	rf   *sim.ReplayedFloors
	why  string // why the replay judged nothing (too little history)
	err  error
	took time.Duration
}

// backfiller runs the queued backfills, at most Config.Backfills at once.
type backfiller struct {
	mu      sync.Mutex
	queue   []*backfill
	running int
	wg      sync.WaitGroup
	// ticks counts the ticks; only the tick touches it.
	ticks int
	// pending counts this tick's targets whose backfill is queued,
	// running or done and not yet applied (prescale_backfills_pending).
	// Only the tick touches it.
	pending int
}

// backfillLedger applies target t's finished backfill, or queues one
// when the target has no verdict in force (none judged by this process,
// none carried over), none is queued or running, and its demand history
// is long enough. Called from the tick (the leader's), with l.mu held;
// the backfill runs under ctx, the leader's.
func (l *Loop) backfillLedger(ctx context.Context, p *config.Policy, t *config.Target, lg *floorLedger, now time.Time) {
	if b := lg.backfill; b != nil {
		if b.done.Load() {
			lg.backfill = nil
			l.applyBackfill(p, t, lg, b, now)
		} else {
			l.bf.pending++
			b.seen = l.bf.ticks
		}
		return
	}
	if l.cfg.Backfills < 0 || !lg.computed.IsZero() || now.Before(lg.backfillRetry) {
		return
	}
	if v, _ := carriedInForce(lg, t, now); v != nil {
		return // the verdict carried over stands until this process judges
	}
	q, ok := demandQuery(p, t)
	if !ok {
		return
	}
	lg.backfillRetry = now.Add(backfillRetry)
	span := l.hist.Span(q)
	if span < backfillNeeds {
		lg.noBackfill = fmt.Sprintf("%s of demand history, fewer than the %s a backfill from history needs (the %s the forecast needs and a day of floors)",
			config.FormatDuration(span), config.FormatDuration(backfillNeeds), config.FormatDuration(sim.ForecastMinHistory))
		return
	}
	lg.noBackfill = ""
	b := &backfill{p: p, t: t, q: q, queued: now, seen: l.bf.ticks}
	lg.backfill = b
	l.log.Info("backfilling the floor ledger from history", "policy", p.Key(), "target", t.Name, "history", config.FormatDuration(span))
	l.bf.pending++
	l.bf.mu.Lock()
	l.bf.queue = append(l.bf.queue, b)
	l.bf.mu.Unlock()
}

// startBackfills starts workers, up to Config.Backfills, for the queued
// backfills: at the end of a tick, so that they do not take cores from
// its refits.
func (l *Loop) startBackfills(ctx context.Context) {
	if l.exp != nil {
		l.exp.BackfillsPending.Set(float64(l.bf.pending))
	}
	l.bf.pending = 0 // counted afresh by the next tick
	l.bf.mu.Lock()
	defer l.bf.mu.Unlock()
	// A target that left the policies (or its policy that was deleted)
	// is not replayed: its ledger is no longer judged.
	live := l.bf.queue[:0]
	for _, b := range l.bf.queue {
		if b.seen == l.bf.ticks {
			live = append(live, b)
			continue
		}
		b.err = errTargetGone
		b.done.Store(true)
		l.log.Info("floor ledger backfill dropped: the target is no longer planned", "policy", b.p.Key(), "target", b.t.Name)
	}
	clear(l.bf.queue[len(live):])
	l.bf.queue = live
	l.bf.ticks++
	for l.bf.running < min(max(l.cfg.Backfills, 1), len(l.bf.queue)) {
		l.bf.running++
		l.bf.wg.Add(1)
		go l.backfillWorker(ctx)
	}
}

// demandQuery is target t's demand query.
func demandQuery(p *config.Policy, t *config.Target) (metrics.Query, bool) {
	for _, sg := range signalsOf(t) {
		if sg.name == "demand" {
			return metrics.Query{Target: p.TargetLabel(t.Name), Signal: sg.name, Expr: sg.query, Step: sg.step}, true
		}
	}
	return metrics.Query{}, false
}

// backfillWorker runs queued backfills until the queue is empty; once ctx
// is done it ends the queued ones as cancelled.
func (l *Loop) backfillWorker(ctx context.Context) {
	defer l.bf.wg.Done()
	for {
		l.bf.mu.Lock()
		if len(l.bf.queue) == 0 || ctx.Err() != nil {
			for _, b := range l.bf.queue {
				b.err = ctx.Err()
				b.done.Store(true)
			}
			l.bf.queue = nil
			l.bf.running--
			l.bf.mu.Unlock()
			return
		}
		b := l.bf.queue[0]
		l.bf.queue = l.bf.queue[1:]
		l.bf.mu.Unlock()
		l.runBackfill(ctx, b)
	}
}

// runBackfill replays and judges b's target on its demand history.
func (l *Loop) runBackfill(ctx context.Context, b *backfill) {
	start := time.Now()
	defer func() { b.took = time.Since(start); b.done.Store(true) }()
	series, ok := l.hist.Series(b.q)
	if !ok {
		b.err = errors.New("no demand history held")
		return
	}
	b.ti, b.rf, b.why, b.err = sim.PolicyImpactFloors(ctx, policy.NewEngine(b.p), b.t.Name, series, l.cfg.Refit, StandDownMargin)
}

// waitBackfills waits for the backfill workers to end (they end when the
// queue is empty or their context is done).
func (l *Loop) waitBackfills() { l.bf.wg.Wait() }

// applyBackfill seeds lg with b's floors and puts its verdict in force,
// or records why it could not.
func (l *Loop) applyBackfill(p *config.Policy, t *config.Target, lg *floorLedger, b *backfill, now time.Time) {
	log := l.log.With("policy", p.Key(), "target", t.Name)
	switch {
	case errors.Is(b.err, context.Canceled) || errors.Is(b.err, context.DeadlineExceeded) || errors.Is(b.err, errTargetGone):
		// Shut down, no longer the leader, or the target left the
		// policies and is back: the next leading tick starts it again.
		log.Info("floor ledger backfill cancelled", "err", b.err)
		lg.backfillRetry, lg.noBackfill = time.Time{}, ""
		return
	case b.err != nil:
		log.Warn("floor ledger not backfilled from history", "err", b.err, "took", b.took)
		lg.noBackfill = fmt.Sprintf("the backfill from history failed: %v", b.err)
		return
	case b.ti == nil:
		log.Info("floor ledger not backfilled from history", "why", b.why)
		lg.noBackfill = b.why
		return
	case !lg.computed.IsZero():
		return // judged on its own floors meanwhile
	case !slices.Equal(b.rf.Levels, t.Capacity.Levels()) || (len(lg.levels) > 0 && !slices.Equal(b.rf.Levels, lg.levels)):
		log.Info("floor ledger backfill dropped: the target's quantiles changed while it ran")
		lg.backfillRetry, lg.noBackfill = time.Time{}, ""
		return
	}
	k := slices.Index(b.rf.Levels, b.ti.Quantile)
	if k < 0 {
		log.Warn("floor ledger backfill dropped: its operating point is not one of the target's quantiles", "quantile", b.ti.Quantile)
		lg.noBackfill = fmt.Sprintf("the backfill from history chose p%g, not one of the target's quantiles", 100*b.ti.Quantile)
		return
	}
	lg.seedReplayed(b.rf)
	span := b.rf.Demand.Step * time.Duration(b.rf.Demand.Len())
	why := fmt.Sprintf("judged on %s of floors replayed from history before this process planned any (the forecast planned none in its first %s, the history it needs): %s",
		config.FormatDuration(span.Round(time.Hour)), config.FormatDuration(sim.ForecastMinHistory), b.ti.Why)
	log.Info("floor ledger backfilled from history", "history", config.FormatDuration(span.Round(time.Minute)), "took", b.took, "queued", now.Sub(b.queued))
	lg.judged = now
	l.applyJudgement(p, t, lg, judgement{levels: b.rf.Levels, level: k, pays: !b.ti.StoodDown, why: why, replayed: true, im7: b.ti.Last7d, im14: b.ti.Last14d}, now)
}

// seedReplayed puts the floors rf replayed from history in the ledger:
// the ledger's own floors, planned by this process, replace them from
// its first slot on; a gap between the two holds the last floor.
func (lg *floorLedger) seedReplayed(rf *sim.ReplayedFloors) {
	start := rf.Demand.Start.Truncate(ledgerStep)
	end := rf.Demand.Time(rf.Demand.Len())
	n := int((end.Sub(start) + ledgerStep - 1) / ledgerStep)
	replayed := make([][]uint16, len(rf.Floors))
	base := int64(rf.Demand.Start.Sub(start))
	for k, fl := range rf.Floors {
		slots := make([]uint16, n)
		for i := range slots {
			slots[i] = unrecorded
		}
		for m, f := range fl {
			i := int((base + int64(m)*int64(rf.Demand.Step)) / int64(ledgerStep))
			slots[i] = higher(slots[i], clampFloor(int(f)))
		}
		replayed[k] = slots
	}
	if lg.first.IsZero() || len(lg.floors) == 0 {
		lg.first, lg.levels = start, slices.Clone(rf.Levels)
		lg.floors, lg.alt = replayed[0], replayed[1:]
		lg.replayedUntil = end
		return
	}
	lg.replayedUntil = lg.first
	if !start.Before(lg.first) {
		return // nothing before the ledger's own floors
	}
	keep := int(lg.first.Sub(start) / ledgerStep) // replayed slots before the ledger's first
	merge := func(rep, own []uint16, ownLen int) []uint16 {
		out := make([]uint16, 0, keep+ownLen)
		out = append(out, rep[:min(keep, len(rep))]...)
		for len(out) < keep {
			out = append(out, unrecorded)
		}
		for range ownLen - len(own) { // an operating point recorded later than the owner's
			out = append(out, unrecorded)
		}
		return append(out, own...)
	}
	floors := merge(replayed[0], lg.floors, len(lg.floors))
	for i := range lg.alt {
		if i+1 < len(replayed) {
			lg.alt[i] = merge(replayed[i+1], lg.alt[i], len(lg.floors))
		}
	}
	lg.floors, lg.first = floors, start
}

// replayedPart says how much of the floors judged from from on were
// replayed from history rather than planned by this process ("" when
// none).
func (lg *floorLedger) replayedPart(from, to time.Time) string {
	if !lg.replayedUntil.After(from) {
		return ""
	}
	until := lg.replayedUntil
	if until.After(to) {
		until = to
	}
	return fmt.Sprintf("judged on %s of floors, the first %s of them replayed from history before this process planned any: ",
		config.FormatDuration(to.Sub(from).Round(time.Hour)), config.FormatDuration(until.Sub(from).Round(time.Hour)))
}

// unjudgedWhy says why target's floors are not judged yet.
func (lg *floorLedger) unjudgedWhy() string {
	switch {
	case lg.backfill != nil:
		return "the floors its forecast would have planned over its demand history are being replayed to judge them"
	case lg.noBackfill != "":
		return fmt.Sprintf("not backfilled from history: %s; the first judgement comes after %s of floors", lg.noBackfill, config.FormatDuration(minJudged))
	}
	return fmt.Sprintf("the first judgement comes after %s of floors", config.FormatDuration(minJudged))
}
