package policy

import (
	"fmt"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy/calendar"
)

// windowState says whether a schedule rule's window is open at an instant,
// or how far into its ramp the instant is.
type windowState struct {
	Active bool
	// Ramp is in (0, 1) during the ramp before a window opens: the fraction
	// of the way from the current floor to the rule's minReplicas.
	Ramp float64
	// Opens is the start of the window the ramp leads to.
	Opens time.Time
	// RampDown is in (0, 1] during the ramp down after a window closed:
	// the fraction of the rule's floor above the base still held.
	RampDown float64
	// Closed is when the window the ramp down follows closed.
	Closed time.Time
	What   string
}

// scheduleWindow evaluates a schedule rule at instant at.
func (e *Engine) scheduleWindow(s *config.ScheduleRule, at time.Time) windowState {
	var cal *calendar.TradingCalendar
	if c := e.calendars[s.Calendar]; c != nil {
		cal = c.Trading
	}
	if len(s.Sessions) > 0 && cal != nil {
		return sessionWindow(cal, s, at)
	}
	if s.Parsed == nil {
		return windowState{}
	}
	dur := s.Duration.D()
	trading := func(f time.Time) bool {
		return !s.TradingDaysOnly || cal == nil || cal.IsTradingDay(calendar.DateOf(f.In(cal.Location)))
	}
	// The firing that opened a window still open at `at` is the first one
	// after at-dur, if it is not after at. Skip non-trading days.
	for f := s.Parsed.Next(at.Add(-dur)); !f.IsZero() && !f.After(at); f = s.Parsed.Next(f) {
		if trading(f) {
			return windowState{Active: true, What: fmt.Sprintf("window %s–%s", clock(f), clock(f.Add(dur)))}
		}
	}
	var w windowState
	if down := s.RampDown.D(); down > 0 {
		// The latest window that closed within the ramp down.
		var closed time.Time
		for f := s.Parsed.Next(at.Add(-dur - down)); !f.IsZero() && !f.After(at.Add(-dur)); f = s.Parsed.Next(f) {
			if trading(f) {
				closed = f.Add(dur)
			}
		}
		if !closed.IsZero() && at.Before(closed.Add(down)) {
			w = windowState{RampDown: rampDownFraction(at, closed, down), Closed: closed}
		}
	}
	if s.Ramp > 0 {
		for f := s.Parsed.Next(at); !f.IsZero() && !f.After(at.Add(s.Ramp.D())); f = s.Parsed.Next(f) {
			if trading(f) {
				return stronger(w, windowState{Ramp: rampFraction(at, f, s.Ramp.D()), Opens: f})
			}
		}
	}
	return w
}

// stronger is the ramp that holds the higher floor when a ramp down after
// one window overlaps the ramp up to the next: both are fractions of the
// way from the base to the rule's minReplicas.
func stronger(down, up windowState) windowState {
	if up.Ramp > down.RampDown {
		return up
	}
	return down
}

// rampDownFraction is how much of a rule's floor is still held at at, a
// ramp down of length down after closed: 1 at the close, approaching 0.
func rampDownFraction(at, closed time.Time, down time.Duration) float64 {
	f := 1 - float64(at.Sub(closed))/float64(down)
	return min(max(f, 0), 1)
}

func sessionWindow(cal *calendar.TradingCalendar, s *config.ScheduleRule, at time.Time) windowState {
	day := cal.DayAt(at)
	cur := day.Session(at).String()
	for _, name := range s.Sessions {
		if name == cur {
			what := fmt.Sprintf("%s %s session", cal.Name, cur)
			if day.EarlyClose != "" {
				what += fmt.Sprintf(" (early close %s: %s)", clock(day.Close), day.EarlyClose)
			}
			return windowState{Active: true, What: what}
		}
	}
	// A ramp belongs to the session it follows or leads to, which need not
	// be on the instant's calendar day: a ramp down after a late close
	// runs past midnight (into a weekend or a holiday too), and a ramp to
	// an early pre-market starts the evening before.
	var w windowState
	if down := s.RampDown.D(); down > 0 {
		if closed := lastSessionEnd(cal, s.Sessions, at, down); !closed.IsZero() {
			w = windowState{RampDown: rampDownFraction(at, closed, down), Closed: closed}
		}
	}
	if ramp := s.Ramp.D(); ramp > 0 {
		if opens := nextSessionStart(cal, s.Sessions, at, ramp); !opens.IsZero() {
			w = stronger(w, windowState{Ramp: rampFraction(at, opens, ramp), Opens: opens})
		}
	}
	return w
}

// sessionBounds are the start and end of the named session on a trading
// day.
func sessionBounds(day calendar.Day, name string) (start, end time.Time) {
	switch name {
	case "pre-market":
		return day.PreMarket, day.Open
	case "regular":
		return day.Open, day.Close
	case "post-market":
		return day.Close, day.PostMarket
	}
	return time.Time{}, time.Time{}
}

// lastSessionEnd is the latest end of a selected session in (at−within,
// at], on whichever trading day it was; zero when none.
func lastSessionEnd(cal *calendar.TradingCalendar, sessions []string, at time.Time, within time.Duration) time.Time {
	var closed time.Time
	last := calendar.DateOf(at.In(cal.Location))
	for d := calendar.DateOf(at.Add(-within).In(cal.Location)); !last.Before(d); d = d.AddDays(1) {
		day := cal.Day(d)
		if !day.Trading {
			continue
		}
		for _, name := range sessions {
			if _, end := sessionBounds(day, name); !end.IsZero() && !end.After(at) && at.Before(end.Add(within)) && end.After(closed) {
				closed = end
			}
		}
	}
	return closed
}

// nextSessionStart is the earliest start of a selected session in (at,
// at+within], on whichever trading day it is; zero when none.
func nextSessionStart(cal *calendar.TradingCalendar, sessions []string, at time.Time, within time.Duration) time.Time {
	var opens time.Time
	last := calendar.DateOf(at.Add(within).In(cal.Location))
	for d := calendar.DateOf(at.In(cal.Location)); !last.Before(d); d = d.AddDays(1) {
		day := cal.Day(d)
		if !day.Trading {
			continue
		}
		for _, name := range sessions {
			if start, _ := sessionBounds(day, name); start.After(at) && !start.After(at.Add(within)) && (opens.IsZero() || start.Before(opens)) {
				opens = start
			}
		}
	}
	return opens
}

// rampFraction is how far at is through the ramp of length ramp that ends
// at opens: 0 at its start, approaching 1 at the opening.
func rampFraction(at, opens time.Time, ramp time.Duration) float64 {
	f := 1 - float64(opens.Sub(at))/float64(ramp)
	return min(max(f, 0), 1)
}

func clock(t time.Time) string { return t.Format("15:04 MST") }

// eventEffect is the cumulative effect of an event rule's steps at an instant.
type eventEffect struct {
	Active      bool
	Occurrence  calendar.Occurrence
	Offset      time.Duration // at − T
	MinReplicas int
	MinPercent  float64
	MaxReplicas int
	MaxPercent  float64
	NodesPct    float64
	DBUp        int
	CacheUp     int
	DBClass     string
	CacheClass  string
	// DBOutside and CacheOutside: the step that set the tier allows the
	// change outside the change windows.
	DBOutside, CacheOutside bool
	// TargetUtil is a step's CPU target (0: none).
	TargetUtil float64
	// ReadReplicas is the read replica count a step asks for (nil: none).
	ReadReplicas *int
}

// eventState evaluates an event rule at instant at: the latest occurrence
// whose first step has begun, with every step up to now applied in order
// (a reset step clears the earlier ones). Without a reset step the effects
// end when the occurrence ends.
func (e *Engine) eventState(r *config.EventRule, at time.Time) eventEffect {
	c := e.calendars[r.Calendar]
	if c == nil || c.EventSet == nil || len(r.Steps) == 0 {
		return eventEffect{}
	}
	first := r.Steps[0].At.D()
	last := r.Steps[len(r.Steps)-1].At.D()
	var longest time.Duration
	for _, ev := range c.EventSet.Events {
		if ev.Name == r.Event {
			longest = max(longest, ev.Duration)
		}
	}
	span := max(last, longest, 0)
	occs := c.EventSet.Occurrences(r.Event, at.Add(-span-time.Nanosecond), at.Add(-first))
	for i := len(occs) - 1; i >= 0; i-- {
		o := occs[i]
		off := at.Sub(o.Start)
		if off < first {
			continue
		}
		eff := eventEffect{Occurrence: o, Offset: off}
		for _, st := range r.Steps {
			if st.At.D() > off {
				break
			}
			if st.Reset {
				eff = eventEffect{Occurrence: o, Offset: off}
				continue
			}
			eff.Active = true
			if st.MinReplicas > 0 {
				eff.MinReplicas = st.MinReplicas
			}
			if st.MinReplicasPercent != 0 {
				eff.MinPercent = st.MinReplicasPercent
			}
			if st.MaxReplicas > 0 {
				eff.MaxReplicas = st.MaxReplicas
			}
			if st.MaxReplicasPercent != 0 {
				eff.MaxPercent = st.MaxReplicasPercent
			}
			if st.NodesPercent != 0 {
				eff.NodesPct = st.NodesPercent
			}
			if st.DatabaseTiersUp != 0 || st.DatabaseClass != "" {
				eff.DBUp, eff.DBClass, eff.DBOutside = st.DatabaseTiersUp, st.DatabaseClass, st.OutsideWindows
			}
			if st.CacheTiersUp != 0 || st.CacheClass != "" {
				eff.CacheUp, eff.CacheClass, eff.CacheOutside = st.CacheTiersUp, st.CacheClass, st.OutsideWindows
			}
			if st.TargetUtilization != 0 {
				eff.TargetUtil = st.TargetUtilization
			}
			if st.ReadReplicas != nil {
				eff.ReadReplicas = st.ReadReplicas
			}
		}
		// Without a reset step the effects end with the event (validation
		// requires every step to come before its end).
		if !r.Steps[len(r.Steps)-1].Reset && off >= o.End.Sub(o.Start) {
			eff.Active = false
		}
		if eff.Active {
			return eff
		}
		return eventEffect{}
	}
	return eventEffect{}
}

// offset formats at − T as T-7d, T+1h.
func offset(d time.Duration) string {
	if d < 0 {
		return "T-" + config.FormatDuration(-d)
	}
	return "T+" + config.FormatDuration(d)
}

// volatility updates a volatility rule's hysteresis state: it switches on
// above Above and off below Below, and otherwise keeps its previous state.
// A missing observation keeps the previous state too.
func volatility(v *config.VolatilityRule, value float64, observed, wasActive bool) bool {
	if !observed {
		return wasActive
	}
	switch {
	case value > v.Above:
		return true
	case value < v.Below:
		return false
	}
	return wasActive
}
