package controller

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
)

// A target's forecast floors must earn their cost. The daemon records the
// forecast floor each plan computes (before any stand-down), and once a
// day per target replays the target's own demand history (the 14 days it
// keeps) under the HPA alone and under the HPA with those floors
// (sim.Compare): what the floors saved and paid over the last 7 and 14
// days is the target's impact report, and where they do not beat running
// the HPA cooler at equal cost by StandDownMargin, the target stands down:
// no forecast floors, while rules and the owner's values still apply.

// Ledger settings.
const (
	// ledgerStep is the resolution of the recorded floors: the highest
	// floor planned in each 5 minutes.
	ledgerStep = 5 * time.Minute
	// ledgerSpan is how far back floors are kept: the history kept.
	ledgerSpan = 14 * 24 * time.Hour
	// judgeEvery is how often a target's floors are judged, at a point of
	// the day fixed per target so that judgements spread out.
	judgeEvery = 24 * time.Hour
	// minJudged is the least history judged (one daily cycle): before it
	// the floors stand at the target's lowest operating point.
	minJudged = sim.JudgeMinSpan
	// StandDownMargin is by how much floors must beat the HPA alone run
	// cooler at equal replica-hours: a fifth less unserved demand.
	StandDownMargin = 0.2
)

// floorLedger is one target's recorded forecast floors.
type floorLedger struct {
	first time.Time // of floors[0], on the ledgerStep grid
	// floors are the owner's quantile's; alt[k] the k-th operating
	// point's (capacity.operatingPoints), on the same grid.
	floors []uint16
	alt    [][]uint16
	// levels are the quantiles recorded (the owner's, then the operating
	// points): a change of them starts the operating points afresh.
	levels []float64
	// judged is when the floors were last judged; down and why the
	// outcome; impact7 and impact14 the reports (of the operating point
	// in force, level: an index of levels).
	judged            time.Time
	down              bool
	why               string
	level             int
	impact7, impact14 *sim.Impact
	// computed is when impact7 and impact14 were made.
	computed time.Time
	// replays keeps the days judged replayed, so that the next judgement
	// replays only what is new (about 2 of the 14 days).
	replays sim.Replays
	// carried is the verdict a previous process left (Config.Verdicts),
	// in force until this one judges the floors (carriedInForce).
	carried *Verdict
	// backfill is the ledger's backfill from history, queued or running
	// (backfill.go); noBackfill says why none ran (too little history,
	// it failed), tried again from backfillRetry; the floors before
	// replayedUntil were replayed from history, not planned by this
	// process.
	// replayed is set when the judgement in force was made on floors
	// replayed from history (all or part).
	replayed                     bool
	backfill                     *backfill
	noBackfill                   string
	backfillRetry, replayedUntil time.Time
}

// record keeps floor as planned at now, and alts, the floors of the
// operating points levels[1:].
func (lg *floorLedger) record(now time.Time, floor int, levels []float64, alts ...int) {
	slot := now.Truncate(ledgerStep)
	if lg.first.IsZero() {
		lg.first = slot
	}
	k := int(slot.Sub(lg.first) / ledgerStep)
	if k < 0 {
		return // a clock step back: ignore
	}
	if !slices.Equal(lg.levels, levels) {
		lg.levels = slices.Clone(levels)
		lg.alt = make([][]uint16, len(alts))
		lg.level = 0
	}
	for len(lg.floors) <= k {
		lg.floors = append(lg.floors, unrecorded)
	}
	lg.floors[k] = higher(lg.floors[k], clampFloor(floor))
	for i := range lg.alt {
		for len(lg.alt[i]) < len(lg.floors) {
			lg.alt[i] = append(lg.alt[i], unrecorded)
		}
		if i < len(alts) {
			lg.alt[i][k] = higher(lg.alt[i][k], clampFloor(alts[i]))
		}
	}
	if keep := int(ledgerSpan / ledgerStep); len(lg.floors) > keep+keep/4 {
		drop := len(lg.floors) - keep
		lg.floors = append(lg.floors[:0:0], lg.floors[drop:]...)
		for i, a := range lg.alt {
			if d := len(a) - keep; d > 0 {
				lg.alt[i] = append(a[:0:0], a[d:]...)
			}
		}
		lg.first = lg.first.Add(time.Duration(drop) * ledgerStep)
	}
}

// unrecorded marks a ledger slot in which no plan was made (the daemon
// ticked less often, was not the leader, or was down): the floor written
// before it stays on the HPA, so a replay carries it forward.
const unrecorded = math.MaxUint16

func clampFloor(f int) uint16 { return uint16(min(max(f, 0), math.MaxUint16-1)) }

// higher is the highest floor of a slot planned twice.
func higher(old, f uint16) uint16 {
	if old == unrecorded {
		return f
	}
	return max(old, f)
}

// perMinute returns the recorded floor of every minute of demand.
func (lg *floorLedger) perMinute(demand forecast.Series) []int32 {
	return lg.levelPerMinute(demand, 0)
}

// levelPerMinute is perMinute for level k of levels (0: the owner's).
func (lg *floorLedger) levelPerMinute(demand forecast.Series, k int) []int32 {
	floors := lg.floors
	if k > 0 {
		floors = lg.alt[k-1]
	}
	// The operating points' floors end where the owner's do, but may
	// start later (when the levels changed): aligned on the end.
	off := len(lg.floors) - len(floors)
	held := make([]int32, len(floors)) // unrecorded slots hold the floor before them
	last := int32(0)
	for i, f := range floors {
		if f != unrecorded {
			last = int32(f)
		}
		held[i] = last
	}
	out := make([]int32, demand.Len())
	// demand's minute m is ledger slot (base + m×step)/ledgerStep - off,
	// in integer arithmetic (no time.Time per minute).
	base, step := int64(demand.Start.Sub(lg.first)), int64(demand.Step)
	for m := range out {
		i := int(floorDiv(base+int64(m)*step, int64(ledgerStep))) - off
		if i >= len(held) {
			i = len(held) - 1 // after the last plan its floor stays too
		}
		if i >= 0 {
			out[m] = held[i]
		}
	}
	return out
}

// floorDiv is a/b rounded toward minus infinity (b > 0), as a time
// before the ledger's first slot falls in a slot before it.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// quantile returns the quantile of the operating point in force.
func (lg *floorLedger) quantile() float64 {
	if lg.level < len(lg.levels) {
		return lg.levels[lg.level]
	}
	return 0
}

// judgeDue reports whether a target's floors are due for judgement at now:
// a day after the last, or at the target's point of the day the first time.
func judgeDue(lg *floorLedger, now time.Time, names ...string) bool {
	if lg.first.IsZero() || len(lg.floors) == 0 {
		return false // no floors recorded yet (a verdict carried over stays)
	}
	if !lg.judged.IsZero() {
		return now.Sub(lg.judged) >= judgeEvery
	}
	if now.Sub(lg.first) < minJudged {
		return false
	}
	h := fnv.New32a()
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
	}
	offset := time.Duration(uint64(judgeEvery) * uint64(h.Sum32()%1440) / 1440)
	return now.Sub(now.Truncate(judgeEvery)) >= offset
}

// recordFloors keeps each target's forecast floor of the plan just made.
func (l *Loop) recordFloors(p *config.Policy, next policy.State, now time.Time) {
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		lg := l.ledger(p, t)
		levels := t.Capacity.Levels()
		floor, alts := 0, make([]int, len(levels)-1)
		if st, ok := next.Targets[t.Name]; ok && st.LastForecast.Equal(now) {
			floor = st.ForecastFloor
			if len(st.LevelFloors) == len(levels) {
				floor = st.LevelFloors[0] // the owner's, whatever the point in force
				copy(alts, st.LevelFloors[1:])
			}
		}
		lg.record(now, floor, levels, alts...)
	}
}

// standDowns judges the targets of p that are due and returns, by target
// name, why each stood-down target's forecast floors do not pay, and the
// quantile of each target whose floors operate at one of its operating
// points rather than its capacity.quantile, with why when it is not that
// they paid best: until this process first judges a target, the verdict a
// previous process left stands (carriedInForce), and without one the
// floors operate at the target's lowest operating point, the cheapest
// while they have not shown they pay.
func (l *Loop) standDowns(ctx context.Context, p *config.Policy, now time.Time) (down map[string]string, points map[string]float64, whys map[string]string) {
	out, points, whys := map[string]string{}, map[string]float64{}, map[string]string{}
	for i := range p.Spec.Targets {
		t := &p.Spec.Targets[i]
		lg := l.ledger(p, t)
		l.backfillLedger(ctx, p, t, lg, now)
		if judgeDue(lg, now, p.Key(), t.Name) {
			l.judge(ctx, p, t, lg, now)
		}
		carried, dropped := carriedInForce(lg, t, now)
		if carried != nil {
			l.exportCarried(p.TargetLabel(t.Name), carried)
		}
		if !t.Capacity.StandsDown() {
			continue // capacity.standDown: false: judged and reported, never acted on
		}
		levels := t.Capacity.Levels()
		judged := !lg.computed.IsZero()
		switch {
		case judged && lg.down:
			out[t.Name] = lg.why
		case judged && slices.Equal(lg.levels, levels):
			if lg.level > 0 {
				points[t.Name] = lg.quantile()
				if lg.replayed {
					whys[t.Name] = lg.why // says the floors judged were replayed from history
				}
			}
		case carried != nil:
			switch {
			case carried.StoodDown:
				out[t.Name] = carriedWhy(carried)
			case carried.Quantile != t.Capacity.Quantile:
				points[t.Name], whys[t.Name] = carried.Quantile, carriedWhy(carried)
			}
		case len(levels) > 1:
			// Not judged yet, or its operating points changed since.
			q := slices.Min(levels)
			points[t.Name] = q
			whys[t.Name] = fmt.Sprintf("the floors are not judged yet (%s), so they start at the lowest operating point", lg.unjudgedWhy())
			if dropped != "" {
				whys[t.Name] += "; " + dropped
			}
			l.exportOperating(p.TargetLabel(t.Name), q)
		}
	}
	return out, points, whys
}

// judge runs the equal-cost comparison on the target's own history.
func (l *Loop) judge(ctx context.Context, p *config.Policy, t *config.Target, lg *floorLedger, now time.Time) {
	lg.judged = now
	q, ok := demandQuery(p, t)
	if !ok {
		return
	}
	series, ok := l.hist.Series(q)
	if !ok {
		return
	}
	demand, err := sim.Resample(series, 15*time.Minute)
	if err != nil {
		l.log.Debug("floors not judged", "target", t.Name, "err", err)
		return
	}
	// Only the span the ledger covers: before it no floor was planned.
	if from := int(lg.first.Sub(demand.Start) / time.Minute); from > 0 && from < demand.Len() {
		demand = demand.Slice(from, demand.Len())
	}
	if time.Duration(demand.Len())*time.Minute < minJudged {
		return
	}
	cfg := sim.TargetConfig(t) // pods and nodes as slow as its capacity.leadTime
	j, err := judgeFloors(ctx, cfg, demand, lg, t.Capacity.Quantile, t.Capacity.StandsDown())
	if err != nil {
		l.log.Warn("floors not judged", "target", t.Name, "err", err)
		return
	}
	if part := lg.replayedPart(demand.Start, demand.Time(demand.Len())); part != "" {
		j.why, j.replayed = part+j.why, true
	}
	l.applyJudgement(p, t, lg, j, now)
}

// applyJudgement puts judgement j of target t's floors in force, logs
// what changed and exports it.
func (l *Loop) applyJudgement(p *config.Policy, t *config.Target, lg *floorLedger, j judgement, now time.Time) {
	k, pays, why := j.level, j.pays, j.why
	levels := j.levels
	wasDown := lg.down
	if lg.computed.IsZero() && lg.carried != nil {
		wasDown = lg.carried.StoodDown // the verdict carried over is replaced
	}
	lg.impact14, lg.impact7, lg.computed = j.im14, j.im7, now
	if wasDown != !pays {
		if pays {
			l.log.Info("forecast floors stand again: they pay", "target", t.Name, "why", why)
		} else {
			l.log.Info("forecast floors stand down: they do not pay", "target", t.Name, "why", why)
		}
	}
	if pays && k != lg.level {
		l.log.Info("forecast floors change operating point", "target", t.Name, "quantile", levels[k], "why", why)
	}
	lg.down, lg.why, lg.level, lg.replayed = !pays, why, k, j.replayed
	l.exportImpact(p.TargetLabel(t.Name), lg)
}

// judgement is a target's floors judged on its history: the operating
// point chosen (level, an index of levels), whether it pays and why, and
// its comparisons over the last 14 and 7 days.
type judgement struct {
	levels    []float64
	level     int
	pays      bool
	why       string
	replayed  bool // judged on floors replayed from history (all or part)
	im7, im14 *sim.Impact
}

// judgeFloors compares the ledger's floors at each of its levels (own,
// the owner's quantile, when the ledger has none) with the HPA alone on
// demand, chooses the operating point (sim.ChooseLevel; the owner's, in
// force whatever it finds, when act is false: capacity.standDown false)
// and compares its floors again over the last 7 days, standing them down
// where they lose there (sim.RecentVerdict).
func judgeFloors(ctx context.Context, cfg sim.Config, demand forecast.Series, lg *floorLedger, own float64, act bool) (judgement, error) {
	levels := lg.levels
	if len(levels) == 0 {
		levels = []float64{own}
	}
	all := make([][]int32, 1+len(lg.alt))
	for k := range all {
		all[k] = lg.levelPerMinute(demand, k)
	}
	ims, err := lg.replays.CompareLevels(ctx, cfg, demand, all)
	if err != nil {
		return judgement{}, err
	}
	j := judgement{levels: levels}
	j.level, j.pays, j.why = sim.ChooseLevel(ims, levels, StandDownMargin)
	if !act {
		// capacity.standDown: false: the owner's floors stay; report theirs.
		_, why := ims[0].Pays(StandDownMargin)
		j.level, j.pays, j.why = 0, true, "capacity.standDown is false, so the floors stay at the owner's quantile whatever the judgement: "+why
	}
	j.im14, j.im7 = &ims[j.level], &ims[j.level]
	if im7, ok, _ := lg.replays.CompareRecent(ctx, cfg, demand, all[j.level]); ok {
		j.im7 = &im7
		if act {
			j.pays, j.why = sim.RecentVerdict(j.pays, j.why, im7)
		}
	}
	return j, nil
}

// exportImpact publishes a target's impact report and stand-down.
func (l *Loop) exportImpact(target string, lg *floorLedger) {
	figures := map[string]Figures{}
	for w, im := range map[string]*sim.Impact{"7d": lg.impact7, "14d": lg.impact14} {
		if im != nil {
			figures[w] = Figures{UnservedSaved: im.UnservedSaved(), ReplicaHoursPaid: im.ReplicaHoursPaid(), EqualCostRatio: im.EqualCostRatio(),
				DaysBetter: im.DayWins, DaysWorse: im.DayLosses}
		}
	}
	l.exportVerdict(target, lg.down, lg.quantile(), figures)
}

// exportVerdict publishes a verdict: stood down or not, the operating
// point's quantile, and the impact figures by window (NaN ones left out).
func (l *Loop) exportVerdict(target string, stoodDown bool, quantile float64, figures map[string]Figures) {
	if l.exp == nil {
		return
	}
	down := 0.0
	if stoodDown {
		down = 1
	}
	l.exp.StoodDown.WithLabelValues(target).Set(down)
	l.exportOperating(target, quantile)
	for w, f := range figures {
		for _, g := range []struct {
			vec *prometheus.GaugeVec
			v   float64
		}{{l.exp.ImpactUnservedSaved, f.UnservedSaved}, {l.exp.ImpactReplicaHoursPaid, 3600 * f.ReplicaHoursPaid}, {l.exp.ImpactEqualCostRatio, f.EqualCostRatio}} {
			if !math.IsNaN(g.v) {
				g.vec.WithLabelValues(target, w).Set(g.v)
			}
		}
		l.exp.ImpactDays.WithLabelValues(target, w, "better").Set(float64(f.DaysBetter))
		l.exp.ImpactDays.WithLabelValues(target, w, "worse").Set(float64(f.DaysWorse))
	}
}

// exportOperating publishes the quantile of a target's operating point.
func (l *Loop) exportOperating(target string, q float64) {
	if l.exp == nil {
		return
	}
	if q > 0 {
		l.exp.OperatingQuantile.WithLabelValues(target).Set(q)
	}
}

// Impact returns a target's last impact report over 7 and 14 days, and
// whether its forecast floors stand down and why (nil reports before the
// first judgement). policyKey is the policy's config.Policy.Key.
func (l *Loop) Impact(policyKey, target string) (impact7, impact14 *sim.Impact, down bool, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lg := l.ledgers[policyKey+"/"+target]
	if lg == nil {
		return nil, nil, false, ""
	}
	return lg.impact7, lg.impact14, lg.down, lg.why
}

// ImpactReport is a target's last impact report, for Report: its floors
// over the last 7 and 14 days of its history, whether they stand down and
// why, and when it was made.
type ImpactReport struct {
	Last7d, Last14d *sim.Impact
	StoodDown       bool
	Why             string
	At              time.Time
	// Quantile is the forecast quantile the floors operate at (0 before
	// the ledger knows the target's levels).
	Quantile float64
	// Carried is true for the verdict a previous process left
	// (Config.Verdicts), in force until this process judges the floors:
	// Last7d and Last14d are nil (the figures stay where the previous
	// process wrote them), At is when it was judged, and Why says it was
	// carried over.
	Carried bool
}

// impactReport returns the last impact report of target of policy p, nil
// before the first; before this process's first, the verdict carried
// over (Carried, without figures). Called with l.mu held.
func (l *Loop) impactReport(p *config.Policy, target string, now time.Time) *ImpactReport {
	lg := l.ledgers[p.Key()+"/"+target]
	if lg == nil {
		return nil
	}
	if lg.impact14 == nil {
		v, _ := carriedInForce(lg, targetOf(p, target), now)
		if v == nil {
			return nil
		}
		return &ImpactReport{Carried: true, StoodDown: v.StoodDown, Why: carriedWhy(v), At: v.JudgedAt, Quantile: v.Quantile}
	}
	return &ImpactReport{Last7d: lg.impact7, Last14d: lg.impact14, StoodDown: lg.down, Why: lg.why, At: lg.computed, Quantile: lg.quantile()}
}

// exportCarried publishes a verdict carried over.
func (l *Loop) exportCarried(target string, v *Verdict) {
	l.exportVerdict(target, v.StoodDown, v.Quantile, v.Figures)
}
