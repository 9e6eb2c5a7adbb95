package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prescale/prescale/policy/calendar"
)

func (v *validator) zone(path, name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		v.errf(path, "unknown IANA time zone %q", name)
		return def
	}
	return l
}

func (v *validator) window(path string, w *Window, loc *time.Location) {
	l := v.zone(path+".timeZone", w.TimeZone, loc)
	if w.Schedule == "" {
		v.errf(path+".schedule", "required: a cron expression for the window's start")
	} else if s, err := calendar.ParseCron(w.Schedule, l); err != nil {
		v.errf(path+".schedule", "%v", err)
	} else {
		w.Parsed = s
	}
	if w.Duration <= 0 {
		v.errf(path+".duration", "required and positive")
	}
}

func (v *validator) calendar(path string, c *Calendar, loc *time.Location) {
	def := loc
	if c.Exchange == "XNYS" {
		def, _ = time.LoadLocation("America/New_York")
	}
	c.Location = v.zone(path+".timeZone", c.TimeZone, def)
	sessions := calendar.NYSESessions
	if c.Sessions != nil {
		for _, f := range []struct {
			name string
			text string
			dst  *calendar.Clock
		}{{"preMarket", c.Sessions.PreMarket, &sessions.PreMarket}, {"open", c.Sessions.Open, &sessions.Open},
			{"close", c.Sessions.Close, &sessions.Close}, {"postMarket", c.Sessions.PostMarket, &sessions.PostMarket}} {
			if f.text == "" {
				continue
			}
			ck, err := calendar.ParseClock(f.text)
			if err != nil {
				v.errf(path+".sessions."+f.name, "%v", err)
				continue
			}
			*f.dst = ck
		}
		if err := sessions.Validate(); err != nil {
			v.errf(path+".sessions", "%v", err)
			sessions = calendar.NYSESessions
		}
	}
	var err error
	switch c.Exchange {
	case "XNYS":
		c.Trading, err = calendar.NewXNYS(sessions)
		if err == nil && c.TimeZone != "" {
			c.Trading.Location = c.Location
		}
	case "":
		c.Trading, err = calendar.NewBusinessCalendar(c.Name, c.Location, sessions)
	default:
		v.errf(path+".exchange", "unknown exchange %q (known: %s)", c.Exchange, strings.Join(Exchanges, ", "))
		c.Trading, err = calendar.NewBusinessCalendar(c.Name, c.Location, sessions)
	}
	if err != nil {
		v.errf(path, "%v", err)
		return
	}
	for i, h := range c.Holidays {
		hp := fmt.Sprintf("%s.holidays[%d]", path, i)
		d, err := calendar.ParseDate(h.Date)
		if err != nil {
			v.errf(hp+".date", "%v", err)
			continue
		}
		name := h.Name
		if name == "" {
			name = "custom holiday"
		}
		if h.EarlyClose != "" {
			ck, err := calendar.ParseClock(h.EarlyClose)
			if err != nil {
				v.errf(hp+".earlyClose", "%v", err)
				continue
			}
			c.Trading.AddEarlyClose(d, ck, name)
		} else {
			c.Trading.AddHoliday(d, name)
		}
	}
	c.EventSet = &calendar.EventCalendar{Name: c.Name}
	names := map[string]bool{}
	for i, e := range c.Events {
		ep := fmt.Sprintf("%s.events[%d]", path, i)
		switch {
		case e.Name == "":
			v.errf(ep+".name", "required")
		case names[e.Name]:
			v.errf(ep+".name", "duplicate event %q", e.Name)
		}
		names[e.Name] = true
		ev := calendar.Event{Name: e.Name, Duration: e.Duration.D(), LeadTime: e.LeadTime.D()}
		switch {
		case (e.Start == "") == (e.Schedule == ""):
			v.errf(ep, "set exactly one of start (one-off) and schedule (recurring)")
			continue
		case e.Start != "":
			t, err := ParseTime(e.Start, c.Location)
			if err != nil {
				v.errf(ep+".start", "%v", err)
				continue
			}
			ev.Start = t
		default:
			s, err := calendar.ParseCron(e.Schedule, c.Location)
			if err != nil {
				v.errf(ep+".schedule", "%v", err)
				continue
			}
			ev.Schedule = s
		}
		if e.Occurrence != "" {
			n, ok := nthWeekdays[e.Occurrence]
			switch {
			case !ok:
				v.errf(ep+".occurrence", "must be one of first, second, third, fourth, fifth, last, got %q", e.Occurrence)
			case e.Schedule == "":
				v.errf(ep+".occurrence", "applies to recurring events (schedule) only")
			}
			ev.NthWeekday = n
		}
		v.positive(ep+".duration", e.Duration)
		v.positive(ep+".leadTime", e.LeadTime)
		c.EventSet.Events = append(c.EventSet.Events, ev)
	}
}

var nthWeekdays = map[string]int{"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}

// ParseTime parses an instant: RFC 3339, or a local time in loc written
// YYYY-MM-DDTHH:MM[:SS], YYYY-MM-DD HH:MM[:SS] or YYYY-MM-DD.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or YYYY-MM-DDTHH:MM in the calendar's zone", s)
}
