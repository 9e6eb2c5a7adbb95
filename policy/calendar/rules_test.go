package calendar

import (
	"testing"
	"time"
)

// TestNYSEWeekdayRulesByDefinition checks each holiday defined as the n-th
// weekday of a month against its definition, for every year 1998–2100
// (the published schedules of 2024–2027 have no November with five
// Thursdays; 2028, 2029, 2033 do): the n-th such weekday is the one on
// day 7(n−1)+1 … 7n, the last one is within the last seven days.
func TestNYSEWeekdayRulesByDefinition(t *testing.T) {
	rules := []struct {
		name    string
		month   time.Month
		wd      time.Weekday
		lo, hi  int
		holiday bool
	}{
		{"Martin Luther King Jr. Day", time.January, time.Monday, 15, 21, true},
		{"Washington's Birthday", time.February, time.Monday, 15, 21, true},
		{"Memorial Day", time.May, time.Monday, 25, 31, true},
		{"Labor Day", time.September, time.Monday, 1, 7, true},
		{"Thanksgiving Day", time.November, time.Thursday, 22, 28, true},
	}
	fiveThursdays := 0
	for year := 1998; year <= 2100; year++ {
		byName := map[string]Date{}
		for _, h := range NYSEHolidays(year) {
			byName[h.Name] = h.Date
		}
		for _, r := range rules {
			d, ok := byName[r.name]
			if !ok {
				t.Errorf("%d: no %s", year, r.name)
				continue
			}
			if d.Month != r.month || d.Weekday() != r.wd || d.Day < r.lo || d.Day > r.hi {
				t.Errorf("%d: %s on %s (%s), want the %s of %s %d–%d", year, r.name, d, d.Weekday(), r.wd, r.month, r.lo, r.hi)
			}
		}
		if (Date{year, time.November, 29}).Weekday() == time.Thursday || (Date{year, time.November, 30}).Weekday() == time.Thursday {
			fiveThursdays++
		}
		// The day after Thanksgiving closes early.
		tg := byName["Thanksgiving Day"]
		found := false
		for _, e := range NYSEEarlyCloses(year) {
			if e.Name == "Day after Thanksgiving" {
				found = true
				if e.Date != tg.AddDays(1) || e.Close != NYSEEarlyClose {
					t.Errorf("%d: day after Thanksgiving %s at %s, want %s at 13:00", year, e.Date, e.Close, tg.AddDays(1))
				}
			}
		}
		if !found {
			t.Errorf("%d: no early close after Thanksgiving", year)
		}
	}
	if fiveThursdays < 20 {
		t.Fatalf("only %d years with five Thursdays in November: the test does not separate fourth from last", fiveThursdays)
	}
	// 2028: November has five Thursdays (2, 9, 16, 23, 30).
	for _, h := range NYSEHolidays(2028) {
		if h.Name == "Thanksgiving Day" && h.Date.String() != "2028-11-23" {
			t.Errorf("Thanksgiving 2028 on %s, want 2028-11-23", h.Date)
		}
	}
}
