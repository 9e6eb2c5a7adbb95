package sim

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

// daily is n days of 1-minute demand with a daily cycle (peak at 14:00) and
// a deterministic wobble, starting at t0 (midnight UTC).
func daily(days int) forecast.Series {
	v := make([]float64, days*1440)
	for i := range v {
		h := float64(i%1440) / 60
		v[i] = 100 + 80*math.Cos((h-14)/24*2*math.Pi) + 10*math.Sin(float64(i)/7)
	}
	return minutes(v...)
}

// spy is a Strategy that checks the simulator's promise: what a strategy
// sees at now ends at least a metrics lag before now.
type spy struct {
	Strategy
	lag time.Duration
	t   *testing.T
	now time.Time
}

func (s *spy) Floor(now time.Time, observed forecast.Series) (int32, error) {
	s.now = now
	if cap(observed.Values) != observed.Len() {
		s.t.Fatalf("at %v the strategy's history can be resliced past its end (cap %d, len %d)", now, cap(observed.Values), observed.Len())
	}
	if end := observed.Time(observed.Len()); observed.Len() > 0 && end.After(now.Add(-s.lag)) {
		s.t.Fatalf("at %v the strategy saw demand up to %v, later than now - lag", now, end)
	}
	return s.Strategy.Floor(now, observed)
}

// TestNoFutureLeaks poisons the trace after T (demand ×20, and NaN) and
// checks that every decision taken before T is unchanged: the floors and
// the replicas of the predictive (with forecast.Auto itself) and schedule
// strategies are identical up to T, and differ after it (so the poison is
// seen once it is in the past).
func TestNoFutureLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("fits forecast.Auto a few hundred times")
	}
	clean := daily(4)
	cut := 3*1440 + 13*60 // day 4, 13:00: the daily ramp is under way
	poisons := map[string]func(float64) float64{
		"x20": func(v float64) float64 { return 20 * v },
		"nan": func(float64) float64 { return math.NaN() },
	}
	cfg := DefaultConfig(10)
	cfg.Record = true
	size := Sizing{Capacity: cfg.Capacity, TargetUtilization: cfg.TargetUtilization}
	current := &spy{lag: cfg.MetricsLag, t: t}
	planners := map[string]func() FloorPlanner{
		"predictive": func() FloorPlanner {
			return &ForecastPlanner{Sizing: size, Lead: cfg.LeadTime(), Window: 5 * Minute, MinHistory: 24 * time.Hour,
				Model: func(h forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
					// The model itself is fitted on the past only.
					if end := h.Time(h.Len()); end.After(current.now.Add(-cfg.MetricsLag)) {
						t.Fatalf("at %v the model was fitted on history up to %v", current.now, end)
					}
					return forecast.Auto(h, o)
				}}
		},
		"schedule": func() FloorPlanner {
			return &SchedulePlanner{Sizing: size, Lead: cfg.LeadTime(), Window: 5 * Minute}
		},
	}
	for pname, mk := range planners {
		run := func(d forecast.Series) Result {
			current.Strategy = NewFloors(pname, mk())
			res, err := Run(context.Background(), cfg, d, current)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		base := run(clean)
		if base.FloorErrors > 0 {
			t.Fatalf("%s: %d floor errors on the clean trace, last %v", pname, base.FloorErrors, base.LastFloorError)
		}
		for name, poison := range poisons {
			t.Run(pname+"/"+name, func(t *testing.T) {
				bad := minutes(append([]float64(nil), clean.Values...)...)
				for i := cut; i < bad.Len(); i++ {
					bad.Values[i] = poison(bad.Values[i])
				}
				got := run(bad)
				for m := 0; m < cut; m++ {
					if got.Timeline.Floor[m] != base.Timeline.Floor[m] || got.Timeline.Replicas[m] != base.Timeline.Replicas[m] {
						t.Fatalf("minute %d (before the poison at %d): floor %d replicas %d, clean %d and %d",
							m, cut, got.Timeline.Floor[m], got.Timeline.Replicas[m], base.Timeline.Floor[m], base.Timeline.Replicas[m])
					}
				}
				if name == "x20" && pname == "predictive" && equal(got.Timeline.Floor[cut:], base.Timeline.Floor[cut:]) {
					t.Errorf("floors after the poison are unchanged: the test would not see a leak")
				}
				if pname == "predictive" && maxOf(base.Timeline.Floor[:cut]) == 0 {
					t.Errorf("no floor before the poison: nothing was tested")
				}
			})
		}
	}
}

func equal(a, b []int32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func maxOf(a []int32) int32 {
	var m int32
	for _, v := range a {
		m = max(m, v)
	}
	return m
}

// TestForecastPlannerFloor checks the floor arithmetic with a forecaster
// whose output is known: quantile = 2 × the step index; the floor at now is
// ceil(max over [now+lead, now+lead+window] / (c × target)).
func TestForecastPlannerFloor(t *testing.T) {
	var gotH int
	var gotEnd time.Time
	fake := func(s forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		gotH, gotEnd = o.Horizon, s.Time(s.Len())
		q := make([]float64, o.Horizon)
		for i := range q {
			q[i] = 2 * float64(i)
		}
		return &forecast.Forecast{Start: s.Time(s.Len()), Step: s.Step, Mean: q, Quantiles: map[float64][]float64{0.9: q}}, nil
	}
	p := &ForecastPlanner{
		Sizing: Sizing{Capacity: 1, TargetUtilization: 0.5}, Quantile: 0.9,
		Lead: 10 * Minute, Window: 5 * Minute, Step: 5 * Minute, MinHistory: time.Hour, Model: fake,
	}
	obs := steps([2]float64{120, 1}) // two hours, t0 .. t0+2h
	now := t0.Add(2*time.Hour + Minute)
	got, err := p.Plan(now, obs)
	if err != nil {
		t.Fatal(err)
	}
	// History ends at t0+2h (24 complete 5-minute buckets); the forecast
	// starts there. [now+10m, now+15m] = [2:11, 2:16] touches steps 2
	// (2:10-2:15) and 3 (2:15-2:20): max 6 → ceil(6 / 0.5) = 12.
	if !gotEnd.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("history ends %v, want %v", gotEnd, t0.Add(2*time.Hour))
	}
	if got != 12 {
		t.Errorf("floor %d, want 12", got)
	}
	// The horizon reaches past the last decision before the next refit.
	if end := t0.Add(2*time.Hour + time.Duration(gotH)*p.Step); end.Before(now.Add(p.Refit + p.Lead + p.Window)) {
		t.Errorf("horizon %d steps ends %v, before %v", gotH, end, now.Add(p.Refit+p.Lead+p.Window))
	}
	// Without a refit, a later decision reads further along the same fit:
	// at 2:06, [2:16, 2:21] → steps 3 and 4: max 8 → 16.
	if got, _ := p.Plan(now.Add(5*Minute), obs); got != 16 {
		t.Errorf("floor 5 minutes later %d, want 16", got)
	}
	// An absurd forecast (over ten times the peak seen) is refused.
	p2 := *p
	p2.fc = nil
	p2.Model = func(s forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		f, _ := fake(s, o)
		f.Quantiles[0.9][3] = math.Inf(1)
		return f, nil
	}
	if _, err := p2.Plan(now, obs); err == nil {
		t.Errorf("an Inf in the window was accepted")
	}
}

func TestForecastPlannerWaitsForHistory(t *testing.T) {
	called := false
	p := &ForecastPlanner{Sizing: Sizing{Capacity: 1, TargetUtilization: 1}, MinHistory: 3 * time.Hour,
		Model: func(forecast.Series, forecast.Options) (*forecast.Forecast, error) {
			called = true
			return nil, fmt.Errorf("unexpected")
		}}
	if got, err := p.Plan(t0.Add(2*time.Hour), steps([2]float64{120, 5})); got != 0 || err != nil || called {
		t.Errorf("with 2h of 3h history: floor %d, err %v, forecaster called %v; want 0, nil, false", got, err, called)
	}
}

// TestBucketer: extending prefix by prefix gives the same complete buckets
// as one pass, and an incomplete bucket is never exposed.
func TestBucketer(t *testing.T) {
	d := daily(1)
	d.Values[7] = math.NaN()
	var once bucketer
	once.extend(d.Slice(0, 1440), 5*Minute)
	var inc bucketer
	for n := 0; n <= 1440; n += 7 {
		inc.extend(forecast.Series{Start: d.Start, Step: d.Step, Values: d.Values[:n]}, 5*Minute)
		if got := inc.series().Len(); got != n/5 {
			t.Fatalf("after %d minutes: %d buckets, want %d", n, got, n/5)
		}
	}
	inc.extend(d, 5*Minute)
	a, b := once.series(), inc.series()
	if a.Len() != 288 || b.Len() != 288 {
		t.Fatalf("buckets %d and %d, want 288", a.Len(), b.Len())
	}
	for i := range a.Values {
		if a.Values[i] != b.Values[i] {
			t.Fatalf("bucket %d: %v one pass, %v incremental", i, a.Values[i], b.Values[i])
		}
	}
	// Bucket 1 (minutes 5-9) skips the NaN at minute 7.
	want := (d.Values[5] + d.Values[6] + d.Values[8] + d.Values[9]) / 4
	if math.Abs(a.Values[1]-want) > 1e-12 {
		t.Errorf("bucket 1 = %v, want %v", a.Values[1], want)
	}
}

// TestSchedulePlanner: a day with a peak of 50 at 10:00-10:15 sets, on the
// next day, a floor of ceil(50 / (1 × 0.5)) = 100 from 10:00 minus the
// lead; the first day has no floor (no past), and far from the peak the
// floor is the night's level.
func TestSchedulePlanner(t *testing.T) {
	d := steps([2]float64{600, 10}, [2]float64{15, 50}, [2]float64{825, 10}, [2]float64{1440, 10})
	p := &SchedulePlanner{Sizing: Sizing{Capacity: 1, TargetUtilization: 0.5}, Lead: 5 * Minute, Window: 5 * Minute}
	at := func(m int) int32 {
		now := t0.Add(time.Duration(m) * Minute)
		got, err := p.Plan(now, d.Slice(0, m-1))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		minute int
		want   int32
	}{
		{595, 0},         // day 1: nothing known
		{1440 + 2, 20},   // day 2 just after midnight: night level 10 → 20
		{1440 + 585, 20}, // 09:45: [09:50, 09:55] still before the peak slot
		{1440 + 590, 100},
		{1440 + 605, 100}, // 10:05: [10:10, 10:15] in the peak slot
		{1440 + 611, 20},  // 10:11: [10:16, 10:21] after it
	}
	for _, tt := range tests {
		if got := at(tt.minute); got != tt.want {
			t.Errorf("minute %d: floor %d, want %d", tt.minute, got, tt.want)
		}
	}
}

// TestPerfectForecastBound: floors from the demand's own future serve a
// daily jump that the HPA alone does not keep up with, at a cost
// between reactive's and the HPA's target above the oracle's; and the bound
// refuses to pose as a policy's forecast.
func TestPerfectForecastBound(t *testing.T) {
	v := dailyJump(4)
	rep, err := Backtest(context.Background(), v, Setup{PerfectForecast: true, Warmup: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := rep.Result("reactive")
	p, _ := rep.Result("predictive")
	o, _ := rep.Result("oracle")
	t.Logf("unserved reactive %.4f perfect %.6f; replica-hours reactive %.1f perfect %.1f oracle %.1f", r.UnservedFraction, p.UnservedFraction, r.ReplicaHours, p.ReplicaHours, o.ReplicaHours)
	if r.UnservedFraction < 1e-3 {
		t.Fatalf("reactive leaves %.5f unserved: the jump does not test anything", r.UnservedFraction)
	}
	if p.UnservedFraction > 1e-6 {
		t.Errorf("perfect-forecast floors leave %.6f unserved, want none (reactive %.4f)", p.UnservedFraction, r.UnservedFraction)
	}
	// Floors sized at the HPA's target cost at most what the target costs
	// over the oracle, plus the lead time's early start each day.
	if p.ReplicaHours > o.ReplicaHours/0.7*1.1 || p.ReplicaHours < r.ReplicaHours {
		t.Errorf("replica-hours: perfect %.1f, reactive %.1f, oracle %.1f", p.ReplicaHours, r.ReplicaHours, o.ReplicaHours)
	}
	if _, err := Backtest(context.Background(), v, Setup{PerfectForecast: true, Predictive: &scripted{}}); err == nil {
		t.Error("a perfect forecast combined with another planner was accepted")
	}
}

// TestScaleError: a forecast's error against the demand it forecasts is
// scaled in log terms (linearly where a value is 0), its mean and every
// quantile alike; steps the demand does not cover keep their values, and
// the forecast given is left as it was.
func TestScaleError(t *testing.T) {
	truth := minutes(100, 100, 100, 100, 100, 300, 300, 300, 300, 300, math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN())
	fc := &forecast.Forecast{Start: t0, Step: 5 * time.Minute,
		Mean:      []float64{400, 0, 50, 400},
		Quantiles: map[float64][]float64{0.9: {800, 75, 60, 500}}}
	got := scaleError(fc, truth, 0.5)
	want := map[string][]float64{
		// 100·(400/100)^0.5; 300 + 0.5·(0 − 300); no sample, beyond.
		"mean": {200, 150, 50, 400},
		"q0.9": {100 * math.Sqrt(8), 150, 60, 500},
	}
	for name, w := range want {
		g := got.Mean
		if name == "q0.9" {
			g = got.Quantiles[0.9]
		}
		for i := range w {
			if math.Abs(g[i]-w[i]) > 1e-9 {
				t.Errorf("%s[%d] = %v, want %v", name, i, g[i], w[i])
			}
		}
	}
	if fc.Mean[0] != 400 || fc.Quantiles[0.9][0] != 800 {
		t.Errorf("the forecast given was changed: mean %v, q0.9 %v", fc.Mean, fc.Quantiles[0.9])
	}
}

// TestForecastErrorBound: floors from a forecast that never sees a daily
// jump do nothing for it; with 5% of that forecast's error left they
// serve nearly all of it, as the perfect forecast does. The bound refuses
// to combine with the perfect forecast or a value outside (0, 1].
func TestForecastErrorBound(t *testing.T) {
	v := dailyJump(5)
	flat := func(h forecast.Series, o forecast.Options) (*forecast.Forecast, error) {
		fc := &forecast.Forecast{Start: h.Time(h.Len()), Step: h.Step, Mean: make([]float64, o.Horizon), Quantiles: map[float64][]float64{}}
		for i := range fc.Mean {
			fc.Mean[i] = 40
		}
		for _, q := range o.Quantiles {
			fc.Quantiles[q] = fc.Mean
		}
		return fc, nil
	}
	unserved := func(e float64) (reactive, predictive float64) {
		t.Helper()
		rep, err := Backtest(context.Background(), v, Setup{Forecast: flat, ForecastError: e, Warmup: 48 * time.Hour, NoSweep: true})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := rep.Result("reactive")
		p, _ := rep.Result("predictive")
		return r.UnservedFraction, p.UnservedFraction
	}
	r, real := unserved(0)
	_, bound := unserved(0.05)
	t.Logf("unserved: reactive %.5f, flat forecast %.5f, with 5%% of its error %.6f", r, real, bound)
	if r < 1e-3 {
		t.Fatalf("reactive leaves %.5f unserved: the jump does not test anything", r)
	}
	if real < 0.9*r {
		t.Errorf("floors from a flat forecast leave %.5f unserved against reactive's %.5f; want about as much", real, r)
	}
	if bound > 0.1*r {
		t.Errorf("floors from the flat forecast with 5%% of its error leave %.5f unserved against reactive's %.5f; want under a tenth", bound, r)
	}
	for _, s := range []Setup{{ForecastError: 0.5, PerfectForecast: true}, {ForecastError: 1.5}, {ForecastError: -0.1}, {ForecastError: 0.5, Predictive: &scripted{}}} {
		if _, err := Backtest(context.Background(), v, s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
