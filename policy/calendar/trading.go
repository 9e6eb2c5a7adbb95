package calendar

import (
	"fmt"
	"sync"
	"time"
)

// Session names a part of a trading day.
type Session int

// Sessions of a trading day, in order. Closed covers nights, weekends and
// holidays.
const (
	Closed Session = iota
	PreMarket
	Regular
	PostMarket
)

// String returns the session's name as used in reasons and YAML.
func (s Session) String() string {
	switch s {
	case PreMarket:
		return "pre-market"
	case Regular:
		return "regular"
	case PostMarket:
		return "post-market"
	}
	return "closed"
}

// SessionTimes are the wall-clock boundaries of a normal trading day in the
// calendar's time zone: pre-market from PreMarket to Open, the regular
// session from Open to Close, post-market from Close to PostMarket.
type SessionTimes struct {
	PreMarket, Open, Close, PostMarket Clock
}

// NYSESessions are the NYSE's published hours: early trading from 04:00,
// core trading 09:30–16:00, late trading to 20:00 (America/New_York).
var NYSESessions = SessionTimes{PreMarket: 4 * 60, Open: 9*60 + 30, Close: 16 * 60, PostMarket: 20 * 60}

// Validate checks that the boundaries are in order.
func (s SessionTimes) Validate() error {
	if !(s.PreMarket <= s.Open && s.Open < s.Close && s.Close <= s.PostMarket) {
		return fmt.Errorf("sessions must satisfy preMarket <= open < close <= postMarket, got %s %s %s %s",
			s.PreMarket, s.Open, s.Close, s.PostMarket)
	}
	return nil
}

// Day is one calendar day of a trading calendar, resolved to instants.
type Day struct {
	Date Date
	// Trading is false on weekends and holidays; the times are then zero.
	Trading bool
	// Holiday names the closure when the day is a weekday holiday.
	Holiday string
	// EarlyClose names the reason the regular session ends early, if it does.
	EarlyClose                         string
	PreMarket, Open, Close, PostMarket time.Time
}

// Session returns the session open at t on this day (Closed if none).
func (d Day) Session(t time.Time) Session {
	switch {
	case !d.Trading:
		return Closed
	case !t.Before(d.PreMarket) && t.Before(d.Open):
		return PreMarket
	case !t.Before(d.Open) && t.Before(d.Close):
		return Regular
	case !t.Before(d.Close) && t.Before(d.PostMarket):
		return PostMarket
	}
	return Closed
}

// TradingCalendar says which days an exchange (or a business) trades and
// its sessions, in its own time zone. Holidays come from rules computed for
// any year (the NYSE's) and from custom lists. It is safe for concurrent use.
type TradingCalendar struct {
	// Name identifies the calendar in reasons, such as "XNYS".
	Name     string
	Location *time.Location
	Sessions SessionTimes

	holidayRule func(year int) []Holiday
	earlyRule   func(year int) []EarlyClose

	mu     sync.Mutex
	extra  map[Date]string
	early  map[Date]EarlyClose
	byYear map[int]yearRules
}

type yearRules struct {
	holidays map[Date]string
	early    map[Date]EarlyClose
}

// NewXNYS returns the New York Stock Exchange calendar in America/New_York
// with the given session times (NYSESessions for the exchange's own).
func NewXNYS(sessions SessionTimes) (*TradingCalendar, error) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		return nil, fmt.Errorf("XNYS calendar: %w", err)
	}
	if err := sessions.Validate(); err != nil {
		return nil, fmt.Errorf("XNYS calendar: %w", err)
	}
	return &TradingCalendar{Name: "XNYS", Location: loc, Sessions: sessions,
		holidayRule: NYSEHolidays, earlyRule: NYSEEarlyCloses}, nil
}

// NewBusinessCalendar returns a Monday-to-Friday calendar with no rule-based
// holidays, for custom holiday lists (a company's or a country's).
func NewBusinessCalendar(name string, loc *time.Location, sessions SessionTimes) (*TradingCalendar, error) {
	if err := sessions.Validate(); err != nil {
		return nil, fmt.Errorf("calendar %s: %w", name, err)
	}
	return &TradingCalendar{Name: name, Location: loc, Sessions: sessions}, nil
}

// AddHoliday adds a custom full-day closure, such as an unscheduled one.
func (c *TradingCalendar) AddHoliday(d Date, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.extra == nil {
		c.extra = map[Date]string{}
	}
	c.extra[d] = name
}

// AddEarlyClose adds a custom early close at the given time.
func (c *TradingCalendar) AddEarlyClose(d Date, at Clock, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.early == nil {
		c.early = map[Date]EarlyClose{}
	}
	c.early[d] = EarlyClose{d, at, name}
}

func (c *TradingCalendar) rules(year int) yearRules {
	if r, ok := c.byYear[year]; ok {
		return r
	}
	r := yearRules{holidays: map[Date]string{}, early: map[Date]EarlyClose{}}
	if c.holidayRule != nil {
		for _, h := range c.holidayRule(year) {
			r.holidays[h.Date] = h.Name
		}
	}
	if c.earlyRule != nil {
		for _, e := range c.earlyRule(year) {
			r.early[e.Date] = e
		}
	}
	if c.byYear == nil {
		c.byYear = map[int]yearRules{}
	}
	c.byYear[year] = r
	return r
}

// Holiday returns the name of the closure on d, if d is a holiday.
func (c *TradingCalendar) Holiday(d Date) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.extra[d]; ok {
		return n, true
	}
	n, ok := c.rules(d.Year).holidays[d]
	return n, ok
}

// IsTradingDay reports whether d is a weekday that is not a holiday.
func (c *TradingCalendar) IsTradingDay(d Date) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, hol := c.Holiday(d)
	return !hol
}

// Day resolves date d: whether it trades and its session instants. On an
// early close the regular session ends at the early close and post-market
// is shortened by the same amount (the NYSE's late session ends at 17:00
// on its 13:00 early closes).
func (c *TradingCalendar) Day(d Date) Day {
	day := Day{Date: d}
	if name, ok := c.Holiday(d); ok {
		day.Holiday = name
		return day
	}
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return day
	}
	day.Trading = true
	s := c.Sessions
	c.mu.Lock()
	ec, early := c.early[d]
	if !early {
		ec, early = c.rules(d.Year).early[d]
	}
	c.mu.Unlock()
	if early && ec.Close < s.Close {
		shift := s.Close - ec.Close
		day.EarlyClose = ec.Name
		s.Close = ec.Close
		s.PostMarket -= shift
		if s.Open > s.Close {
			s.Open = s.Close
		}
		if s.PreMarket > s.Open {
			s.PreMarket = s.Open
		}
	}
	day.PreMarket = s.PreMarket.On(d, c.Location)
	day.Open = s.Open.On(d, c.Location)
	day.Close = s.Close.On(d, c.Location)
	day.PostMarket = s.PostMarket.On(d, c.Location)
	return day
}

// DayAt resolves the calendar day containing instant t (in the calendar's zone).
func (c *TradingCalendar) DayAt(t time.Time) Day { return c.Day(DateOf(t.In(c.Location))) }

// SessionAt returns the session open at instant t.
func (c *TradingCalendar) SessionAt(t time.Time) Session { return c.DayAt(t).Session(t) }

// NextTradingDay returns the first trading day strictly after d. It looks
// at most a year ahead, which any real calendar satisfies.
func (c *TradingCalendar) NextTradingDay(d Date) (Date, bool) {
	for i := 1; i <= 366; i++ {
		n := d.AddDays(i)
		if c.IsTradingDay(n) {
			return n, true
		}
	}
	return Date{}, false
}
