package sim

import (
	"context"
	"math"
	"time"

	"github.com/prescale/prescale/forecast"
)

// StandDown makes a Floors strategy judge its own floors as the daemon
// does: every Every, the floors it would have asserted over the last Span
// of observed demand are compared with a cooler HPA at equal cost
// (Compare), and where they do not pay by Margin the strategy asserts no
// forecast floor until the next judgement. The floors it would assert are
// recorded all along, stood down or not, so a target whose floors start to
// pay again comes back.
type StandDown struct {
	// Cluster is the simulated cluster the comparison replays on (the
	// backtest's, with its owner's HPA target).
	Cluster Config
	// Every is how often the floors are judged (a day by default).
	Every time.Duration
	// Span is the history judged (14 days by default, what the daemon
	// keeps); MinSpan the least judged (3 days by default): before it the
	// floors stand.
	Span, MinSpan time.Duration
	// Margin by which the floors must beat the HPA alone at equal cost
	// (0.2 by default: a fifth less unserved demand).
	Margin float64

	start   time.Time
	would   []int32 // by minute since start: the floor it would assert
	judged  time.Time
	down    bool
	why     string
	impact  *Impact
	judging int // judgements made (for reports and tests)
	// downMinutes counts decisions made stood down (one a plan interval).
	downMinutes int
}

func (s *StandDown) defaults() {
	if s.Every <= 0 {
		s.Every = 24 * time.Hour
	}
	if s.Span <= 0 {
		s.Span = 14 * 24 * time.Hour
	}
	if s.MinSpan <= 0 {
		s.MinSpan = 3 * 24 * time.Hour
	}
	if s.Margin == 0 {
		s.Margin = 0.2
	}
}

// apply records the floor f the strategy would assert at now, judges the
// floors when due on observed, and returns the floor to assert.
func (s *StandDown) apply(ctx context.Context, now time.Time, observed forecast.Series, f int32) int32 {
	s.defaults()
	if s.start.IsZero() {
		s.start = observed.Start
	}
	m := int(now.Sub(s.start) / time.Minute)
	for len(s.would) <= m {
		s.would = append(s.would, 0)
	}
	if m >= 0 {
		s.would[m] = f
	}
	if s.judged.IsZero() || now.Sub(s.judged) >= s.Every {
		s.judge(ctx, now, observed)
	}
	if s.down {
		s.downMinutes++
		return 0
	}
	return f
}

// judge compares the recorded floors over the observed part of the last
// Span with the HPA alone at equal cost.
func (s *StandDown) judge(ctx context.Context, now time.Time, observed forecast.Series) {
	end := observed.Len() // minutes observed
	if end > len(s.would) {
		end = len(s.would)
	}
	first := 0
	for first < end && s.would[first] == 0 {
		first++ // minutes before the first floor was planned
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
	im, err := Compare(ctx, cfg, demand, s.would[from:end])
	if err != nil {
		return // a comparison that cannot run judges nothing: the floors stand
	}
	s.judging++
	s.impact = &im
	pays, why := im.Pays(s.Margin)
	s.down, s.why = !pays, why
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
// comparison (nil before the first) and how many judgements were made.
func (s *StandDown) Status() (down bool, why string, last *Impact, judgements int) {
	return s.down, s.why, s.impact, s.judging
}

// DownMinutes counts the minutes the floors were stood down (minutes
// recorded since a judgement stood them down, up to the next).
func (s *StandDown) DownMinutes() int { return s.downMinutes }
