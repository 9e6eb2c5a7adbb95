package sim

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// impactOf is an Impact with the figures ChooseLevel reads.
func impactOf(unserved, replicaHours, coolerUnserved float64) Impact {
	from := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	return Impact{
		From: from, To: from.Add(ImpactSpan),
		Predictive: Result{UnservedFraction: unserved, ReplicaHours: replicaHours},
		EqualCost:  EqualCost{ReactiveUnserved: coolerUnserved},
	}
}

// judgedOn is ims with the span judged cut to d.
func judgedOn(d time.Duration, ims ...Impact) []Impact {
	for k := range ims {
		ims[k].To = ims[k].From.Add(d)
	}
	return ims
}

func TestChooseLevel(t *testing.T) {
	levels := []float64{0.9, 0.5, 0.7}
	for _, tc := range []struct {
		name     string
		ims      []Impact
		want     int
		pays     bool
		whyHas   string
		levelsIn []float64
	}{
		{"the owner's pays best", []Impact{impactOf(0.001, 100, 0.01), impactOf(0.004, 90, 0.01), impactOf(0.003, 95, 0.01)}, 0, true, "at the owner's p90", levels},
		{"a lower quantile pays where the owner's does not", []Impact{impactOf(0.012, 130, 0.010), impactOf(0.006, 110, 0.012), impactOf(0.009, 120, 0.011)}, 1, true, "operating at p50 rather than the owner's p90", levels},
		{"the best ratio wins, not the least unserved", []Impact{impactOf(0.002, 150, 0.005), impactOf(0.004, 100, 0.02), impactOf(0.003, 120, 0.01)}, 1, true, "operating at p50", levels},
		{"none pays: the owner's stands down", []Impact{impactOf(0.012, 130, 0.010), impactOf(0.02, 110, 0.012), impactOf(0.011, 120, 0.011)}, 0, false, "at no operating point (p90, p50, p70): at p90", levels},
		{"the cooler HPA serves everything too: none pays", []Impact{impactOf(0, 130, 0), impactOf(0, 110, 0), impactOf(0, 120, 0)}, 0, false, "at no operating point", levels},
		{"all serve everything, the cooler HPA not: fewer replica-hours", []Impact{impactOf(0, 130, 0.001), impactOf(0, 110, 0.001), impactOf(0, 120, 0.001)}, 1, true, "operating at p50", levels},
		{"a costlier level within the margin of the cheapest that pays: the cheapest", []Impact{impactOf(0.004, 130, 0.01), impactOf(0.0045, 110, 0.01), impactOf(0.0042, 120, 0.01)}, 1, true, "p90's ratio to it, 0.401, is not 20% under p50's 0.451, so the cheaper p50 stays in force", levels},
		{"a costlier level beyond the margin: the costlier", []Impact{impactOf(0.0035, 130, 0.01), impactOf(0.0045, 110, 0.01), impactOf(0.0042, 120, 0.01)}, 0, true, "at the owner's p90", levels},
		{"the cheapest does not pay: the best of those that do", []Impact{impactOf(0.004, 130, 0.01), impactOf(0.009, 110, 0.01), impactOf(0.0045, 120, 0.01)}, 2, true, "p90's ratio to it, 0.401, is not 20% under p70's 0.451, so the cheaper p70 stays in force", levels},
		{"one level: the plain reason", []Impact{impactOf(0.012, 130, 0.010)}, 0, false, "floors leave 1.2% unserved, not 20% under", []float64{0.9}},
		// While the span judged is short of 14 days, the lowest level stays
		// in force where it gains at least half the margin (10%).
		{"a short span: the lowest level, 15% under, stays in force", judgedOn(5*24*time.Hour, impactOf(0.012, 130, 0.010), impactOf(0.0085, 110, 0.010), impactOf(0.0095, 120, 0.010)), 1, true,
			"operating at p50, the lowest operating point: judged on 5d of the 14d, floors leave 0.85% unserved against 1% for the HPA alone run cooler at equal replica-hours (110 replica-h): less than 20% under it but at least 10%", levels},
		{"a short span: the lowest level only 5% under stands down", judgedOn(5*24*time.Hour, impactOf(0.012, 130, 0.010), impactOf(0.0095, 110, 0.010), impactOf(0.0085, 120, 0.010)), 0, false, "at no operating point", levels},
		{"the full span: 15% under stands down", []Impact{impactOf(0.012, 130, 0.010), impactOf(0.0085, 110, 0.010), impactOf(0.0095, 120, 0.010)}, 0, false, "at no operating point", levels},
		{"13.5 days count as the full span", judgedOn(ImpactSpan-12*time.Hour, impactOf(0.012, 130, 0.010), impactOf(0.0085, 110, 0.010), impactOf(0.0095, 120, 0.010)), 0, false, "at no operating point", levels},
		{"a short span, one level", judgedOn(2*24*time.Hour, impactOf(0.0085, 130, 0.010)), 0, true, "judged on 2d of the 14d", []float64{0.9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, pays, why := ChooseLevel(tc.ims, tc.levelsIn, 0.2)
			if k != tc.want || pays != tc.pays || !strings.Contains(why, tc.whyHas) {
				t.Errorf("chose %d (pays %v): %s\nwant %d (pays %v) with %q", k, pays, why, tc.want, tc.pays, tc.whyHas)
			}
		})
	}
}

// levelPlanFunc plans one floor per level.
type levelPlanFunc struct {
	levels []float64
	plan   func(now time.Time) []int32
	used   map[int]int // decisions by the level in force
}

func (p *levelPlanFunc) Plan(now time.Time, _ forecast.Series) (int32, error) {
	return p.plan(now)[0], nil
}
func (p *levelPlanFunc) Levels() []float64 { return p.levels }
func (p *levelPlanFunc) PlanLevels(now time.Time, _ forecast.Series, use int) ([]int32, error) {
	p.used[use]++
	return p.plan(now), nil
}

// Of two operating points, the owner's raises floors at the wrong hour
// and the other ahead of the daily jump: the stand-down puts the second in
// force instead of standing the target down, and says so.
func TestStandDownChoosesTheOperatingPointThatPays(t *testing.T) {
	demand := dailyJump(7)
	cfg := DefaultConfig(20)
	planner := &levelPlanFunc{levels: []float64{0.9, 0.5}, used: map[int]int{}, plan: func(now time.Time) []int32 {
		out := []int32{0, 0}
		if h := now.Hour(); h >= 18 && h < 21 {
			out[0] = 29 // evenings: nothing happens then
		}
		if m := now.Hour()*60 + now.Minute(); m >= 9*60-10 && m < 12*60 {
			out[1] = 29 // ten minutes ahead of the jump to its end
		}
		return out
	}}
	f := NewFloors("predictive", planner)
	f.StandDown = &StandDown{Cluster: cfg}
	cfg.EvalFrom = demand.Start.Add(4 * 24 * time.Hour)
	pr, err := Run(context.Background(), cfg, demand, f)
	if err != nil {
		t.Fatal(err)
	}
	down, why, last, n := f.StandDown.Status()
	if n < 2 || down || last == nil || f.StandDown.Level() != 0.5 {
		t.Fatalf("after %d judgements: stood down %v at p%g (%s)", n, down, 100*f.StandDown.Level(), why)
	}
	if !strings.Contains(why, "operating at p50 rather than the owner's p90") {
		t.Errorf("reason %q does not name the operating point", why)
	}
	if lm := f.StandDown.LevelMinutes(); lm[0.5] == 0 || planner.used[1] == 0 {
		t.Errorf("decisions by level %v, planned with level in force %v: want some at p50", lm, planner.used)
	}
	re, _ := Run(context.Background(), cfg, demand, Reactive{})
	if !(pr.UnservedFraction < 0.2*re.UnservedFraction) {
		t.Errorf("on the last days, predictive leaves %.4f%% unserved, reactive %.4f%%: the p50 floors ahead of the jump should serve most of it",
			100*pr.UnservedFraction, 100*re.UnservedFraction)
	}
}

// The decisions reported by operating point and stood down are those the
// metrics count, from EvalFrom: the warmup's (floors not yet planned, or
// unjudged at the lowest level) are not among them.
func TestStandDownCountsTheEvaluatedDecisions(t *testing.T) {
	demand := dailyJump(6)
	cfg := DefaultConfig(20)
	cfg.EvalFrom = demand.Start.Add(3 * 24 * time.Hour)
	planner := &levelPlanFunc{levels: []float64{0.9, 0.5}, used: map[int]int{}, plan: func(now time.Time) []int32 {
		if now.Before(demand.Start.Add(2 * 24 * time.Hour)) {
			return []int32{0, 0} // no forecast yet
		}
		return []int32{29, 25}
	}}
	f := NewFloors("predictive", planner)
	f.StandDown = &StandDown{Cluster: cfg}
	if _, err := Run(context.Background(), cfg, demand, f); err != nil {
		t.Fatal(err)
	}
	got := f.StandDown.DownMinutes()
	for _, n := range f.StandDown.LevelMinutes() {
		got += n
	}
	want := int(demand.Time(demand.Len()).Sub(cfg.EvalFrom) / cfg.PlanInterval)
	if got < want-1 || got > want+1 {
		t.Errorf("%d decisions counted, want the %d from EvalFrom (of %d in all)", got, want, int(time.Duration(demand.Len())*time.Minute/cfg.PlanInterval))
	}
}

// Neither operating point pays: the target stands down as with one.
func TestStandDownWhenNoOperatingPointPays(t *testing.T) {
	demand := dailyJump(6)
	cfg := DefaultConfig(20)
	planner := &levelPlanFunc{levels: []float64{0.9, 0.5}, used: map[int]int{}, plan: func(now time.Time) []int32 {
		if h := now.Hour(); h >= 18 && h < 21 {
			return []int32{29, 25}
		}
		return []int32{0, 0}
	}}
	f := NewFloors("predictive", planner)
	f.StandDown = &StandDown{Cluster: cfg}
	if _, err := Run(context.Background(), cfg, demand, f); err != nil {
		t.Fatal(err)
	}
	down, why, _, n := f.StandDown.Status()
	if n < 2 || !down || !strings.Contains(why, "at no operating point (p90, p50)") {
		t.Fatalf("after %d judgements: stood down %v (%s)", n, down, why)
	}
}

// CompareLevels replays the HPA alone once for all levels and gives each
// the comparison Compare gives it alone.
func TestCompareLevelsMatchesCompare(t *testing.T) {
	demand := dailyJump(4)
	cfg := DefaultConfig(20)
	a, b := make([]int32, demand.Len()), make([]int32, demand.Len())
	for i := range a {
		if m := i % 1440; m >= 9*60-10 && m < 12*60 {
			a[i] = 29
			b[i] = 15
		}
	}
	ims, err := CompareLevels(context.Background(), cfg, demand, [][]int32{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for k, f := range [][]int32{a, b} {
		im, err := Compare(context.Background(), cfg, demand, f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(im.Predictive, ims[k].Predictive) || !reflect.DeepEqual(im.Reactive, ims[k].Reactive) {
			t.Errorf("level %d: CompareLevels %+v, Compare %+v", k, ims[k].Predictive, im.Predictive)
		}
	}
	if !(ims[1].Predictive.ReplicaHours < ims[0].Predictive.ReplicaHours) {
		t.Errorf("lower floors cost %v replica-hours, higher %v", ims[1].Predictive.ReplicaHours, ims[0].Predictive.ReplicaHours)
	}
	if _, err := CompareLevels(context.Background(), cfg, demand, [][]int32{a, b[:10]}); err == nil {
		t.Error("floors shorter than the demand: want an error")
	}
}

// A comparison replays only the HPA targets that bracket the floors'
// replica-hours, and places the floors where the whole sweep does.
func TestBracketCurvePlacesAsTheWholeSweep(t *testing.T) {
	demand := dailyJump(4)
	cfg := DefaultConfig(20)
	cfg.SyncPeriod = CompareSync
	re, err := Run(context.Background(), cfg, demand, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	for _, scale := range []float64{1.05, 1.3, 1.8} {
		pr := Result{Strategy: "predictive", ReplicaHours: scale * re.ReplicaHours, UnservedFraction: re.UnservedFraction / 3}
		lazy, err := bracketCurve(cfg, re, []Result{pr}, func(c Config) (Result, error) { return Run(context.Background(), c, demand, Reactive{}) })
		if err != nil {
			t.Fatal(err)
		}
		full, err := SweepCurve(context.Background(), cfg, demand, CompareSweep, []Result{pr})
		if err != nil {
			t.Fatal(err)
		}
		got, want := lazy.Place(pr), full.Place(pr)
		if math.Abs(got.ReactiveUnserved-want.ReactiveUnserved) > 1e-12 || got.UnservedPosition != want.UnservedPosition {
			t.Errorf("×%.2f replica-hours: placed at %v (%v) on %d points, the whole sweep says %v (%v)",
				scale, got.ReactiveUnserved, got.UnservedPosition, len(lazy), want.ReactiveUnserved, want.UnservedPosition)
		}
		if len(lazy) >= len(full) {
			t.Errorf("×%.2f: %d points replayed, the whole sweep has %d", scale, len(lazy), len(full))
		}
	}
}

// Before its first judgement (a day of recorded floors) a target's floors
// operate at its lowest operating point, the cheapest while they have not
// shown they pay; with one level, at the owner's.
func TestStandDownUnjudgedFloorsAtTheLowestPoint(t *testing.T) {
	demand := dailyJump(1)
	demand = demand.Slice(0, 20*60) // 20 hours: under the day judged first
	cfg := DefaultConfig(20)
	for _, tc := range []struct {
		levels []float64
		level  float64
	}{
		{[]float64{0.9, 0.7, 0.3, 0.5}, 0.3},
		{[]float64{0.9}, 0.9},
	} {
		planner := &levelPlanFunc{levels: tc.levels, used: map[int]int{}, plan: func(time.Time) []int32 {
			out := make([]int32, len(tc.levels))
			for k, l := range tc.levels {
				out[k] = int32(math.Round(10 * l)) // p90: 9 pods, p30: 3 pods
			}
			return out
		}}
		f := NewFloors("predictive", planner)
		f.StandDown = &StandDown{Cluster: cfg}
		var floors []int32
		rec := recordFloors{Strategy: f, got: &floors}
		if _, err := Run(context.Background(), cfg, demand, rec); err != nil {
			t.Fatal(err)
		}
		_, _, _, n := f.StandDown.Status()
		if n != 0 {
			t.Fatalf("levels %v: %d judgements in 20 hours, want none", tc.levels, n)
		}
		if got := f.StandDown.Level(); len(tc.levels) > 1 && got != tc.level {
			t.Errorf("levels %v: in force p%g, want p%g", tc.levels, 100*got, 100*tc.level)
		}
		want := int32(math.Round(10 * tc.level))
		for i, fl := range floors {
			if fl != want {
				t.Fatalf("levels %v: decision %d asserted floor %d, want %d (p%g's)", tc.levels, i, fl, want, 100*tc.level)
			}
		}
		if len(floors) == 0 {
			t.Fatalf("levels %v: no decision recorded", tc.levels)
		}
	}
}

// recordFloors records the floor each decision of Strategy asserts.
type recordFloors struct {
	Strategy
	got *[]int32
}

func (r recordFloors) Floor(now time.Time, observed forecast.Series) (int32, error) {
	f, err := r.Strategy.Floor(now, observed)
	*r.got = append(*r.got, f)
	return f, err
}

func TestRecentVerdict(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pays      bool
		recent    Impact
		wantPays  bool
		whyHas    string
		whyHasNot string
	}{
		{"paying, and less unserved over the week", true, impactOf(0.002, 100, 0.005), true, "over 14 days", "stopped paying"},
		{"paying, tied over the week", true, impactOf(0.004, 100, 0.004), true, "over 14 days", "stopped paying"},
		{"paying, both serve everything over the week", true, impactOf(0, 100, 0), true, "over 14 days", "stopped paying"},
		{"paying, more unserved over the week: stands down", true, impactOf(0.006, 100, 0.005), false, "over 14 days; but over the last 7d they leave 0.6% unserved against 0.5%", ""},
		{"not paying stays down whatever the week", false, impactOf(0.001, 100, 0.005), false, "over 14 days", "stopped paying"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pays, why := RecentVerdict(tc.pays, "over 14 days", tc.recent)
			if pays != tc.wantPays || !strings.Contains(why, tc.whyHas) || tc.whyHasNot != "" && strings.Contains(why, tc.whyHasNot) {
				t.Errorf("pays %v: %q; want %v with %q", pays, why, tc.wantPays, tc.whyHas)
			}
		})
	}
}

// Floors that paid ahead of the daily jump for a week, then were raised at
// the wrong hour for a week: over the 14 days judged they still pay, but
// over the last 7 they lose to the cooler HPA, and the target stands down.
func TestStandDownWhenFloorsStopPaying(t *testing.T) {
	demand := dailyJump(16)
	cfg := DefaultConfig(20)
	switchAt := demand.Start.Add(8 * 24 * time.Hour)
	planner := &levelPlanFunc{levels: []float64{0.9}, used: map[int]int{}, plan: func(now time.Time) []int32 {
		m := now.Hour()*60 + now.Minute()
		if now.Before(switchAt) {
			if m >= 9*60-10 && m < 12*60 {
				return []int32{29} // ten minutes ahead of the jump to its end
			}
			return []int32{0}
		}
		if h := now.Hour(); h >= 18 && h < 21 {
			return []int32{29} // evenings: nothing happens then
		}
		return []int32{0}
	}}
	f := NewFloors("predictive", planner)
	f.StandDown = &StandDown{Cluster: cfg}
	if _, err := Run(context.Background(), cfg, demand, f); err != nil {
		t.Fatal(err)
	}
	down, why, last, n := f.StandDown.Status()
	if n < 10 || last == nil {
		t.Fatalf("%d judgements (last %v)", n, last)
	}
	if pays, whole := last.Pays(0.2); !pays {
		t.Fatalf("over the 14 days judged the floors should pay (a week of them ahead of the jump): %s", whole)
	}
	if !down || !strings.Contains(why, "but over the last 7d") || !strings.Contains(why, "stopped paying") {
		t.Errorf("stood down %v (%s): want down, the last 7 days named", down, why)
	}
}
