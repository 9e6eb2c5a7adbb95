package calendar

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// CronParser parses the five-field cron expressions used across policies
// (minute hour day-of-month month day-of-week), with an optional
// CRON_TZ=Zone prefix and the @daily style descriptors.
var CronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses spec with CronParser, interpreting it in loc unless it
// carries its own CRON_TZ= or TZ= prefix.
//
// A zone prefix without the space that ends it ("CRON_TZ=Zone" and nothing
// else) is refused here: robfig/cron v3 slices up to that space and panics
// without it. Any other panic of the parser is returned as an error too, so
// a policy can never take the daemon down through its schedule text.
func ParseCron(spec string, loc *time.Location) (s cron.Schedule, err error) {
	if hasTZPrefix(spec) && !strings.Contains(spec, " ") {
		return nil, fmt.Errorf("cron %q: a TZ= or CRON_TZ= zone must be followed by a space and the schedule's fields", spec)
	}
	if loc != nil && !hasTZPrefix(spec) {
		spec = "CRON_TZ=" + loc.String() + " " + spec
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cron %q: the parser failed: %v", spec, r)
		}
	}()
	s, err = CronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", spec, err)
	}
	return s, nil
}

func hasTZPrefix(spec string) bool {
	return len(spec) >= 3 && spec[:3] == "TZ=" || len(spec) >= 8 && spec[:8] == "CRON_TZ="
}

// Event is a named event: a one-off (Start set) or a recurring one
// (Schedule set, each firing an occurrence). LeadTime is how long before the
// start capacity must be ready; rules may ask for more.
type Event struct {
	Name     string
	Start    time.Time     // one-off events
	Schedule cron.Schedule // recurring events
	Duration time.Duration
	LeadTime time.Duration
	// NthWeekday keeps only the firings of a recurring event that are the
	// n-th of their weekday in their month (1 to 5, or -1 for the last), so
	// "the first Friday of the month" is "30 8 * * 5" with NthWeekday 1:
	// cron itself cannot say it. 0 keeps every firing.
	NthWeekday int
}

// isNthWeekday reports whether t (in its own location) is the n-th of its
// weekday in its month; n = -1 means the last.
func isNthWeekday(t time.Time, n int) bool {
	if n < 0 {
		return t.AddDate(0, 0, 7).Month() != t.Month()
	}
	return (t.Day()-1)/7+1 == n
}

// Occurrence is one instance of an event.
type Occurrence struct {
	Event    string
	Start    time.Time
	End      time.Time
	LeadTime time.Duration
}

// maxOccurrences bounds the scan of a recurring event so that an
// every-minute cron over a long range cannot run away.
const maxOccurrences = 10000

// Occurrences returns the occurrences of e whose start lies in [from, to],
// in time order.
func (e Event) Occurrences(from, to time.Time) []Occurrence {
	occ := func(s time.Time) Occurrence {
		return Occurrence{Event: e.Name, Start: s, End: s.Add(e.Duration), LeadTime: e.LeadTime}
	}
	if e.Schedule == nil {
		if !e.Start.Before(from) && !e.Start.After(to) {
			return []Occurrence{occ(e.Start)}
		}
		return nil
	}
	var out []Occurrence
	scanned := 0
	for t := e.Schedule.Next(from.Add(-time.Nanosecond)); !t.IsZero() && !t.After(to) && scanned < maxOccurrences; t = e.Schedule.Next(t) {
		scanned++
		if e.NthWeekday == 0 || isNthWeekday(t, e.NthWeekday) {
			out = append(out, occ(t))
		}
	}
	return out
}

// EventCalendar is a named set of events.
type EventCalendar struct {
	Name   string
	Events []Event
}

// Occurrences returns the occurrences of the named event (all events when
// name is empty) starting in [from, to], in time order.
func (c *EventCalendar) Occurrences(name string, from, to time.Time) []Occurrence {
	var out []Occurrence
	for _, e := range c.Events {
		if name == "" || e.Name == name {
			out = append(out, e.Occurrences(from, to)...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Has reports whether the calendar defines an event called name.
func (c *EventCalendar) Has(name string) bool {
	for _, e := range c.Events {
		if e.Name == name {
			return true
		}
	}
	return false
}
