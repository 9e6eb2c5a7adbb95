package sim

import (
	"math"
	"time"
)

// A span's totals can hide how floors fared: floors that beat a cooler HPA
// by 10% over 14 days may do so on 12 days of 14 (a gain to keep) or on
// one news day (noise). The stand-down therefore also compares the floors
// with the cooler HPA day by day.

// DayOutcome is one UTC day of a run: its evaluated demand and the part of
// it left unserved (demand × seconds).
type DayOutcome struct {
	Day              time.Time
	Demand, Unserved float64
}

// Fraction is the day's unserved share of its demand (0 without demand).
func (d DayOutcome) Fraction() float64 {
	if d.Demand <= 0 {
		return 0
	}
	return d.Unserved / d.Demand
}

// addDay adds demand and unserved at Unix second sec to days, which holds
// UTC days in order and grows by one when sec starts a new day.
func addDay(days []DayOutcome, sec int64, demand, unserved float64) []DayOutcome {
	day := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		day-- // floor, before 1970
	}
	if n := len(days); n == 0 || days[n-1].Day.Unix() != day*86400 {
		days = append(days, DayOutcome{Day: time.Unix(day*86400, 0).UTC()})
	}
	d := &days[len(days)-1]
	d.Demand += demand
	d.Unserved += unserved
	return days
}

// DaysAt is what the HPA alone leaves unserved each day when run at the
// (interpolated) target that spends rh replica-hours: each day's fraction
// interpolated between the two swept targets that bracket rh, as
// UnservedAt interpolates the totals (the endpoint's days past either
// end). Days are those of the curve's points; nil when they kept none.
func (c CostCurve) DaysAt(rh float64) []DayOutcome {
	if len(c) == 0 {
		return nil
	}
	i, f, _ := c.bracket(rh)
	a := c[i]
	if f == 0 {
		return a.Days
	}
	b := c[i+1]
	if len(a.Days) != len(b.Days) {
		return nil
	}
	out := make([]DayOutcome, len(a.Days))
	for k, da := range a.Days {
		db := b.Days[k]
		if !da.Day.Equal(db.Day) {
			return nil
		}
		u := interpolate(da.Fraction(), db.Fraction(), f)
		out[k] = DayOutcome{Day: da.Day, Demand: da.Demand, Unserved: u * da.Demand}
	}
	return out
}

// PairedDays counts the days on which the floors left a smaller share of
// the day's demand unserved than the cooler HPA did (wins) and a larger one
// (losses). Days on which both left under UnservedEpsilon, or that either
// side did not evaluate, count as neither.
func PairedDays(floors, cooler []DayOutcome) (wins, losses int) {
	for _, p := range pairDays(floors, cooler) {
		a, b := p.floors.Fraction(), p.cooler.Fraction()
		if a < UnservedEpsilon && b < UnservedEpsilon {
			continue
		}
		switch {
		case a < b:
			wins++
		case a > b:
			losses++
		}
	}
	return wins, losses
}

// dayPair is one UTC day as the floors and the cooler HPA fared on it.
type dayPair struct{ floors, cooler DayOutcome }

// pairDays pairs the days, in order, that both floors and cooler (each in
// order) evaluated, with demand on both sides.
func pairDays(floors, cooler []DayOutcome) []dayPair {
	var out []dayPair
	j := 0
	for _, f := range floors {
		for j < len(cooler) && cooler[j].Day.Before(f.Day) {
			j++
		}
		if j == len(cooler) {
			break
		}
		c := cooler[j]
		if !c.Day.Equal(f.Day) || f.Demand <= 0 || c.Demand <= 0 {
			continue
		}
		out = append(out, dayPair{f, c})
	}
	return out
}

// pairedSignificant reports whether wins outnumber losses beyond chance:
// a sign test at about two standard deviations (wins − losses ≥
// 2√(wins + losses); 10 days to 3 is not enough, 11 to 2 is).
func pairedSignificant(wins, losses int) bool {
	n := wins + losses
	return n > 0 && float64(wins-losses) >= 2*math.Sqrt(float64(n))
}

// DayLeftOut is a span's unserved shares with one day left out: the
// floors' (Predictive) and the cooler HPA's (Cooler), of the demand of
// the span's other days.
type DayLeftOut struct {
	Day                time.Time
	Predictive, Cooler float64
}

// LeaveBestDayOut returns the unserved shares of the floors and of the
// cooler HPA over the days both evaluated, less the day on which the
// floors saved the most (the cooler HPA's unserved demand less theirs):
// a gain that one day carries (a news spike the floors happened to hold
// pods for) is the day's, not the floors'. nil with a week of days or
// fewer (ImpactRecent), where one day is a seventh of the evidence or
// more and leaving it out judges another span rather than this one.
func LeaveBestDayOut(floors, cooler []DayOutcome) *DayLeftOut {
	pairs := pairDays(floors, cooler)
	if len(pairs) <= int(ImpactRecent/(24*time.Hour)) {
		return nil
	}
	saved := func(p dayPair) float64 { return p.cooler.Unserved - p.floors.Unserved }
	best := 0
	for k, p := range pairs {
		if saved(p) > saved(pairs[best]) {
			best = k
		}
	}
	var fu, fd, cu, cd float64
	for k, p := range pairs {
		if k == best {
			continue
		}
		fu += p.floors.Unserved
		fd += p.floors.Demand
		cu += p.cooler.Unserved
		cd += p.cooler.Demand
	}
	return &DayLeftOut{Day: pairs[best].floors.Day, Predictive: fu / fd, Cooler: cu / cd}
}
