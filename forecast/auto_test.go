package forecast_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// marketSeries is 5-minute demand with the US market's shape: 100 at night,
// 1000 during regular hours (09:30 to 16:00 New York time) on weekdays.
func marketSeries(start, end time.Time) forecast.Series {
	var v []float64
	for t := start; t.Before(end); t = t.Add(5 * time.Minute) {
		v = append(v, marketDemand(t))
	}
	return forecast.Series{Start: start, Step: 5 * time.Minute, Values: v}
}

func marketDemand(t time.Time) float64 {
	l := t.In(newYork)
	min := l.Hour()*60 + l.Minute()
	if l.Weekday() != time.Saturday && l.Weekday() != time.Sunday && min >= 9*60+30 && min < 16*60 {
		return 1000
	}
	return 100
}

// TestDSTOpenStaysLocal: a 09:30 New York open, learnt before a DST change,
// is forecast at 09:30 New York time after it, in March and in November.
func TestDSTOpenStaysLocal(t *testing.T) {
	cases := []struct {
		name       string
		histEnd    time.Time // Friday evening before the change
		openAfter  time.Time // Monday 09:30 after the change, in UTC
		offsetHour int       // UTC offset after the change
	}{
		{"march", time.Date(2024, 3, 8, 21, 0, 0, 0, time.UTC), time.Date(2024, 3, 11, 13, 30, 0, 0, time.UTC), -4},
		{"november", time.Date(2024, 11, 1, 21, 0, 0, 0, time.UTC), time.Date(2024, 11, 4, 14, 30, 0, 0, time.UTC), -5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := marketSeries(c.histEnd.Add(-28*24*time.Hour), c.histEnd)
			h := int(c.openAfter.Add(7*time.Hour).Sub(s.Time(s.Len())) / (5 * time.Minute))
			for _, tz := range []struct {
				loc  *time.Location
				want bool // whether the open lands on time
			}{{newYork, true}, {time.UTC, false}} {
				f, err := forecast.Auto(s, forecast.Options{Horizon: h, Location: tz.loc})
				if err != nil {
					t.Fatal(err)
				}
				at := func(u time.Time) float64 { return f.Mean[int(u.Sub(f.Start)/f.Step)] }
				open, before := at(c.openAfter), at(c.openAfter.Add(-5*time.Minute))
				onTime := open > 700 && before < 400
				if onTime != tz.want {
					t.Errorf("zone %s: forecast at 09:30 local %.0f, at 09:25 %.0f; open on time = %v, want %v (model %s)",
						tz.loc, open, before, onTime, tz.want, f.Model)
				}
				if _, off := c.openAfter.In(newYork).Zone(); off/3600 != c.offsetHour {
					t.Fatalf("test setup: offset %d", off/3600)
				}
			}
		})
	}
}

// TestOutageDoesNotPoisonProfile: half a day of zeros in the history (an
// outage of the metrics pipeline or of the service) a week before the
// forecast day does not drag the forecast of that day down.
func TestOutageDoesNotPoisonProfile(t *testing.T) {
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	s = s.Slice(0, 48*7*8) // eight weeks
	clean := forecast.Options{Horizon: 48, Location: newYork}
	base, err := forecast.Auto(s, clean)
	if err != nil {
		t.Fatal(err)
	}
	broken := forecast.Series{Start: s.Start, Step: s.Step, Values: append([]float64(nil), s.Values...)}
	// The same weekday one week before the forecast day, 06:00 to 18:00.
	from := s.Len() - 7*48 + 12
	for i := from; i < from+24; i++ {
		broken.Values[i] = 0
	}
	got, err := forecast.Auto(broken, clean)
	if err != nil {
		t.Fatal(err)
	}
	for h := 12; h < 36; h++ {
		if got.Mean[h] < 0.8*base.Mean[h] {
			t.Errorf("step %d: forecast %.0f after an outage, %.0f without: the outage leaked into the profile", h, got.Mean[h], base.Mean[h])
		}
	}
	if !strings.Contains(strings.Join(got.Notes, ";"), "outlier") {
		t.Errorf("notes %q do not mention the ignored outliers", got.Notes)
	}
}

func TestShortSeriesFallsBack(t *testing.T) {
	v := make([]float64, 30) // 30 hours: not two days
	for i := range v {
		v[i] = 50 + 10*math.Sin(float64(i)/24*2*math.Pi)
	}
	s := forecast.Series{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Hour, Values: v}
	f, err := forecast.Auto(s, forecast.Options{Horizon: 6, Quantiles: []float64{0.1, 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Seasons) != 0 {
		t.Errorf("seasons %v on 30 hours", f.Seasons)
	}
	if notes := strings.Join(f.Notes, ";"); !strings.Contains(notes, "shorter than two daily cycles") {
		t.Errorf("notes %q do not say why the model is simpler", notes)
	}
	for h, m := range f.Mean {
		if m < 30 || m > 70 || f.Quantiles[0.1][h] > m || f.Quantiles[0.9][h] < m {
			t.Errorf("step %d: mean %.1f, band [%.1f, %.1f]", h, m, f.Quantiles[0.1][h], f.Quantiles[0.9][h])
		}
	}
}

func TestConstantSeries(t *testing.T) {
	v := make([]float64, 24*21)
	for i := range v {
		v[i] = 42
	}
	s := forecast.Series{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Hour, Values: v}
	f, err := forecast.Auto(s, forecast.Options{Horizon: 24, Quantiles: []float64{0.05, 0.95}})
	if err != nil {
		t.Fatal(err)
	}
	for h, m := range f.Mean {
		if math.Abs(m-42) > 1e-6 || math.Abs(f.Quantiles[0.05][h]-42) > 1e-6 || math.Abs(f.Quantiles[0.95][h]-42) > 1e-6 {
			t.Fatalf("step %d: mean %v band [%v, %v], want 42", h, m, f.Quantiles[0.05][h], f.Quantiles[0.95][h])
		}
	}
}

// TestNonNegative: sparse counts (mostly zero, the odd burst) never get a
// negative forecast or quantile.
func TestNonNegative(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, 24*28)
	for i := range v {
		if r.Float64() < 0.1 {
			v[i] = float64(1 + r.IntN(20))
		}
	}
	s := forecast.Series{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Hour, Values: v}
	f, err := forecast.Auto(s, forecast.Options{Horizon: 48, Quantiles: []float64{0.01, 0.5, 0.99}})
	if err != nil {
		t.Fatal(err)
	}
	for h := range f.Mean {
		for _, x := range []float64{f.Mean[h], f.Quantiles[0.01][h], f.Quantiles[0.5][h], f.Quantiles[0.99][h]} {
			if x < 0 || math.IsNaN(x) {
				t.Fatalf("step %d: %v", h, x)
			}
		}
		if !(f.Quantiles[0.01][h] <= f.Quantiles[0.5][h] && f.Quantiles[0.5][h] <= f.Quantiles[0.99][h]) {
			t.Fatalf("step %d: quantiles out of order", h)
		}
	}
}

// TestGapsAreSkipped: a fifth of the samples missing changes the forecast
// little, and never makes it NaN.
func TestGapsAreSkipped(t *testing.T) {
	s, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	opts := forecast.Options{Horizon: 288, Quantiles: []float64{0.1, 0.9}}
	full, err := forecast.Auto(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	holey := forecast.Series{Start: s.Start, Step: s.Step, Values: append([]float64(nil), s.Values...)}
	for i := range holey.Values {
		if r.Float64() < 0.2 {
			holey.Values[i] = math.NaN()
		}
	}
	got, err := forecast.Auto(holey, opts)
	if err != nil {
		t.Fatal(err)
	}
	var d, m float64
	for h := range got.Mean {
		if math.IsNaN(got.Mean[h]) || math.IsNaN(got.Quantiles[0.9][h]) {
			t.Fatalf("step %d: NaN", h)
		}
		d += math.Abs(got.Mean[h] - full.Mean[h])
		m += full.Mean[h]
	}
	if d/m > 0.15 {
		t.Errorf("forecast moved by %.0f%% of its level with 20%% of samples missing", 100*d/m)
	}
}

// TestLevelShift: after the load doubles for good, the forecast follows.
func TestLevelShift(t *testing.T) {
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	s = s.Slice(0, 48*7*6)
	shifted := forecast.Series{Start: s.Start, Step: s.Step, Values: append([]float64(nil), s.Values...)}
	for i := s.Len() - 48*4; i < s.Len(); i++ {
		shifted.Values[i] *= 2
	}
	opts := forecast.Options{Horizon: 48, Location: newYork}
	before, _ := forecast.Auto(s, opts)
	after, err := forecast.Auto(shifted, opts)
	if err != nil {
		t.Fatal(err)
	}
	var a, b float64
	for h := range after.Mean {
		a += after.Mean[h]
		b += before.Mean[h]
	}
	if a < 1.5*b {
		t.Errorf("after the load doubled, the forecast rose by %.2f×, want at least 1.5× (model %s)", a/b, after.Model)
	}
}

func TestBadOptions(t *testing.T) {
	s := forecast.Series{Start: time.Unix(0, 0), Step: time.Hour, Values: []float64{1, 2, 3}}
	for _, c := range []struct {
		opts forecast.Options
		want string
	}{
		{forecast.Options{Horizon: 0}, "horizon 0"},
		{forecast.Options{Horizon: 2, Quantiles: []float64{1.5}}, "quantile 1.5"},
	} {
		if _, err := forecast.Auto(s, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.opts, err, c.want)
		}
	}
	empty := forecast.Series{Start: time.Unix(0, 0), Step: time.Hour, Values: []float64{math.NaN(), 1}}
	if _, err := forecast.Auto(empty, forecast.Options{Horizon: 1}); err == nil {
		t.Error("one observed value: no error")
	}
}

func TestDetectSeasons(t *testing.T) {
	read := func(name string) forecast.Series {
		s, err := trace.ReadFile("../testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	r := rand.New(rand.NewPCG(5, 6))
	noise := make([]float64, 24*60)
	for i := range noise {
		noise[i] = r.NormFloat64()
	}
	cases := []struct {
		name string
		s    forecast.Series
		want string
	}{
		{"nyc taxi, half-hourly, 7 months", read("nyc_taxi.csv"), "daily/48 weekly/336"},
		{"alibaba, 5-min, 7.8 days", read("alibaba2018_cluster_usage_cpu.csv"), "daily/288"},
		{"elb, 5-min, bursty", read("elb_request_count_8c0756.csv"), "daily/288"},
		{"white noise, hourly", forecast.Series{Start: time.Unix(0, 0), Step: time.Hour, Values: noise}, ""},
	}
	for _, c := range cases {
		var got []string
		for _, s := range forecast.DetectSeasons(c.s) {
			got = append(got, s.Name+"/"+itoa(s.Period))
		}
		if g := strings.Join(got, " "); !strings.HasPrefix(g, c.want) || (c.want == "" && g != "") {
			t.Errorf("%s: seasons %q, want %q", c.name, g, c.want)
		}
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + fmtInt(n)) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// TestEvaluateRealTrace: on the NYC taxi trace, rolling origin over 30 days,
// the selection beats the weekly seasonal naive and its 90% interval covers
// roughly 90% of what happened.
func TestEvaluateRealTrace(t *testing.T) {
	s, err := trace.ReadFile("../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := forecast.Evaluate(s, forecast.EvalOptions{Horizon: 48, Origins: 30, Coverage: 0.9, Location: newYork})
	if err != nil {
		t.Fatal(err)
	}
	if ev.BaselineName() != "snaive-weekly" {
		t.Fatalf("baseline %s", ev.BaselineName())
	}
	sel, _ := ev.Score("selection")
	base, _ := ev.Score("snaive-weekly")
	if sel.Origins != 30 || base.Origins != 30 {
		t.Fatalf("origins %d and %d, want 30", sel.Origins, base.Origins)
	}
	if r := sel.MASE / base.MASE; r > 0.9 {
		t.Errorf("selection MASE %.3f / seasonal naive %.3f = %.3f, want below 0.9", sel.MASE, base.MASE, r)
	}
	t.Logf("selection MASE %.3f, seasonal naive %.3f, 90%% coverage %.4f", sel.MASE, base.MASE, sel.Coverage)
	// Measured 0.842 (issue 16): the band undercovers here, the January
	// 2015 blizzard days being outside any band. The same band 1.5 times
	// as wide covered 0.928, 0.85 times as wide 0.799: this range rejects
	// both. The band's exact width is pinned by TestCalibrate* (package
	// forecast), which a real trace cannot do.
	if sel.Coverage < 0.82 || sel.Coverage > 0.92 {
		t.Errorf("90%% interval coverage %.1f%%, want 82%%–92%%", 100*sel.Coverage)
	}
}
