package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Clock changes (daylight saving time and other offset changes) make some
// local times of a zone not exist (the spring-forward gap) and others
// happen twice (the fall-back repeat). A cron schedule names local times;
// robfig/cron, which runs them, skips a time in a gap and fires twice at a
// repeated one. A one-off event start written as a local time is read by
// Go's time package: a time in a gap is moved by the size of the jump (a
// 02:30 that does not exist is taken as 01:30 standard time), a repeated
// one is taken at its first occurrence. DSTWarnings says so, per field.

// ClockChange is one change of a zone's UTC offset.
type ClockChange struct {
	// At is the instant of the change.
	At time.Time
	// Before and After are the zone's names and offsets (seconds east of
	// UTC) either side.
	BeforeName, AfterName string
	Before, After         int
	Location              *time.Location
}

// Gap reports whether clocks jump forward (local times are skipped).
func (c ClockChange) Gap() bool { return c.After > c.Before }

// Span is the local wall-clock times that are skipped (Gap) or happen
// twice, as naive times (UTC fields standing for local ones), start
// included, end excluded.
func (c ClockChange) Span() (start, end time.Time) {
	d := time.Duration(c.After-c.Before) * time.Second
	if c.Gap() {
		start = naive(c.At.Add(-time.Nanosecond).In(c.Location)).Add(time.Nanosecond)
		return start, start.Add(d)
	}
	start = naive(c.At.In(c.Location))
	return start, start.Add(-d)
}

// String describes the change: "clocks jump from 02:00 EST to 03:00 EDT".
func (c ClockChange) String() string {
	start, end := c.Span()
	if c.Gap() {
		return fmt.Sprintf("clocks jump from %s %s to %s %s", start.Format("15:04"), c.BeforeName, end.Format("15:04"), c.AfterName)
	}
	return fmt.Sprintf("clocks fall back from %s %s to %s %s", end.Format("15:04"), c.BeforeName, start.Format("15:04"), c.AfterName)
}

// naive is t's wall clock as a UTC time, for stepping through local times
// without the zone's jumps.
func naive(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// ClockChanges returns loc's offset changes in [from, to).
func ClockChanges(loc *time.Location, from, to time.Time) []ClockChange {
	var out []ClockChange
	t := from.In(loc)
	for len(out) < 1000 { // bounded: a zone changes at most a few times a year
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		bn, bo := end.Add(-time.Nanosecond).Zone()
		an, ao := end.Zone()
		if bo != ao {
			out = append(out, ClockChange{At: end, BeforeName: bn, AfterName: an, Before: bo, After: ao, Location: loc})
		}
		t = end
	}
	return out
}

// DSTWarnings returns a warning for each time in p that does not exist or
// happens twice in its zone: cron schedules (schedule rules, recurring
// events, change windows of databases and caches) at the clock changes in
// [from, to), and one-off event starts written as local times, whenever
// they are. Each says what happens then.
func DSTWarnings(p *Policy, from, to time.Time) Problems {
	w := &dstWarner{p: p, from: from, to: to}
	for i, r := range p.Spec.Rules {
		if r.Schedule == nil || r.Schedule.Parsed == nil {
			continue
		}
		d := r.Schedule.Duration.D()
		w.cron(fmt.Sprintf("spec.rules[%d].schedule.cron", i), r.Schedule.Cron, r.Schedule.Parsed,
			fmt.Sprintf("rule %s's window does not open that day", r.Name),
			fmt.Sprintf("rule %s's window opens twice, for %s from each", r.Name, fmtDur(d)))
	}
	for _, list := range []struct {
		field string
		dbs   []Database
	}{{"spec.databases", p.Spec.Databases}, {"spec.caches", p.Spec.Caches}} {
		for i, db := range list.dbs {
			for j, cw := range db.ChangeWindows {
				if cw.Parsed == nil {
					continue
				}
				w.cron(fmt.Sprintf("%s[%d].changeWindows[%d].schedule", list.field, i, j), cw.Schedule, cw.Parsed,
					fmt.Sprintf("%s's change window does not open that day", db.Name),
					fmt.Sprintf("%s's change window opens twice, for %s from each", db.Name, fmtDur(cw.Duration.D())))
			}
		}
	}
	for i, c := range p.Spec.Calendars {
		for j, e := range c.Events {
			path := fmt.Sprintf("spec.calendars[%d].events[%d]", i, j)
			switch {
			case e.Schedule != "" && c.EventSet != nil && j < len(c.EventSet.Events) && c.EventSet.Events[j].Schedule != nil:
				w.cron(path+".schedule", e.Schedule, c.EventSet.Events[j].Schedule,
					fmt.Sprintf("event %s has no occurrence that day", e.Name),
					fmt.Sprintf("event %s has two occurrences that day", e.Name))
			case e.Start != "" && c.Location != nil:
				w.start(path+".start", e, c.Location)
			}
		}
	}
	return w.out
}

type dstWarner struct {
	p        *Policy
	from, to time.Time
	out      Problems
}

func (w *dstWarner) warn(path, format string, args ...any) {
	w.out = append(w.out, Problem{File: w.p.File, Pos: w.p.PosOf(path), Field: path, Message: "warning: " + fmt.Sprintf(format, args...)})
}

// cron warns when the schedule names a local time in a gap or a repeat.
// Schedules that fire every hour are left alone: skipping or repeating an
// hour is what they mean.
func (w *dstWarner) cron(path, text string, s cron.Schedule, skipped, twice string) {
	spec, ok := s.(*cron.SpecSchedule)
	if !ok || spec.Hour&allHours == allHours {
		return
	}
	loc := spec.Location
	if loc == nil {
		loc = time.UTC
	}
	for _, c := range ClockChanges(loc, w.from, w.to) {
		start, end := c.Span()
		var named []time.Time
		for m := start.Truncate(time.Minute); m.Before(end); m = m.Add(time.Minute) {
			if !m.Before(start) && matches(spec, m) {
				named = append(named, m)
			}
		}
		if len(named) == 0 {
			continue
		}
		day := named[0].Format("Mon 2006-01-02")
		times := clockList(named)
		if c.Gap() {
			w.warn(path, "cron %q names %s on %s, which does not exist in %s (%s): it does not fire then, so %s",
				text, times, day, loc, c, skipped)
			continue
		}
		first, second := named[0].Format("15:04")+" "+c.BeforeName, named[0].Format("15:04")+" "+c.AfterName
		w.warn(path, "cron %q names %s on %s, which happens twice in %s (%s): it fires at both, %s and again at %s, so %s",
			text, times, day, loc, c, first, second, twice)
	}
}

// start warns when a one-off event's local start does not exist or
// happens twice in the calendar's zone.
func (w *dstWarner) start(path string, e Event, loc *time.Location) {
	if note := LocalTimeNote(e.Start, loc); note != "" {
		w.warn(path, "event %s starts at %s", e.Name, note)
	}
}

// LocalTimeNote says what becomes of s, a local time without an offset
// read by ParseTime in loc, when it does not exist or happens twice there:
// "2027-03-14 02:30, which does not exist in America/New_York (...): it is
// taken as ...". It is "" for a time that is one instant.
func LocalTimeNote(s string, loc *time.Location) string {
	if _, err := time.Parse(time.RFC3339, s); err == nil {
		return "" // an offset is written: one instant
	}
	t, err := ParseTime(s, loc)
	if err != nil {
		return ""
	}
	var wall time.Time
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if x, err := time.Parse(layout, s); err == nil {
			wall = x
			break
		}
	}
	got := t.In(loc)
	const choose = "; write the instant with its offset (RFC 3339) to choose"
	for _, c := range ClockChanges(loc, t.Add(-48*time.Hour), t.Add(48*time.Hour)) {
		start, end := c.Span()
		if wall.Before(start) || !wall.Before(end) {
			continue
		}
		if c.Gap() {
			return fmt.Sprintf("%s, which does not exist in %s (%s): it is taken as %s%s",
				wall.Format("2006-01-02 15:04"), loc, c, got.Format("2006-01-02 15:04 MST"), choose)
		}
		other := t.Add(time.Duration(c.Before-c.After) * time.Second)
		return fmt.Sprintf("%s, which happens twice in %s (%s): it is taken as the first, %s, not %s%s",
			wall.Format("2006-01-02 15:04"), loc, c, got.Format("15:04 MST"), other.In(loc).Format("15:04 MST"), choose)
	}
	return ""
}

// allHours is a cron hour field that names every hour.
const allHours = 1<<24 - 1

// starBit marks a day field written as "*" (robfig/cron's convention).
const starBit = 1 << 63

// matches reports whether spec names the wall-clock minute m (a naive
// time), by robfig/cron's rules for the day fields.
func matches(s *cron.SpecSchedule, m time.Time) bool {
	if s.Minute&(1<<uint(m.Minute())) == 0 || s.Hour&(1<<uint(m.Hour())) == 0 || s.Month&(1<<uint(m.Month())) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(m.Day())) > 0
	dow := s.Dow&(1<<uint(m.Weekday())) > 0
	if s.Dom&starBit > 0 || s.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}

// clockList is "02:30", "02:00 and 02:30", or "02:00, 02:20 … (6 times)".
func clockList(ts []time.Time) string {
	switch len(ts) {
	case 1:
		return ts[0].Format("15:04")
	case 2:
		return ts[0].Format("15:04") + " and " + ts[1].Format("15:04")
	}
	parts := []string{}
	for _, t := range ts[:min(3, len(ts))] {
		parts = append(parts, t.Format("15:04"))
	}
	s := strings.Join(parts, ", ")
	if len(ts) > 3 {
		s += fmt.Sprintf(" … (%d times)", len(ts))
	}
	return s
}

// fmtDur is d without zero trailing units: 1h, 1h30m, 90s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
