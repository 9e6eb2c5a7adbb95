package calendar

import (
	"sort"
	"time"
)

// Holiday is a full-day market closure.
type Holiday struct {
	Date Date
	Name string
}

// EarlyClose is a trading day on which the regular session ends early.
type EarlyClose struct {
	Date  Date
	Close Clock
	Name  string
}

// NYSEEarlyClose is the NYSE's early close time (13:00 ET).
const NYSEEarlyClose = Clock(13 * 60)

// NYSEHolidays returns the NYSE's full-day holidays of year, computed by
// the exchange's rules (NYSE Rule 7.2 and its published schedules):
//
//   - New Year's Day; on a Sunday it moves to Monday. On a Saturday it is not
//     observed (the NYSE does not close on the last trading day of a year).
//   - Martin Luther King Jr. Day, the third Monday of January (from 1998).
//   - Washington's Birthday, the third Monday of February.
//   - Good Friday, two days before Easter Sunday.
//   - Memorial Day, the last Monday of May.
//   - Juneteenth National Independence Day, June 19 (from 2022).
//   - Independence Day, July 4.
//   - Labor Day, the first Monday of September.
//   - Thanksgiving Day, the fourth Thursday of November.
//   - Christmas Day, December 25.
//
// Fixed-date holidays other than New Year's Day move to the Friday before
// when they fall on a Saturday and to the Monday after on a Sunday.
// Unscheduled closures (national days of mourning, weather) are not rules:
// add them as custom holidays.
func NYSEHolidays(year int) []Holiday {
	var hs []Holiday
	add := func(d Date, name string) { hs = append(hs, Holiday{d, name}) }

	if ny := (Date{year, time.January, 1}); ny.Weekday() == time.Sunday {
		add(ny.AddDays(1), "New Year's Day (observed)")
	} else if ny.Weekday() != time.Saturday {
		add(ny, "New Year's Day")
	}
	if year >= 1998 {
		add(nthWeekday(year, time.January, time.Monday, 3), "Martin Luther King Jr. Day")
	}
	add(nthWeekday(year, time.February, time.Monday, 3), "Washington's Birthday")
	add(Easter(year).AddDays(-2), "Good Friday")
	add(nthWeekday(year, time.May, time.Monday, -1), "Memorial Day")
	if year >= 2022 {
		add(observed(Date{year, time.June, 19}), "Juneteenth National Independence Day")
	}
	add(observed(Date{year, time.July, 4}), "Independence Day")
	add(nthWeekday(year, time.September, time.Monday, 1), "Labor Day")
	add(nthWeekday(year, time.November, time.Thursday, 4), "Thanksgiving Day")
	add(observed(Date{year, time.December, 25}), "Christmas Day")
	sort.Slice(hs, func(i, j int) bool { return hs[i].Date.Before(hs[j].Date) })
	return hs
}

// observed moves a Saturday holiday to Friday and a Sunday one to Monday.
func observed(d Date) Date {
	switch d.Weekday() {
	case time.Saturday:
		return d.AddDays(-1)
	case time.Sunday:
		return d.AddDays(1)
	}
	return d
}

// NYSEEarlyCloses returns the days of year on which the NYSE closes at
// 13:00 ET: the day before Independence Day (July 3, when it is a Monday to
// Thursday), the day after Thanksgiving, and Christmas Eve (when it is a
// Monday to Thursday). When July 4 or December 25 falls on a Saturday the
// day before is the observed holiday itself, and no other day closes early.
func NYSEEarlyCloses(year int) []EarlyClose {
	var ec []EarlyClose
	weekdayBeforeFriday := func(d Date) bool {
		wd := d.Weekday()
		return wd >= time.Monday && wd <= time.Thursday
	}
	if j3 := (Date{year, time.July, 3}); weekdayBeforeFriday(j3) {
		ec = append(ec, EarlyClose{j3, NYSEEarlyClose, "Day before Independence Day"})
	}
	ec = append(ec, EarlyClose{nthWeekday(year, time.November, time.Thursday, 4).AddDays(1), NYSEEarlyClose, "Day after Thanksgiving"})
	if d24 := (Date{year, time.December, 24}); weekdayBeforeFriday(d24) {
		ec = append(ec, EarlyClose{d24, NYSEEarlyClose, "Christmas Eve"})
	}
	return ec
}
