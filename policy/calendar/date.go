// Package calendar computes trading calendars (the NYSE, XNYS, by rule for
// any year, with early closes and sessions), custom holiday lists and event
// calendars (one-off or cron-recurring events with a lead time).
//
// Everything here is pure computation on dates and times: no I/O, no clock.
// The policy engine asks "is this a trading day", "which session is open at
// this instant" and "which events are near this instant".
package calendar

import (
	"fmt"
	"time"
)

// Date is a civil date (no time, no zone), used for holidays: a holiday is
// a day in the exchange's own time zone, not an instant.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// In returns midnight of the date in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Weekday is the day of the week of the date.
func (d Date) Weekday() time.Weekday { return d.In(time.UTC).Weekday() }

// AddDays returns the date n days later (n may be negative).
func (d Date) AddDays(n int) Date { return DateOf(d.In(time.UTC).AddDate(0, 0, n)) }

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// nthWeekday returns the n-th (1-based) weekday wd of the month; n = -1
// means the last one.
func nthWeekday(year int, month time.Month, wd time.Weekday, n int) Date {
	if n < 0 {
		last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC)
		back := (int(last.Weekday()) - int(wd) + 7) % 7
		return DateOf(last.AddDate(0, 0, -back))
	}
	first := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	fwd := (int(wd) - int(first.Weekday()) + 7) % 7
	return DateOf(first.AddDate(0, 0, fwd+7*(n-1)))
}

// Easter returns Easter Sunday of the Gregorian year by the anonymous
// Gregorian computus (Meeus/Jones/Butcher), valid for every Gregorian year.
func Easter(year int) Date {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

// Clock is a time of day in minutes after midnight, such as 09:30.
type Clock int

// ParseClock parses HH:MM (24-hour).
func ParseClock(s string) (Clock, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("time of day %q: want HH:MM", s)
	}
	return Clock(t.Hour()*60 + t.Minute()), nil
}

// String formats the clock as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// On returns the instant of this time of day on date d in loc. On DST
// transition days the wall-clock time is resolved as time.Date does.
func (c Clock) On(d Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, int(c)/60, int(c)%60, 0, 0, loc)
}
