package calendar

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The NYSE's published holiday and early-close schedules for 2024–2027
// (nyse.com/markets/hours-calendars). The unscheduled closure of
// 2025-01-09 (National Day of Mourning for President Carter) is not a rule
// and is tested as a custom holiday below.
var publishedHolidays = map[int][]string{
	2024: {"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"},
	2025: {"2025-01-01", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"},
	2026: {"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"},
	2027: {"2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18", "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24"},
}

var publishedEarlyCloses = map[int][]string{
	2024: {"2024-07-03", "2024-11-29", "2024-12-24"},
	2025: {"2025-07-03", "2025-11-28", "2025-12-24"},
	2026: {"2026-11-27", "2026-12-24"},
	2027: {"2027-11-26"},
}

func TestNYSEHolidaysMatchPublished(t *testing.T) {
	for year, want := range publishedHolidays {
		got := NYSEHolidays(year)
		if len(got) != len(want) {
			t.Errorf("%d: %d holidays, want %d: %v", year, len(got), len(want), got)
			continue
		}
		for i, h := range got {
			if h.Date.String() != want[i] {
				t.Errorf("%d holiday %d (%s) = %s, want %s", year, i, h.Name, h.Date, want[i])
			}
			if wd := h.Date.Weekday(); wd == time.Saturday || wd == time.Sunday {
				t.Errorf("%d: %s falls on %s", year, h.Name, wd)
			}
		}
	}
}

func TestNYSEEarlyClosesMatchPublished(t *testing.T) {
	for year, want := range publishedEarlyCloses {
		got := NYSEEarlyCloses(year)
		if len(got) != len(want) {
			t.Errorf("%d: %d early closes, want %d: %v", year, len(got), len(want), got)
			continue
		}
		for i, e := range got {
			if e.Date.String() != want[i] || e.Close != NYSEEarlyClose {
				t.Errorf("%d early close %d = %s at %s, want %s at 13:00", year, i, e.Date, e.Close, want[i])
			}
		}
	}
}

func TestNYSENewYearOnSaturdayNotObserved(t *testing.T) {
	// 2022-01-01 was a Saturday; the NYSE stayed open on Friday 2021-12-31.
	x := mustXNYS(t)
	if !x.IsTradingDay(Date{2021, time.December, 31}) {
		t.Error("2021-12-31 should trade")
	}
	// 2023-01-01 was a Sunday: observed Monday 2023-01-02.
	if x.IsTradingDay(Date{2023, time.January, 2}) {
		t.Error("2023-01-02 should be closed (New Year's Day observed)")
	}
	// Juneteenth only from 2022.
	if !x.IsTradingDay(Date{2021, time.June, 18}) {
		t.Error("2021-06-18 should trade: Juneteenth is a NYSE holiday only from 2022")
	}
}

func TestEaster(t *testing.T) {
	for _, c := range []struct {
		year int
		want string
	}{{2024, "2024-03-31"}, {2025, "2025-04-20"}, {2026, "2026-04-05"}, {2027, "2027-03-28"}, {2038, "2038-04-25"}, {2285, "2285-03-22"}} {
		if got := Easter(c.year).String(); got != c.want {
			t.Errorf("Easter(%d) = %s, want %s", c.year, got, c.want)
		}
	}
}

func mustXNYS(t *testing.T) *TradingCalendar {
	t.Helper()
	x, err := NewXNYS(NYSESessions)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestSessionsAcrossDSTAndEarlyClose(t *testing.T) {
	x := mustXNYS(t)
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		at   string
		want Session
	}{
		// Friday before the 2026 spring-forward (EST, UTC-5): open at 14:30 UTC.
		{"2026-03-06T14:29:00Z", PreMarket},
		{"2026-03-06T14:30:00Z", Regular},
		// Monday after (EDT, UTC-4): open at 13:30 UTC.
		{"2026-03-09T13:29:00Z", PreMarket},
		{"2026-03-09T13:30:00Z", Regular},
		{"2026-03-09T20:00:00Z", PostMarket},
		{"2026-03-09T23:59:00Z", PostMarket},
		{"2026-03-10T00:00:00Z", Closed},
		{"2026-03-09T07:59:00Z", Closed},
		{"2026-03-09T08:00:00Z", PreMarket},
		// Monday after the fall-back (2026-11-01): EST again.
		{"2026-11-02T14:29:00Z", PreMarket},
		{"2026-11-02T14:30:00Z", Regular},
		// Day after Thanksgiving 2026: regular closes 13:00 EST (18:00 UTC),
		// late trading ends 17:00 EST.
		{"2026-11-27T17:59:00Z", Regular},
		{"2026-11-27T18:00:00Z", PostMarket},
		{"2026-11-27T21:59:00Z", PostMarket},
		{"2026-11-27T22:00:00Z", Closed},
		// Good Friday 2026 and Thanksgiving 2026 at 08:00 ET: closed.
		{"2026-04-03T12:00:00Z", Closed},
		{"2026-11-26T13:00:00Z", Closed},
		// A Saturday.
		{"2026-03-07T15:00:00Z", Closed},
	} {
		if got := x.SessionAt(utc(c.at)); got != c.want {
			t.Errorf("SessionAt(%s) = %s, want %s", c.at, got, c.want)
		}
	}
}

func TestCustomHolidayAndEarlyClose(t *testing.T) {
	x := mustXNYS(t)
	d := Date{2025, time.January, 9}
	if !x.IsTradingDay(d) {
		t.Fatal("2025-01-09 is not a rule holiday")
	}
	x.AddHoliday(d, "National Day of Mourning")
	if x.IsTradingDay(d) {
		t.Error("custom holiday ignored")
	}
	if day := x.Day(d); day.Holiday != "National Day of Mourning" || day.Trading {
		t.Errorf("Day = %+v", day)
	}
	e := Date{2026, time.December, 31}
	x.AddEarlyClose(e, 14*60, "test")
	day := x.Day(e)
	if got := day.Close.Format("15:04 MST"); got != "14:00 EST" {
		t.Errorf("custom early close at %s", got)
	}
	if n, ok := x.NextTradingDay(Date{2026, time.July, 2}); !ok || n.String() != "2026-07-06" {
		t.Errorf("NextTradingDay after 2026-07-02 = %s, want 2026-07-06 (07-03 observed holiday)", n)
	}
}

func TestEventOccurrences(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	s, err := ParseCron("30 8 * * 5", ny)
	if err != nil {
		t.Fatal(err)
	}
	jobs := Event{Name: "jobs-report", Schedule: s, Duration: time.Hour, LeadTime: 30 * time.Minute}
	bf := Event{Name: "black-friday", Start: time.Date(2026, 11, 27, 0, 0, 0, 0, ny), Duration: 24 * time.Hour}
	cal := EventCalendar{Name: "macro", Events: []Event{jobs, bf}}
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	occ := cal.Occurrences("jobs-report", from, from.AddDate(0, 0, 14))
	if len(occ) != 2 {
		t.Fatalf("got %d occurrences, want 2: %v", len(occ), occ)
	}
	// 2026-03-06 is EST (13:30 UTC); 2026-03-13 is EDT (12:30 UTC).
	if got := occ[0].Start.UTC().Format(time.RFC3339); got != "2026-03-06T13:30:00Z" {
		t.Errorf("first = %s", got)
	}
	if got := occ[1].Start.UTC().Format(time.RFC3339); got != "2026-03-13T12:30:00Z" {
		t.Errorf("second = %s", got)
	}
	if occ[0].End.Sub(occ[0].Start) != time.Hour || occ[0].LeadTime != 30*time.Minute {
		t.Errorf("occurrence %+v", occ[0])
	}
	if got := cal.Occurrences("black-friday", from, from.AddDate(1, 0, 0)); len(got) != 1 {
		t.Errorf("black friday occurrences = %v", got)
	}
	if got := cal.Occurrences("black-friday", from, from.AddDate(0, 1, 0)); len(got) != 0 {
		t.Errorf("black friday out of range = %v", got)
	}
	if _, err := ParseCron("CRON_TZ=Mars/Olympus 0 0 * * *", nil); err == nil {
		t.Error("bad zone accepted")
	}
	if _, err := ParseCron("61 * * * *", nil); err == nil {
		t.Error("bad minute accepted")
	}
}

// TestParseCronZoneWithoutFields: a zone prefix with no space after it made
// robfig/cron slice out of range and panic (config's fuzzing found it in an
// event schedule); it is an error naming the schedule, with or without a
// default zone.
func TestParseCronZoneWithoutFields(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, spec := range []string{"CRON_TZ=America/New_York(30tp_reque", "TZ=UTC", "CRON_TZ=", "TZ=\n30\t8"} {
		for _, loc := range []*time.Location{nil, ny} {
			s, err := ParseCron(spec, loc)
			if err == nil || s != nil {
				t.Errorf("ParseCron(%q, %v) = %v, %v; want an error", spec, loc, s, err)
				continue
			}
			if !strings.HasPrefix(err.Error(), "cron "+strconv.Quote(spec)+": ") {
				t.Errorf("ParseCron(%q): error %q does not name the schedule", spec, err)
			}
		}
	}
	// With the space, the same zone parses and fires in it.
	s, err := ParseCron("CRON_TZ=America/New_York 30 9 * * 1-5", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Next(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 12, 7, 14, 30, 0, 0, time.UTC)) {
		t.Errorf("next open = %v, want 14:30 UTC", got)
	}
}

func TestNthWeekday(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	s, err := ParseCron("30 8 * * 5", ny)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, ny)
	to := time.Date(2026, 5, 1, 0, 0, 0, 0, ny)
	for _, c := range []struct {
		n    int
		want []string
	}{
		// The jobs report: the first Friday of each month.
		{1, []string{"2026-01-02", "2026-02-06", "2026-03-06", "2026-04-03"}},
		{-1, []string{"2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"}},
		{5, []string{"2026-01-30"}},
	} {
		ev := Event{Name: "e", Schedule: s, NthWeekday: c.n}
		var got []string
		for _, o := range ev.Occurrences(from, to) {
			got = append(got, DateOf(o.Start).String())
			if h, m, _ := o.Start.Clock(); h != 8 || m != 30 {
				t.Errorf("occurrence at %s", o.Start)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("n=%d: %v, want %v", c.n, got, c.want)
		}
	}
}
