package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

func utcDay(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }

// addDay splits at UTC midnight, whatever the time zone of the demand.
func TestAddDaySplitsAtUTCMidnight(t *testing.T) {
	var days []DayOutcome
	start := time.Date(2026, 3, 1, 23, 58, 0, 0, time.UTC)
	for m := range 4 { // 23:58, 23:59, 00:00, 00:01
		days = addDay(days, start.Add(time.Duration(m)*time.Minute).Unix(), 60, float64(m))
	}
	if len(days) != 2 || !days[0].Day.Equal(utcDay(1)) || !days[1].Day.Equal(utcDay(2)) {
		t.Fatalf("days %+v: want 1 and 2 March", days)
	}
	if days[0].Demand != 120 || days[0].Unserved != 1 || days[1].Demand != 120 || days[1].Unserved != 5 {
		t.Errorf("days %+v: want 120 demand each, 0+1 and 2+3 unserved", days)
	}
	if f := days[1].Fraction(); math.Abs(f-5.0/120) > 1e-15 {
		t.Errorf("fraction %v, want 5/120", f)
	}
	if f := (DayOutcome{}).Fraction(); f != 0 {
		t.Errorf("fraction of a day without demand %v, want 0", f)
	}
}

// A run's days add up to its totals.
func TestRunDaysAddUpToTheTotals(t *testing.T) {
	// Three days of demand at 100 with a jump to 400 for half an hour at
	// noon: the HPA leaves part of each jump unserved.
	tr := forecast.Series{Start: utcDay(1), Step: Minute, Values: make([]float64, 3*1440)}
	for m := range tr.Values {
		tr.Values[m] = 100
		if mm := m % 1440; mm >= 720 && mm < 750 {
			tr.Values[m] = 400
		}
	}
	cfg := DefaultConfig(20)
	cfg.EvalFrom = tr.Start.Add(12 * time.Hour)
	r, err := Run(context.Background(), cfg, tr, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 3 || !r.Days[0].Day.Equal(utcDay(1)) {
		t.Fatalf("%d day(s) for %v of demand", len(r.Days), time.Duration(tr.Len())*time.Minute)
	}
	var d, u float64
	for i, day := range r.Days {
		if i > 0 && !day.Day.After(r.Days[i-1].Day) {
			t.Errorf("days out of order: %v after %v", day.Day, r.Days[i-1].Day)
		}
		d += day.Demand
		u += day.Unserved
	}
	if r.UnservedFraction <= 0 || math.Abs(u/d-r.UnservedFraction) > 1e-12 {
		t.Errorf("days' unserved %v of %v, run's fraction %v", u, d, r.UnservedFraction)
	}
}

// DaysAt interpolates each day as UnservedAt interpolates the totals.
func TestDaysAt(t *testing.T) {
	day := func(d int, f float64) DayOutcome { return DayOutcome{Day: utcDay(d), Demand: 1000, Unserved: 1000 * f} }
	c := newCostCurve([]CurvePoint{
		{TargetUtilization: 0.7, ReplicaHours: 100, UnservedFraction: 0.04, Days: []DayOutcome{day(1, 0.04), day(2, 0)}},
		{TargetUtilization: 0.5, ReplicaHours: 200, UnservedFraction: 0.01, Days: []DayOutcome{day(1, 0.01), day(2, 0.02)}},
	})
	got := c.DaysAt(150)
	if len(got) != 2 {
		t.Fatalf("DaysAt(150) = %+v", got)
	}
	// Log-linear where both are positive (√(0.04 × 0.01) = 0.02), linear
	// from zero.
	if f := got[0].Fraction(); math.Abs(f-0.02) > 1e-12 {
		t.Errorf("day 1 at 150 replica-h: %v, want 0.02", f)
	}
	if f := got[1].Fraction(); math.Abs(f-0.01) > 1e-12 {
		t.Errorf("day 2 at 150 replica-h: %v, want 0.01", f)
	}
	if f := c.DaysAt(50)[0].Fraction(); f != 0.04 {
		t.Errorf("below the sweep: %v, want the endpoint's 0.04", f)
	}
	if f := c.DaysAt(500)[1].Fraction(); f != 0.02 {
		t.Errorf("beyond the sweep: %v, want the endpoint's 0.02", f)
	}
	if got := (CostCurve{}).DaysAt(1); got != nil {
		t.Errorf("empty curve: %+v", got)
	}
}

func TestPairedDays(t *testing.T) {
	day := func(d int, f float64) DayOutcome { return DayOutcome{Day: utcDay(d), Demand: 1e4, Unserved: 1e4 * f} }
	floors := []DayOutcome{day(1, 0.01), day(2, 0.03), day(3, 0), day(4, 1e-6), day(5, 0.02), day(7, 0.01)}
	cooler := []DayOutcome{day(1, 0.02), day(2, 0.02), day(3, 0.01), day(4, 2e-6), day(5, 0.02), day(6, 0.05)}
	// 1: win; 2: loss; 3: win; 4: both under the epsilon; 5: equal;
	// 6 and 7: one side only.
	if w, l := PairedDays(floors, cooler); w != 2 || l != 1 {
		t.Errorf("wins %d, losses %d; want 2 and 1", w, l)
	}
	if w, l := PairedDays(floors, nil); w != 0 || l != 0 {
		t.Errorf("against no days: %d, %d", w, l)
	}
}

func TestPairedSignificant(t *testing.T) {
	for _, tc := range []struct {
		wins, losses int
		want         bool
	}{
		{11, 2, true},   // 9 ≥ 2√13 ≈ 7.2
		{10, 3, false},  // 7 < 7.2
		{4, 0, true},    // 4 ≥ 4
		{3, 0, false},   // 3 < 3.5
		{12, 12, false}, // a coin
		{0, 0, false},
		{2, 9, false},
	} {
		if got := pairedSignificant(tc.wins, tc.losses); got != tc.want {
			t.Errorf("%d wins, %d losses: %v, want %v", tc.wins, tc.losses, got, tc.want)
		}
	}
}

func withoutBest(im Impact, p, cooler float64) Impact {
	im.WithoutBestDay = &DayLeftOut{Day: utcDay(9), Predictive: p, Cooler: cooler}
	return im
}

// The best day is the one on which the floors saved the most demand (not
// the best ratio), and leaving it out weighs the other days by their
// demand; with a week of days or fewer nothing is left out.
func TestLeaveBestDayOut(t *testing.T) {
	day := func(d int, demand, f float64) DayOutcome {
		return DayOutcome{Day: utcDay(d), Demand: demand, Unserved: demand * f}
	}
	var floors, cooler []DayOutcome
	for d := 1; d <= 8; d++ {
		floors = append(floors, day(d, 1e4, 0.02))
		cooler = append(cooler, day(d, 1e4, 0.01))
	}
	// Day 3: the floors save 0.5 of 100 demand (ratio 0); day 5 they save
	// 0.2 × 1e5: the most demand, and the day left out.
	floors[2], cooler[2] = day(3, 100, 0), day(3, 100, 0.5)
	floors[4], cooler[4] = day(5, 1e5, 0.1), day(5, 1e5, 0.3)
	w := LeaveBestDayOut(floors, cooler)
	if w == nil || !w.Day.Equal(utcDay(5)) {
		t.Fatalf("left out %+v, want day 5", w)
	}
	// The other 7 days: 6 × 1e4 at 2% and 1%, and day 3.
	wantF, wantC := 6*1e4*0.02/(6*1e4+100), (6*1e4*0.01+50)/(6*1e4+100)
	if math.Abs(w.Predictive-wantF) > 1e-12 || math.Abs(w.Cooler-wantC) > 1e-12 {
		t.Errorf("without day 5: %.6f and %.6f, want %.6f and %.6f", w.Predictive, w.Cooler, wantF, wantC)
	}
	if w := LeaveBestDayOut(floors[:7], cooler[:7]); w != nil {
		t.Errorf("with 7 days: %+v, want nothing left out", w)
	}
	// Days only one side evaluated do not count towards the eight.
	if w := LeaveBestDayOut(floors, cooler[:7]); w != nil {
		t.Errorf("with 7 days paired: %+v, want nothing left out", w)
	}
}

// Floors pay by the margin over the span, or by a steady gain of at least
// half the margin day by day; never when they lose over the span or gain
// a few percent however steadily.
func TestPaysDayByDay(t *testing.T) {
	im := func(p, eq float64, wins, losses int) Impact {
		return Impact{Predictive: Result{UnservedFraction: p, ReplicaHours: 100}, EqualCost: EqualCost{ReactiveUnserved: eq}, DayWins: wins, DayLosses: losses}
	}
	for _, tc := range []struct {
		name string
		im   Impact
		want bool
		why  string
	}{
		{"by the margin", im(0.005, 0.01, 2, 9), true, "against 1% for the HPA alone"},
		{"under the margin, steadily", im(0.0088, 0.01, 11, 2), true, "less than 20% under it but at least 10% under, and less than it on 11 day(s), more on 2"},
		{"under the margin, by luck", im(0.0088, 0.01, 10, 3), false, "and less than it on 10 day(s), more on 3"},
		{"steadily, but immaterially", im(0.0095, 0.01, 13, 0), false, "and less than it on 13 day(s), more on 0"},
		{"losing over the span", im(0.011, 0.01, 14, 0), false, "not 20% under"},
		{"tied at nothing", im(0, 0, 0, 0), false, "not 20% under"},
		{"by the margin, but on one day", withoutBest(im(0.005, 0.01, 7, 7), 0.0105, 0.01), false, "but one day carries the gain: without 2026-03-09 they leave 1.05% against its 1%"},
		{"by the margin, and without the best day too", withoutBest(im(0.005, 0.01, 7, 7), 0.0099, 0.01), true, "against 1% for the HPA alone"},
		{"steadily: the best day is not asked about", withoutBest(im(0.0088, 0.01, 11, 2), 0.02, 0.01), true, "less than it on 11 day(s)"},
	} {
		pays, why := tc.im.Pays(0.2)
		if pays != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("%s: pays %v (%s), want %v and %q", tc.name, pays, why, tc.want, tc.why)
		}
	}
}
