package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
)

// StandDown makes a Floors strategy judge its own floors as the daemon
// does: every Every, the floors it would have asserted over the last Span
// of observed demand are compared with a cooler HPA at equal cost
// (Compare), and where they do not pay (Impact.Pays: by Margin over the
// span, or steadily day by day) the strategy asserts no forecast floor
// until the next judgement. The floors it would assert are
// recorded all along, stood down or not, so a target whose floors start to
// pay again comes back.
//
// With a LevelPlanner, the floors of several operating points (quantiles
// of the same forecast) are recorded side by side, and each judgement
// puts in force the one that pays best on the span judged (ChooseLevel):
// the lowest quantile that pays, unless a higher one leaves, relative to
// the cooler HPA at equal replica-hours, less unserved demand by the
// margin again. A floor sized at a high quantile can
// cost more than it saves where the forecast's error is wide (load that
// runs in sessions, with a jump at the open); a lower one, with the HPA
// covering the rest, may pay there. The target stands down only when no
// operating point pays.
//
// Until the first judgement (MinSpan of recorded floors) the floors operate
// at the lowest operating point: floors that have not yet shown they pay
// cost least there, and the HPA covers the rest. On news-driven load the
// owner's p90 floors of the first days cost 5-8% more replica-hours for
// nothing; with one level (no operating points) it is the owner's.
type StandDown struct {
	// Cluster is the simulated cluster the comparison replays on (the
	// backtest's, with its owner's HPA target).
	Cluster Config
	// Every is how often the floors are judged (a day by default).
	Every time.Duration
	// Span is the history judged (14 days by default, what the daemon
	// keeps); MinSpan the least judged (a day by default: one daily
	// cycle): before it the floors stand at the lowest operating point.
	Span, MinSpan time.Duration
	// Margin by which the floors must beat the HPA alone at equal cost
	// (0.2 by default: a fifth less unserved demand).
	Margin float64

	start   time.Time
	levels  []float64 // quantile of each operating point (nil: one)
	would   [][]int32 // by level, by minute since start: the floor it would assert
	level   int       // operating point in force
	judged  time.Time
	down    bool
	why     string
	impact  *Impact
	judging int // judgements made (for reports and tests)
	// downMinutes counts decisions made stood down (one a plan interval)
	// from Cluster.EvalFrom, where the metrics count.
	downMinutes int
	// levelMinutes counts decisions made at each operating point from
	// Cluster.EvalFrom.
	levelMinutes []int
	// replays keeps the judged days' replays for the next judgement.
	replays Replays
}

func (s *StandDown) defaults() {
	if s.Every <= 0 {
		s.Every = 24 * time.Hour
	}
	if s.Span <= 0 {
		s.Span = ImpactSpan
	}
	if s.MinSpan <= 0 {
		s.MinSpan = JudgeMinSpan
	}
	if s.Margin == 0 {
		s.Margin = 0.2
	}
}

// assert records the floors planned at now, one per operating point,
// counts the decision under the verdict in force, and returns the floor to
// assert: the operating point's in force, 0 stood down. The strategies
// judge (judgeDue) before they plan, as the daemon does.
func (s *StandDown) assert(now time.Time, observed forecast.Series, floors []int32) int32 {
	s.record(now, observed, floors)
	counted := !now.Before(s.Cluster.EvalFrom) // the decisions the metrics count
	if s.down {
		if counted {
			s.downMinutes++
		}
		return 0
	}
	if counted {
		s.levelMinutes[s.level]++
	}
	return floors[s.level]
}

// size makes room for n operating points, starting them afresh when
// their number changed.
func (s *StandDown) size(n int) {
	s.defaults()
	if len(s.would) != n {
		s.would = make([][]int32, n)
		s.levelMinutes = make([]int, n)
		s.level = 0
	}
}

// record keeps the floors planned at now, one per operating point.
func (s *StandDown) record(now time.Time, observed forecast.Series, floors []int32) {
	s.size(len(floors))
	if s.start.IsZero() {
		s.start = observed.Start
	}
	m := int(now.Sub(s.start) / time.Minute)
	for k, f := range floors {
		for len(s.would[k]) <= m {
			s.would[k] = append(s.would[k], 0)
		}
		if m >= 0 {
			s.would[k][m] = f
		}
	}
}

// judgeDue judges the recorded floors when a judgement is due; before the
// first, the lowest operating point is in force.
func (s *StandDown) judgeDue(ctx context.Context, now time.Time, observed forecast.Series) {
	if len(s.would) > 0 && len(s.would[0]) > 0 && (s.judged.IsZero() || now.Sub(s.judged) >= s.Every) {
		s.judge(ctx, now, observed)
	}
	if s.judging == 0 {
		s.level = lowestLevel(s.levels, len(s.would))
	}
}

// judge compares the recorded floors of every operating point over the
// observed part of the last Span with the HPA alone at equal cost.
func (s *StandDown) judge(ctx context.Context, now time.Time, observed forecast.Series) {
	end := observed.Len() // minutes observed
	if end > len(s.would[0]) {
		end = len(s.would[0])
	}
	first := end
	for _, w := range s.would {
		k := 0
		for k < end && w[k] == 0 {
			k++ // minutes before the first floor was planned
		}
		first = min(first, k)
	}
	from := max(first, end-int(s.Span/time.Minute))
	if time.Duration(end-from)*time.Minute < s.MinSpan {
		return // too little to judge: the floors stand
	}
	s.judged = now
	demand := observed.Slice(from, end)
	if !hasObserved(demand.Values) {
		return
	}
	cfg := s.Cluster
	cfg.EvalFrom = time.Time{}
	floors := make([][]int32, len(s.would))
	for k, w := range s.would {
		floors[k] = w[from:end]
	}
	ims, err := s.replays.CompareLevels(ctx, cfg, demand, floors)
	if err != nil {
		return // a comparison that cannot run judges nothing: the floors stand
	}
	s.judging++
	k, pays, why := ChooseLevel(ims, s.levels, s.Margin)
	if pays {
		// As the daemon: the operating point's floors again over the last
		// week, from the same days' replays.
		if recent, ok, _ := s.replays.CompareRecent(ctx, cfg, demand, floors[k]); ok {
			pays, why = RecentVerdict(pays, why, recent)
		}
	}
	s.level, s.impact = k, &ims[k]
	s.down, s.why = !pays, why
}

// ChooseLevel picks, of the comparisons ims of the floors at levels (the
// owner's quantile first), the operating point that pays best: of those that
// pay (Impact.Pays with margin), the lowest unserved demand relative to
// the cooler HPA's at equal replica-hours (fewer replica-hours on a tie),
// though the lowest quantile that pays stays in force unless that best
// ratio is under its own by the margin as well; none paying, the owner's
// (level 0) stands down, unless the span judged is still short of
// ImpactSpan and the lowest level's floors beat the cooler HPA by half the
// margin (see accumulating). why says so, naming the level when there are
// several.
func ChooseLevel(ims []Impact, levels []float64, margin float64) (k int, pays bool, why string) {
	best := -1
	score := func(im Impact) float64 {
		return (im.Predictive.UnservedFraction + UnservedEpsilon) / (im.EqualCost.ReactiveUnserved + UnservedEpsilon)
	}
	for i, im := range ims {
		if ok, _ := im.Pays(margin); !ok {
			continue
		}
		if best < 0 || score(im) < score(ims[best]) ||
			score(im) == score(ims[best]) && im.Predictive.ReplicaHours < ims[best].Predictive.ReplicaHours {
			best = i
		}
	}
	if best < 0 {
		if lo, ok := accumulating(ims, levels, margin); ok {
			return lo, true, accumulatingWhy(ims, levels, lo, margin)
		}
		best = 0
	} else {
		pays = true
	}
	// A costlier operating point must earn its extra replica-hours as
	// floors must earn theirs: the cheapest that pays stays in force
	// unless a higher one beats its ratio by the margin too. The best of
	// several levels scored on the same 14 days is chosen in hindsight, so
	// a small lead is mostly noise, and the higher level's cost is not.
	cheap := cheapestPaying(ims, levels, margin)
	demoted := ""
	if pays && cheap >= 0 && cheap != best && score(ims[best]) > (1-margin)*score(ims[cheap]) {
		demoted = fmt.Sprintf("; p%g's ratio to it, %.3g, is not %.0f%% under p%g's %.3g, so the cheaper p%g stays in force",
			100*levels[best], score(ims[best]), 100*margin, 100*levels[cheap], score(ims[cheap]), 100*levels[cheap])
		best = cheap
	}
	_, why = ims[best].Pays(margin)
	why += demoted
	if len(ims) < 2 || len(levels) != len(ims) {
		return best, pays, why
	}
	switch {
	case !pays:
		why = fmt.Sprintf("at no operating point (%s): at p%g %s", levelList(levels), 100*levels[0], why)
	case best != 0:
		_, own := ims[0].Pays(margin)
		why = fmt.Sprintf("operating at p%g rather than the owner's p%g: %s; at p%g %s", 100*levels[best], 100*levels[0], why, 100*levels[0], own)
	default:
		why = fmt.Sprintf("at the owner's p%g: %s", 100*levels[0], why)
	}
	return best, pays, why
}

// FullSpan is the span judged from which a judgement counts as made on
// ImpactSpan: the daemon's history may end a few samples short of it, so
// the last half day of the 14 is not waited for.
const FullSpan = ImpactSpan - 12*time.Hour

// accumulating reports whether floors that do not pay yet keep the lowest
// operating point in force, and its index: while the span judged is
// shorter than FullSpan (a target with less history, floors planned for
// less time, or a daemon keeping less than 14 days: --history), the
// lowest level's floors that leave at least half the
// margin less unserved demand than the cooler HPA at equal replica-hours
// (the material gain Impact.Pays asks of a steady one) stay in force.
//
// Floors start at the lowest operating point until their first judgement,
// and on a span of a few days the second way to pay, winning on
// significantly more days than losing, cannot succeed (5 days won of 6 is
// not enough), however steady the gain: so a target whose cheapest floors
// gain materially would stand down for its first two weeks and come back
// only once the span reached 14 days. A daemon that keeps less history
// never judges a longer span, and the rule holds for it throughout, for
// the same reason: its day test has too few days. Measured with bench/backtest.sh
// (2026-12-06): QQQ's equal-cost ratio 0.684 to 0.668, the ASG trace's
// 0.719 to 0.678, news traces unchanged (7 of 10 within 1.05× reactive's
// replica-hours); requiring only that they not lose (no margin) moved
// them further (0.656, 0.678) but put news traces' cheapest floors in
// force for their first two weeks (AMZN 1.047 to 1.059×, UPS 1.000 to
// 1.041×).
func accumulating(ims []Impact, levels []float64, margin float64) (int, bool) {
	lo := lowestLevel(levels, len(ims))
	if lo >= len(ims) {
		return 0, false
	}
	im := ims[lo]
	if im.To.Sub(im.From) >= FullSpan {
		return 0, false
	}
	return lo, im.beats(margin / 2)
}

// accumulatingWhy says why accumulating kept level lo in force.
func accumulatingWhy(ims []Impact, levels []float64, lo int, margin float64) string {
	im := ims[lo]
	why := fmt.Sprintf("judged on %s of the %s, %s: less than %.0f%% under it but at least %.0f%%, and a span this short cannot show a steady gain day by day (less than it on %d day(s), more on %d), so they stay in force",
		config.FormatDuration(im.To.Sub(im.From).Round(time.Hour)), config.FormatDuration(ImpactSpan),
		im.against(), 100*margin, 50*margin, im.DayWins, im.DayLosses)
	if len(ims) < 2 || len(levels) != len(ims) {
		return why
	}
	return fmt.Sprintf("operating at p%g, the lowest operating point: %s", 100*levels[lo], why)
}

// RecentVerdict is the second half of a judgement: floors that pay over
// the span judged (ChooseLevel) stand down all the same where, over its
// last ImpactRecent (recent, the operating point's comparison there),
// they leave more unserved demand than the HPA alone run cooler at equal
// replica-hours. Fourteen days weigh an old gain as much as a new loss;
// where the load changed (news moved on, a deployment changed the
// pattern) the floors that paid on it a week ago may now cost more than
// they save, and the week is what the next judgement will mostly see
// anyway. Losing outright is the bar, not the margin: a week is half the
// evidence, and floors that tie keep their place. It returns pays and why
// with the week's figures added when it stands them down.
func RecentVerdict(pays bool, why string, recent Impact) (bool, string) {
	if !pays {
		return pays, why
	}
	if recent.beats(0) { // no more unserved than the cooler HPA
		return pays, why
	}
	return false, fmt.Sprintf("%s; but over the last %s they leave %.3g%% unserved against %.3g%% for the HPA alone run cooler at equal replica-hours (%.4g replica-h): they stopped paying",
		why, config.FormatDuration(ImpactRecent), 100*recent.Predictive.UnservedFraction, 100*recent.EqualCost.ReactiveUnserved, recent.Predictive.ReplicaHours)
}

// cheapestPaying is the index of the lowest quantile of levels whose
// comparison in ims pays by margin (-1: none, or levels does not name
// them all).
func cheapestPaying(ims []Impact, levels []float64, margin float64) int {
	if len(levels) != len(ims) {
		return -1
	}
	cheap := -1
	for i, im := range ims {
		if ok, _ := im.Pays(margin); ok && (cheap < 0 || levels[i] < levels[cheap]) {
			cheap = i
		}
	}
	return cheap
}

// lowestLevel is the index of the lowest of levels, the n operating
// points' quantiles (0 when levels does not name them all).
func lowestLevel(levels []float64, n int) int {
	if len(levels) != n {
		return 0
	}
	lo := 0
	for k, l := range levels {
		if l < levels[lo] {
			lo = k
		}
	}
	return lo
}

func levelList(levels []float64) string {
	out := ""
	for i, l := range levels {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("p%g", 100*l)
	}
	return out
}

func hasObserved(v []float64) bool {
	for _, x := range v {
		if !math.IsNaN(x) {
			return true
		}
	}
	return false
}

// Status reports whether the floors are stood down, why, the last
// comparison (nil before the first; the operating point's in force) and
// how many judgements were made.
func (s *StandDown) Status() (down bool, why string, last *Impact, judgements int) {
	return s.down, s.why, s.impact, s.judging
}

// Level returns the quantile of the operating point in force (0 before
// any floor was planned).
func (s *StandDown) Level() float64 {
	if s.level < len(s.levels) {
		return s.levels[s.level]
	}
	return 0
}

// LevelMinutes returns, by operating point quantile, the decisions made
// at it from Cluster.EvalFrom (nil with a single operating point).
func (s *StandDown) LevelMinutes() map[float64]int {
	if len(s.levels) < 2 || len(s.levels) != len(s.levelMinutes) {
		return nil
	}
	out := make(map[float64]int, len(s.levels))
	for k, l := range s.levels {
		out[l] = s.levelMinutes[k]
	}
	return out
}

// DownMinutes counts the decisions made from Cluster.EvalFrom while the
// floors were stood down (since a judgement stood them down, up to the
// next).
func (s *StandDown) DownMinutes() int { return s.downMinutes }
