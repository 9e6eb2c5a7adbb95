package sim

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

// elbJudged is the ELB trace's first 14 days on a 1-minute grid and the
// floors a forecast without error would have planned on it (the pods the
// next 5 to 20 minutes need at a 70% target, 20 per pod), and the same
// at 70% of those pods: two operating points.
func elbJudged(t testing.TB) (forecast.Series, [][]int32) {
	t.Helper()
	tr, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	tr = tr.Slice(0, min(tr.Len(), 14*288))
	demand, err := Resample(tr, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	hi, lo := make([]int32, demand.Len()), make([]int32, demand.Len())
	for m := range hi {
		peak := 0.0
		for a := 5; a <= 20 && m+a < demand.Len(); a++ {
			if v := demand.Values[m+a]; !math.IsNaN(v) {
				peak = max(peak, v)
			}
		}
		hi[m] = int32(math.Ceil(peak / (20 * 0.7)))
		lo[m] = hi[m] * 7 / 10
	}
	return demand, [][]int32{hi, lo}
}

func judgedConfig() Config {
	cfg := DefaultConfig(20)
	cfg.MinReplicas, cfg.MaxReplicas = 2, 100
	return cfg
}

func relDiff(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// Replayed day by day, each day warmed up on the two hours before it, a
// comparison finds what the one replay of the whole span finds: the same
// unserved demand and replica-hours within 0.1%, so a judgement does not
// change with the cache. (Days started cold, at the pods their first
// demand needs, are 0.4-2% off on unserved demand.)
func TestReplaysMatchTheWholeSpan(t *testing.T) {
	demand, floors := elbJudged(t)
	cfg := judgedConfig()
	ctx := context.Background()
	whole, err := CompareLevels(ctx, cfg, demand, floors)
	if err != nil {
		t.Fatal(err)
	}
	r := &Replays{}
	daily, err := r.CompareLevels(ctx, cfg, demand, floors)
	if err != nil {
		t.Fatal(err)
	}
	if r.Minutes < len(floors)*demand.Len() {
		t.Fatalf("replayed %d minutes: fewer than the span's %d for each of %d levels and the HPA alone", r.Minutes, demand.Len(), len(floors))
	}
	for k := range floors {
		w, d := whole[k], daily[k]
		for _, c := range []struct {
			what      string
			got, want float64
			tol       float64
		}{
			{"HPA alone unserved", d.Reactive.UnservedFraction, w.Reactive.UnservedFraction, 1e-3},
			{"HPA alone replica-hours", d.Reactive.ReplicaHours, w.Reactive.ReplicaHours, 1e-4},
			{"floors unserved", d.Predictive.UnservedFraction, w.Predictive.UnservedFraction, 1e-3},
			{"floors replica-hours", d.Predictive.ReplicaHours, w.Predictive.ReplicaHours, 1e-4},
			{"cooler HPA unserved at equal cost", d.EqualCost.ReactiveUnserved, w.EqualCost.ReactiveUnserved, 1e-3},
		} {
			if relDiff(c.got, c.want) > c.tol {
				t.Errorf("level %d: %s day by day %.6g, whole span %.6g (more than %.2g%% apart)", k, c.what, c.got, c.want, 100*c.tol)
			}
		}
		if d.Reactive.EvaluatedMinutes != w.Reactive.EvaluatedMinutes {
			t.Errorf("level %d: %d minutes evaluated day by day, %d whole", k, d.Reactive.EvaluatedMinutes, w.Reactive.EvaluatedMinutes)
		}
		// The same UTC days, with the same demand, and the same verdict
		// day by day (PairedDays).
		if len(d.Predictive.Days) != len(w.Predictive.Days) || len(d.Predictive.Days) < 14 {
			t.Fatalf("level %d: %d days day by day, %d whole; want the 14 days and a part", k, len(d.Predictive.Days), len(w.Predictive.Days))
		}
		for i, dd := range d.Predictive.Days {
			if wd := w.Predictive.Days[i]; !dd.Day.Equal(wd.Day) || relDiff(dd.Demand, wd.Demand) > 1e-12 {
				t.Errorf("level %d: day %d is %v with demand %g day by day, %v with %g whole", k, i, dd.Day, dd.Demand, wd.Day, wd.Demand)
			}
		}
		if d.DayWins+d.DayLosses == 0 || d.DayWins != w.DayWins || d.DayLosses != w.DayLosses {
			t.Errorf("level %d: day by day the floors win %d day(s) and lose %d, whole %d and %d", k, d.DayWins, d.DayLosses, w.DayWins, w.DayLosses)
		}
	}
	if daily[0].Predictive.UnservedFraction >= daily[1].Predictive.UnservedFraction {
		t.Errorf("the higher floors leave %.4g unserved, not less than the lower ones' %.4g", daily[0].Predictive.UnservedFraction, daily[1].Predictive.UnservedFraction)
	}
}

// A day later, the judgement replays only the new day, the part-day the
// span now starts with and today's, not the 13 days it replayed the day
// before; and it finds exactly what a fresh cache finds on the same span.
func TestReplaysReplayOnlyWhatIsNew(t *testing.T) {
	demand, floors := elbJudged(t)
	cfg := judgedConfig()
	ctx := context.Background()
	day := 24 * 60
	span := demand.Len() - 2*day
	window := func(from int) (forecast.Series, [][]int32) {
		out := make([][]int32, len(floors))
		for k, f := range floors {
			out[k] = f[from+day/3 : from+day/3+span]
		}
		return demand.Slice(from+day/3, from+day/3+span), out
	}
	r := &Replays{}
	d0, f0 := window(0)
	if _, err := r.CompareLevels(ctx, cfg, d0, f0); err != nil {
		t.Fatal(err)
	}
	first := r.Minutes
	d1, f1 := window(day)
	got, err := r.CompareLevels(ctx, cfg, d1, f1)
	if err != nil {
		t.Fatal(err)
	}
	again := r.Minutes - first
	if again*4 > first {
		t.Errorf("a day later the judgement replayed %d minutes, more than a quarter of the first's %d", again, first)
	}
	fresh, err := (&Replays{}).CompareLevels(ctx, cfg, d1, f1)
	if err != nil {
		t.Fatal(err)
	}
	for k := range got {
		if !reflect.DeepEqual(got[k].Predictive, fresh[k].Predictive) || !reflect.DeepEqual(got[k].Reactive, fresh[k].Reactive) || got[k].EqualCost != fresh[k].EqualCost || got[k].DayWins != fresh[k].DayWins || got[k].DayLosses != fresh[k].DayLosses {
			t.Errorf("level %d: with the cache %+v, fresh %+v", k, got[k], fresh[k])
		}
	}

	// Floors that differ on a day already replayed (a ledger started
	// afresh) are replayed, not read from the cache.
	f1[0] = append([]int32(nil), f1[0]...)
	for m := 2 * day; m < 3*day; m++ {
		f1[0][m] += 3
	}
	changed, err := r.CompareLevels(ctx, cfg, d1, f1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := (&Replays{}).CompareLevels(ctx, cfg, d1, f1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(changed[0].Predictive, want[0].Predictive) || changed[0].Predictive.ReplicaHours <= got[0].Predictive.ReplicaHours {
		t.Errorf("floors raised on one day: %+v with the cache, %+v fresh, %+v before", changed[0].Predictive, want[0].Predictive, got[0].Predictive)
	}
	if n := len(r.entries); n > 200 {
		t.Errorf("%d entries kept: the cache is not bounded", n)
	}
}
