package forecast

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// etsTestInput builds an Input on a UTC grid from start, with slots of the
// given seasons computed in loc.
func etsTestInput(values []float64, start time.Time, step time.Duration, loc *time.Location, seasons []Season, h int) *Input {
	nonNeg := true
	for _, v := range values {
		if v < 0 {
			nonNeg = false
		}
	}
	return &Input{
		Series:      Series{Start: start, Step: step, Values: values},
		Horizon:     h,
		Seasons:     seasons,
		Slots:       slotTimes(start, step, len(values)+h, loc, seasons),
		NonNegative: nonNeg,
	}
}

// etsSynthetic is a seasonal series with a linear trend: level(i) plus (or
// times) a daily profile with a sharp morning peak, so that a wrong seasonal
// phase costs a lot. It returns n+h noise-free values and n noisy ones.
func etsSynthetic(n, h, period int, mul bool, noise float64, seed uint64) (truth, obs []float64) {
	r := rand.New(rand.NewPCG(seed, 7))
	truth = make([]float64, n+h)
	obs = make([]float64, n)
	for i := range truth {
		phase := 2 * math.Pi * float64(i%period) / float64(period)
		shape := math.Sin(phase) + 0.5*math.Cos(2*phase) // mean 0, range about ±1.3
		level := 100 + 0.05*float64(i)*24/float64(period)
		if mul {
			truth[i] = level * (1 + 0.5*shape)
		} else {
			truth[i] = level + 40*shape
		}
		if i < n {
			obs[i] = truth[i] + noise*r.NormFloat64()
		}
	}
	return truth, obs
}

var etsDaily = []Season{{"daily", 24}}

var etsStart = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

// etsMAE is the mean absolute error of f against truth, skipping gaps.
func etsMAE(f, truth []float64) float64 {
	var s float64
	var n int
	for i := range f {
		if !math.IsNaN(truth[i]) {
			s += math.Abs(f[i] - truth[i])
			n++
		}
	}
	return s / float64(n)
}

func TestETSRecoversSeasonalPattern(t *testing.T) {
	const n, h = 24 * 28, 48
	tests := []struct {
		name     string
		mul      bool
		model    ETS
		wantForm string // substring of Detail; "" to skip
		maxRel   float64
	}{
		{"additive auto", false, ETS{}, ",A)", 0.05},
		{"additive damped", false, ETS{Trend: TrendDamped, Seasonal: SeasonalAdditive}, "ets(A,Ad,A)", 0.05},
		{"multiplicative auto", true, ETS{}, ",M)", 0.05},
		{"multiplicative damped", true, ETS{Trend: TrendDamped, Seasonal: SeasonalMultiplicative}, "ets(A,Ad,M)", 0.05},
		{"multiplicative data, additive model", true, ETS{Seasonal: SeasonalAdditive}, ",A)", 0.10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			truth, obs := etsSynthetic(n, h, 24, tc.mul, 2, 1)
			in := etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, h)
			fit, err := tc.model.Fit(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(fit.Mean) != h {
				t.Fatalf("got %d steps, want %d", len(fit.Mean), h)
			}
			// Error relative to the seasonal amplitude (about 40 units at
			// the forecast origin for both kinds).
			rel := etsMAE(fit.Mean, truth[n:]) / 40
			t.Logf("%s: MAE/amplitude %.4f", fit.Detail, rel)
			if rel > tc.maxRel {
				t.Errorf("MAE/amplitude %.4f > %.2f (%s)", rel, tc.maxRel, fit.Detail)
			}
			if !strings.Contains(fit.Detail, tc.wantForm) {
				t.Errorf("detail %q does not name form %q", fit.Detail, tc.wantForm)
			}
		})
	}
}

func TestETSConstantSeries(t *testing.T) {
	for _, c := range []float64{0, 3, 1234.5} {
		for _, model := range []ETS{{}, {Trend: TrendDamped, Seasonal: SeasonalMultiplicative}, {Seasonal: SeasonalNone}} {
			v := make([]float64, 24*10)
			for i := range v {
				v[i] = c
			}
			fit, err := model.Fit(etsTestInput(v, etsStart, time.Hour, time.UTC, etsDaily, 30))
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range fit.Mean {
				if math.Abs(f-c) > 1e-9*max(1, c) {
					t.Fatalf("constant %g, model %+v: step %d = %g (%s)", c, model, i, f, fit.Detail)
				}
			}
		}
	}
}

func TestETSSkipsGaps(t *testing.T) {
	const n, h = 24 * 21, 24
	truth, obs := etsSynthetic(n, h, 24, false, 2, 3)
	full, err := ETS{}.Fit(etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, h))
	if err != nil {
		t.Fatal(err)
	}
	gappy := make([]float64, n)
	copy(gappy, obs)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range gappy {
		if r.Float64() < 0.25 {
			gappy[i] = math.NaN()
		}
	}
	// A whole day missing, and the last three hours.
	for i := 24 * 10; i < 24*11; i++ {
		gappy[i] = math.NaN()
	}
	for i := n - 3; i < n; i++ {
		gappy[i] = math.NaN()
	}
	fit, err := ETS{}.Fit(etsTestInput(gappy, etsStart, time.Hour, time.UTC, etsDaily, h))
	if err != nil {
		t.Fatal(err)
	}
	relFull := etsMAE(full.Mean, truth[n:]) / 40
	relGap := etsMAE(fit.Mean, truth[n:]) / 40
	t.Logf("full %.4f (%s), with gaps %.4f (%s)", relFull, full.Detail, relGap, fit.Detail)
	if relGap > 0.06 {
		t.Errorf("with gaps: MAE/amplitude %.4f > 0.06", relGap)
	}
	// Read as zeros, the same gaps would wreck the fit: the test can tell.
	zeros := make([]float64, n)
	for i, v := range gappy {
		if !math.IsNaN(v) {
			zeros[i] = v
		}
	}
	zfit, err := ETS{}.Fit(etsTestInput(zeros, etsStart, time.Hour, time.UTC, etsDaily, h))
	if err != nil {
		t.Fatal(err)
	}
	if relZero := etsMAE(zfit.Mean, truth[n:]) / 40; relZero < 2*relGap {
		t.Errorf("gaps read as zeros forecast as well (%.4f) as gaps skipped (%.4f): test cannot tell", relZero, relGap)
	}
}

func TestETSOutageDoesNotPoisonProfile(t *testing.T) {
	// Half a day of zeros in 21 days of hourly data or 14 days of 5-minute
	// data: in the initialisation seasons, mid-history, ending a day before
	// the forecast origin and ending just before it. The forecast is
	// compared with that of the same series without the outage, relative to
	// the seasonal amplitude (about 60 units at the end).
	tests := []struct {
		name   string
		period int
		step   time.Duration
		days   int
		from   func(n, p int) int
		maxRel float64
	}{
		{"hourly, initial seasons", 24, time.Hour, 21, func(n, p int) int { return p + 6 }, 0.05},
		{"hourly, mid-history", 24, time.Hour, 21, func(n, p int) int { return n / 2 }, 0.05},
		{"hourly, ended a day before", 24, time.Hour, 21, func(n, p int) int { return n - 3*p/2 }, 0.05},
		{"5-minute, initial seasons of the window", 288, 5 * time.Minute, 14, func(n, p int) int { return n - 2000 + 10 }, 0.05},
		{"5-minute, mid-window", 288, 5 * time.Minute, 14, func(n, p int) int { return n - 1000 }, 0.05},
		{"5-minute, ended a day before", 288, 5 * time.Minute, 14, func(n, p int) int { return n - 3*p/2 }, 0.05},
		// Traffic back for four hours. The weak spot, with a looser bound:
		// the zeros rule out the multiplicative form the clean series
		// gets, and the refit picks a damped trend that the clean fit
		// does not (about 10 units, 8%, above the clean forecast).
		{"5-minute, ended 4 hours before", 288, 5 * time.Minute, 14, func(n, p int) int { return n - p/2 - 48 }, 0.2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, p := tc.days*tc.period, tc.period
			_, obs := etsSynthetic(n, p, p, true, 2, 5)
			seasons := []Season{{"daily", p}}
			clean, err := ETS{}.Fit(etsTestInput(obs, etsStart, tc.step, time.UTC, seasons, p))
			if err != nil {
				t.Fatal(err)
			}
			v := slices.Clone(obs)
			from := tc.from(n, p)
			for i := from; i < from+p/2; i++ {
				v[i] = 0
			}
			var rel [2]float64
			for j, model := range []ETS{{}, {plain: true}} {
				fit, err := model.Fit(etsTestInput(v, etsStart, tc.step, time.UTC, seasons, p))
				if err != nil {
					t.Fatal(err)
				}
				rel[j] = etsMAE(fit.Mean, clean.Mean) / 60
				t.Logf("robust=%v: deviation/amplitude %.4f (%s)", j == 0, rel[j], fit.Detail)
			}
			if rel[0] > tc.maxRel {
				t.Errorf("the outage moved the forecast by %.4f of the amplitude, want at most %.2f", rel[0], tc.maxRel)
			}
		})
	}
}

func TestETSRobustToSpike(t *testing.T) {
	const n, h = 24 * 21, 24
	truth, obs := etsSynthetic(n, h, 24, false, 2, 11)
	for _, at := range []int{n - 1, n - 5, n / 2} {
		v := make([]float64, n)
		copy(v, obs)
		v[at] = 50 * obs[at]
		robust, err := ETS{}.Fit(etsTestInput(v, etsStart, time.Hour, time.UTC, etsDaily, h))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := ETS{plain: true}.Fit(etsTestInput(v, etsStart, time.Hour, time.UTC, etsDaily, h))
		if err != nil {
			t.Fatal(err)
		}
		r := etsMAE(robust.Mean, truth[n:]) / 40
		p := etsMAE(plain.Mean, truth[n:]) / 40
		t.Logf("spike at %d: robust %.4f (%s), plain %.4f (%s)", at, r, robust.Detail, p, plain.Detail)
		if r > 0.1 {
			t.Errorf("spike at %d: robust MAE/amplitude %.4f > 0.1", at, r)
		}
		if at >= n-5 && p < 2*r {
			t.Errorf("spike at %d: the plain fit (%.4f) is not worse than the robust one (%.4f): clipping not shown to matter", at, p, r)
		}
	}
}

func TestETSShortSeriesFallsBack(t *testing.T) {
	_, obs := etsSynthetic(36, 0, 24, false, 1, 2)
	fit, err := ETS{}.Fit(etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 12))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fit.Detail, "no seasonality") || !strings.Contains(fit.Detail, ",N)") {
		t.Errorf("detail %q does not say the season was dropped", fit.Detail)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range obs {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i, v := range fit.Mean {
		// A damped trend cannot leave the observed range by much in 12 steps.
		if math.IsNaN(v) || v < lo-(hi-lo) || v > hi+(hi-lo) {
			t.Errorf("step %d: %g outside [%g, %g] widened", i, v, lo, hi)
		}
	}
}

func TestETSMultiplicativeNeedsPositiveData(t *testing.T) {
	_, obs := etsSynthetic(24*14, 0, 24, true, 1, 4)
	obs[30] = 0
	fit, err := ETS{Seasonal: SeasonalMultiplicative}.Fit(etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 24))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fit.Detail, ",A)") || !strings.Contains(fit.Detail, "additive") {
		t.Errorf("detail %q: want a fallback to additive, said", fit.Detail)
	}
}

func TestETSNonNegativeClipping(t *testing.T) {
	// A series whose daily troughs have just gone below zero, so that the
	// forecast does too unless clipped; NonNegative is set by hand.
	const n, h = 24 * 10, 72
	v := make([]float64, n)
	for i := range v {
		v[i] = 0.1*float64(n-i) + 3*math.Sin(2*math.Pi*float64(i)/24) - 1
	}
	for _, nonNeg := range []bool{false, true} {
		in := etsTestInput(v, etsStart, time.Hour, time.UTC, etsDaily, h)
		in.NonNegative = nonNeg
		fit, err := ETS{Trend: TrendDamped, Seasonal: SeasonalAdditive}.Fit(in)
		if err != nil {
			t.Fatal(err)
		}
		neg := 0
		for _, f := range fit.Mean {
			if f < 0 {
				neg++
			}
		}
		if nonNeg && neg > 0 {
			t.Errorf("NonNegative: %d negative steps", neg)
		}
		if !nonNeg && neg == 0 {
			t.Errorf("without NonNegative no step is negative: the clipping test cannot fail")
		}
	}
}

func TestETSNothingObserved(t *testing.T) {
	v := []float64{math.NaN(), math.NaN(), math.NaN()}
	if _, err := (ETS{}).Fit(etsTestInput(v, etsStart, time.Hour, time.UTC, etsDaily, 4)); err == nil {
		t.Error("no error for a series without observations")
	}
}

// TestETSLocalTimeAcrossDST checks that a morning peak in New York local time
// is forecast at the same local time after the March and the November
// changes, i.e. that the seasonal state follows Input.Slots, not i mod 48.
func TestETSLocalTimeAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal("no tz data:", err)
	}
	seasons := []Season{{"daily", 48}}
	for _, change := range []time.Time{
		time.Date(2025, 3, 9, 12, 0, 0, 0, ny),
		time.Date(2025, 11, 2, 12, 0, 0, 0, ny),
	} {
		// History of 14 days ending 3 days after the change; the peak is
		// at 09:30-10:00 local time every day.
		start := change.AddDate(0, 0, -11).Truncate(24 * time.Hour)
		const n, h = 48 * 14, 48
		v := make([]float64, n)
		for i := range v {
			lt := start.Add(time.Duration(i) * 30 * time.Minute).In(ny)
			v[i] = 10
			if lt.Hour() == 9 && lt.Minute() == 30 {
				v[i] = 100
			}
		}
		in := etsTestInput(v, start, 30*time.Minute, ny, seasons, h)
		fit, err := ETS{}.Fit(in)
		if err != nil {
			t.Fatal(err)
		}
		peak := 0
		for i, f := range fit.Mean {
			if f > fit.Mean[peak] {
				peak = i
			}
		}
		lt := in.Time(n + peak).In(ny)
		if lt.Hour() != 9 || lt.Minute() != 30 {
			t.Errorf("change %s: forecast peak at %s local, want 09:30 (%s)", change.Format("Jan 2"), lt.Format("15:04"), fit.Detail)
		}
	}
}

// TestETSNYCTaxi checks ETS against the seasonal naive forecasts on a real
// half-hourly trace, one day ahead from many origins, in New York time.
//
// With the daily state (the default) ETS does not beat the daily seasonal
// naive here (about 1.15 times its error): taxi demand has a weekly rhythm
// that a daily profile cannot hold, while "same as yesterday" is right four
// days a week. The weekly state (Season: -1) is the one that beats both
// baselines, by half and by an eighth.
func TestETSNYCTaxi(t *testing.T) {
	// The same file as ../shared/data/nab_realKnownCause/nyc_taxi.csv,
	// kept in the repository (testdata/README.md has its licence): a test
	// that needs it fails when it is missing.
	const path = "../testdata/nyc_taxi.csv"
	s, err := etsReadTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal("no tz data:", err)
	}
	seasons := []Season{{"daily", 48}, {"weekly", 336}}
	const h = 48
	slots := slotTimes(s.Start, s.Step, s.Len()+h, ny, seasons)
	full := &Input{Series: s, Seasons: seasons, Slots: slots, NonNegative: true}
	tests := []struct {
		name string
		ets  ETS
		// Most the ETS MAE may be, as a fraction of each naive's.
		maxDaily, maxWeekly float64
	}{
		// The daily state is the wrong model for weekly demand: weekend
		// days are runs of outliers to it, taken for changes of level.
		// This only guards against it getting worse.
		{"daily state", ETS{}, 1.20, math.Inf(1)},
		{"weekly state", ETS{Season: -1}, 0.80, 0.95},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var maeETS, maeDaily, maeWeekly float64
			origins := 0
			// Origins every 61 half-hours from day 15 to the end, so they
			// fall on every weekday and at many times of day; the
			// marathon, the holidays and the January blizzard are in
			// range on purpose.
			for o := s.Len() - h; o >= 15*48; o -= 61 {
				in := full.Truncate(o, h)
				ef, err := tc.ets.Fit(in)
				if err != nil {
					t.Fatal(err)
				}
				df, err := SeasonalNaive{Season: 0}.Fit(in)
				if err != nil {
					t.Fatal(err)
				}
				wf, err := SeasonalNaive{Season: 1}.Fit(in)
				if err != nil {
					t.Fatal(err)
				}
				actual := s.Values[o : o+h]
				maeETS += etsMAE(ef.Mean, actual)
				maeDaily += etsMAE(df.Mean, actual)
				maeWeekly += etsMAE(wf.Mean, actual)
				origins++
			}
			rd, rw := maeETS/maeDaily, maeETS/maeWeekly
			t.Logf("nyc_taxi, %d origins, horizon %d: MAE ets/snaive(daily) = %.3f, ets/snaive(weekly) = %.3f", origins, h, rd, rw)
			if !(rd <= tc.maxDaily) {
				t.Errorf("MAE ratio to the daily seasonal naive %.3f > %.2f", rd, tc.maxDaily)
			}
			if !(rw <= tc.maxWeekly) {
				t.Errorf("MAE ratio to the weekly seasonal naive %.3f > %.2f", rw, tc.maxWeekly)
			}
		})
	}
}

// etsReadTrace reads a timestamp,value CSV with RFC 3339 times on a regular
// grid (enough for the NAB files; the real reader is metrics/trace).
func etsReadTrace(path string) (Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return Series{}, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return Series{}, err
	}
	var s Series
	for i, row := range rows[1:] {
		ts, err := time.Parse(time.RFC3339, row[0])
		if err != nil {
			return Series{}, err
		}
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			return Series{}, err
		}
		switch i {
		case 0:
			s.Start = ts
		case 1:
			s.Step = ts.Sub(s.Start)
		}
		if i > 1 {
			// Fill missing rows with gaps so the grid stays regular.
			for s.Time(len(s.Values)).Before(ts) {
				s.Values = append(s.Values, math.NaN())
			}
		}
		s.Values = append(s.Values, v)
	}
	return s, nil
}

func TestETSSeasonChoice(t *testing.T) {
	seasons := []Season{{"daily", 24}, {"weekly", 168}}
	tests := []struct {
		name   string
		n      int
		season int
		want   string // in Detail
	}{
		{"default is the shortest", 24 * 21, 0, "daily=24"},
		{"longest with two cycles", 24 * 21, -1, "weekly=168"},
		{"longest falls back when the week does not fit twice", 24 * 10, -1, "daily=24"},
		{"index beyond the seasons means the last", 24 * 21, 7, "weekly=168"},
		{"explicit second season too short: no seasonality", 24 * 10, 1, "no seasonality"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, obs := etsSynthetic(tc.n, 0, 24, false, 1, 8)
			fit, err := ETS{Season: tc.season}.Fit(etsTestInput(obs, etsStart, time.Hour, time.UTC, seasons, 24))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(fit.Detail, tc.want) {
				t.Errorf("detail %q, want it to contain %q", fit.Detail, tc.want)
			}
		})
	}
}

func TestETSWindowAndEdgeCases(t *testing.T) {
	// A long history is fitted on its recent part only.
	_, obs := etsSynthetic(24*200, 0, 24, false, 1, 12)
	fit, err := ETS{}.Fit(etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 24))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fit.Detail, "window=2000 ") {
		t.Errorf("detail %q: want a window of 2000 points", fit.Detail)
	}

	// Without slots, the season falls back to grid positions and says so.
	truth, obs := etsSynthetic(24*14, 24, 24, false, 1, 13)
	in := etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 24)
	in.Slots = nil
	fit, err = ETS{}.Fit(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fit.Detail, "no valid slots") {
		t.Errorf("detail %q does not mention the missing slots", fit.Detail)
	}
	if rel := etsMAE(fit.Mean, truth[24*14:]) / 40; rel > 0.05 {
		t.Errorf("grid-position season: MAE/amplitude %.3f", rel)
	}
	// A slot out of range is treated the same, not a crash.
	in = etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 24)
	in.Slots[0][5] = 24
	fit, err = ETS{}.Fit(in)
	if err != nil || !strings.Contains(fit.Detail, "no valid slots") {
		t.Errorf("slot out of range: detail %q, error %v", fit.Detail, err)
	}

	// Horizon 0 gives an empty forecast; a negative one is an error.
	in = etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 0)
	if fit, err := (ETS{}).Fit(in); err != nil || len(fit.Mean) != 0 {
		t.Errorf("horizon 0: %d steps, error %v", len(fit.Mean), err)
	}
	in.Horizon = -1
	if _, err := (ETS{}).Fit(in); err == nil {
		t.Error("negative horizon: no error")
	}
}

func TestETSSane(t *testing.T) {
	tests := []struct {
		f      []float64
		lo, hi float64
		want   bool
	}{
		{[]float64{1, 5, 10}, 0, 10, true},
		{[]float64{-19, 29}, 0, 10, true},                  // within two widths
		{[]float64{31}, 0, 10, false},                      // diverged upwards
		{[]float64{-21}, 0, 10, false},                     // and downwards
		{[]float64{math.NaN()}, 0, 10, false},              // not finite
		{[]float64{math.Inf(1)}, 0, 10, false},             // not finite
		{[]float64{7, 7}, 7, 7, true},                      // constant
		{[]float64{7 * (1 + 1e-12)}, 7, 7, true},           // rounding on a constant
		{[]float64{7.1}, 7, 7, false},                      // off a constant
		{[]float64{1e6 + 0.4}, 1e6 - 0.1, 1e6 + 0.1, true}, // narrow range, within 2 widths
	}
	for _, tc := range tests {
		if got := etsSane(tc.f, tc.lo, tc.hi); got != tc.want {
			t.Errorf("etsSane(%v, %g, %g) = %v, want %v", tc.f, tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestETSMedian(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 3, 4, 17, 18, 100, 1001, 5000} {
		for _, dups := range []bool{false, true} {
			x := make([]float64, n)
			for i := range x {
				x[i] = r.NormFloat64()
				if dups {
					x[i] = float64(r.IntN(5))
				}
			}
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			want := math.NaN()
			if n > 0 {
				want = (sorted[(n-1)/2] + sorted[n/2]) / 2
			}
			got := etsMedian(x)
			if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("n=%d dups=%v: median %g, want %g", n, dups, got, want)
			}
		}
	}
}

// TestETSFollowsLevelShift checks the other side of the robustness: demand
// that doubles and stays doubled is a change of level, not an outlier, and
// the forecast follows it within a day and a half.
func TestETSFollowsLevelShift(t *testing.T) {
	for _, c := range []struct {
		period int
		step   time.Duration
		days   int
	}{{24, time.Hour, 21}, {288, 5 * time.Minute, 14}} {
		n, p := c.days*c.period, c.period
		truth, obs := etsSynthetic(n, p, p, true, 2, 21)
		shift := n - 3*p/2
		for i := shift; i < n; i++ {
			obs[i] *= 2
		}
		fit, err := ETS{}.Fit(etsTestInput(obs, etsStart, c.step, time.UTC, []Season{{"daily", p}}, p))
		if err != nil {
			t.Fatal(err)
		}
		var got, want float64
		for i, f := range fit.Mean {
			got += f
			want += 2 * truth[n+i]
		}
		t.Logf("period %d: forecast mean %.1f, doubled truth %.1f (%s)", p, got/float64(p), want/float64(p), fit.Detail)
		if got < 0.85*want {
			t.Errorf("period %d: forecast mean %.1f, want near the doubled level %.1f", p, got/float64(p), want/float64(p))
		}
	}
}

// TestETSInitialProfileIgnoresOutage compares the initial seasonal profile
// computed with and without half a day of zeros in the initialisation
// seasons, for both seasonal kinds.
func TestETSInitialProfileIgnoresOutage(t *testing.T) {
	const p = 24
	_, obs := etsSynthetic(6*p, 0, p, true, 2, 31)
	in := etsTestInput(obs, etsStart, time.Hour, time.UTC, etsDaily, 0)
	out := slices.Clone(obs)
	for i := p + 8; i < p+20; i++ { // the busy half of day two
		out[i] = 0
	}
	for _, mul := range []bool{false, true} {
		clean := etsInitialStates(obs, in.Slots[0], p, mul)
		dirty := etsInitialStates(out, in.Slots[0], p, mul)
		var worst float64
		for k := range p {
			d := dirty.season[k] - clean.season[k]
			if mul {
				d *= clean.level // factor to data units
			}
			worst = max(worst, math.Abs(d))
		}
		// The profile spans about ±60 units; noise alone moves it by a
		// few.
		t.Logf("mul=%v: largest profile change %.2f, levels %.1f and %.1f", mul, worst, clean.level, dirty.level)
		if worst > 5 {
			t.Errorf("mul=%v: the outage moved the initial profile by up to %.2f", mul, worst)
		}
		if math.Abs(dirty.level-clean.level) > 3 {
			t.Errorf("mul=%v: the outage moved the initial level from %.1f to %.1f", mul, clean.level, dirty.level)
		}
	}
}
