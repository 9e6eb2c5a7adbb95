package controller

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prescale/prescale/config"
)

// A target's floor ledger lives in memory: a process that starts (a
// restart, or a follower taking the lease) has none, and its first
// judgement comes after a day of its own floors. Until then it keeps the
// verdict the previous process left where it can read it (the
// ScalingPolicy status: Config.Verdicts) rather than starting the target
// unjudged: a stood-down target stays down, an operating point stays in
// force, and the status keeps its impact report. The ledger itself cannot
// be rebuilt: the daemon exports the floor in force, not the floors of
// the owner's quantile and of each operating point that the judgement
// replays.

// Verdict is a target's last judgement as a previous process left it.
type Verdict struct {
	// StoodDown is whether the target's forecast floors stood down.
	StoodDown bool
	// Quantile is the forecast quantile its floors operated at (0 when
	// not known: a stood-down verdict needs none).
	Quantile float64
	// Why is the judgement's reason.
	Why string
	// JudgedAt is when the judgement was made, WrittenAt when the status
	// that carried it was last written.
	JudgedAt, WrittenAt time.Time
	// Figures are the impact report's, as the status rounded them, by
	// window ("7d", "14d"): exported as they were until this process
	// judges (nil when the status had none).
	Figures map[string]Figures
}

// Figures are an impact report's exported figures over one window; NaN
// where the status had none.
type Figures struct {
	UnservedSaved, ReplicaHoursPaid, EqualCostRatio float64
	// DaysBetter and DaysWorse count the days the floors beat, and lost
	// to, the cooler HPA (sim.Impact.DayWins, DayLosses).
	DaysBetter, DaysWorse int
}

// carriedFor is how long a verdict is carried over: past twice the span
// of history judged, the floors it judged are gone from every window it
// reported on, and the target starts unjudged.
const carriedFor = 2 * ledgerSpan

// CarriedPrefix starts the reason of a verdict carried over.
const CarriedPrefix = "verdict carried over from the status written at "

// carriedWhy is the reason of verdict v carried over.
func carriedWhy(v *Verdict) string {
	return fmt.Sprintf("%s%s (judged at %s; this process judges again after %s of its own floors): %s",
		CarriedPrefix, v.WrittenAt.UTC().Format(time.RFC3339), v.JudgedAt.UTC().Format(time.RFC3339), config.FormatDuration(minJudged), v.Why)
}

// OriginalWhy strips what carriedWhy added to a reason, so that a verdict
// carried over twice (two restarts before a judgement) reads once.
func OriginalWhy(why string) string {
	for strings.HasPrefix(why, CarriedPrefix) {
		_, rest, ok := strings.Cut(why, "): ")
		if !ok {
			break
		}
		why = rest
	}
	return why
}

// seed gives a new ledger the verdict a previous process left for target
// t of p, when Config.Verdicts has one.
func (l *Loop) seed(lg *floorLedger, p *config.Policy, t *config.Target) {
	if l.cfg.Verdicts == nil {
		return
	}
	v, ok := l.cfg.Verdicts(p, t.Name)
	if !ok || v.JudgedAt.IsZero() {
		return
	}
	v.Why = OriginalWhy(v.Why)
	lg.carried = &v
	l.log.Info("verdict carried over until the floors are judged again", "target", t.Name, "stood_down", v.StoodDown,
		"quantile", v.Quantile, "judged_at", v.JudgedAt, "written_at", v.WrittenAt)
}

// ledger returns target t's ledger, made (and seeded) the first time.
func (l *Loop) ledger(p *config.Policy, t *config.Target) *floorLedger {
	key := p.Key() + "/" + t.Name
	lg := l.ledgers[key]
	if lg == nil {
		lg = &floorLedger{}
		l.seed(lg, p, t)
		l.ledgers[key] = lg
	}
	return lg
}

// carriedInForce returns the verdict carried over that stands for target t
// at now (nil when there is none, or it is past carriedFor, or this
// process has judged the floors itself), and why one that does not stand
// was dropped ("" when there was none to drop).
func carriedInForce(lg *floorLedger, t *config.Target, now time.Time) (*Verdict, string) {
	v := lg.carried
	if v == nil || !lg.computed.IsZero() {
		return nil, ""
	}
	at := v.JudgedAt.UTC().Format(time.RFC3339)
	switch {
	case now.Sub(v.JudgedAt) > carriedFor:
		return nil, fmt.Sprintf("the verdict in the status, judged at %s, is older than %s and not carried over", at, config.FormatDuration(carriedFor))
	case v.StoodDown:
		return v, ""
	case v.Quantile <= 0 || !slices.Contains(t.Capacity.Levels(), v.Quantile):
		return nil, fmt.Sprintf("the verdict in the status, judged at %s, operated at p%g, no longer one of the target's quantiles", at, 100*v.Quantile)
	}
	return v, ""
}
