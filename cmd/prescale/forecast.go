package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // seasonality is local: the binary carries the zone database

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/forecast/forecastplot"
	"github.com/prescale/prescale/metrics/trace"
)

func init() {
	register(command{name: "forecast", summary: "forecast a trace CSV, or evaluate the forecaster on it", run: runForecast})
}

const forecastExamples = `  # the next day of a half-hourly trace, in New York time, with a 80% band
  prescale forecast --input testdata/nyc_taxi.csv --horizon 48 --quantiles 0.1,0.9 --timezone America/New_York

  # the same as JSON, for scripts
  prescale forecast --input testdata/nyc_taxi.csv --horizon 48 --quantiles 0.1,0.9 --json

  # a picture of the next day and its 90% band
  prescale forecast --input testdata/nyc_taxi.csv --quantiles 0.05,0.95 --timezone America/New_York --plot taxi.png

  # rolling-origin evaluation: sMAPE, MASE and 90% interval coverage per model,
  # and the M4 competition's OWA against its Naive2 baseline
  prescale forecast --evaluate --input testdata/elb_request_count_8c0756.csv --horizon 288 --origins 5`

func runForecast(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("forecast", "forecast --input FILE.csv --horizon N [--quantiles Q,...] [--timezone ZONE] [--json]\n       prescale forecast --evaluate --input FILE.csv [--horizon N] [--origins N] [--json]", forecastExamples, stdout, stderr)
	input := fs.String("input", "", "trace CSV with header timestamp,value (required)")
	horizon := fs.Int("horizon", 0, "steps to forecast after the last sample (default: one day of steps, or 24)")
	quantiles := fs.String("quantiles", "", "comma-separated quantile levels in (0,1), e.g. 0.1,0.9")
	tz := fs.String("timezone", "UTC", "IANA time zone of the seasonal pattern (daily and weekly cycles)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	evaluate := fs.Bool("evaluate", false, "run a rolling-origin evaluation instead of forecasting")
	origins := fs.Int("origins", 10, "with --evaluate: number of forecast origins, one horizon apart")
	coverage := fs.Float64("coverage", 0.9, "with --evaluate: nominal central interval whose coverage is reported")
	independent := fs.Bool("independent", false, "with --evaluate: forecast every origin on its own, without carrying the online calibration of the quantiles from one origin to the next")
	plotFile := fs.String("plot", "", "also draw the history, the forecast and its band (outermost quantiles) to this PNG file")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "prescale forecast: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *input == "" {
		fmt.Fprintln(stderr, "prescale forecast: --input is required (see --help)")
		return exitUsage
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		fmt.Fprintf(stderr, "prescale forecast: --timezone %q: not an IANA time zone\n", *tz)
		return exitUsage
	}
	qs, err := parseQuantiles(*quantiles)
	if err != nil {
		fmt.Fprintf(stderr, "prescale forecast: --quantiles: %v\n", err)
		return exitUsage
	}
	if err := checkForecastFlags(*horizon, len(qs), *evaluate, *origins, *coverage); err != nil {
		fmt.Fprintf(stderr, "prescale forecast: %v\n", err)
		return exitUsage
	}
	s, err := trace.ReadFile(*input)
	if err != nil {
		fmt.Fprintf(stderr, "prescale forecast: %v\n", err)
		return exitFailure
	}
	h := *horizon
	if h == 0 {
		h = defaultHorizon(s.Step)
		if err := checkForecastFlags(h, len(qs), *evaluate, *origins, *coverage); err != nil {
			fmt.Fprintf(stderr, "prescale forecast: default horizon (one day of %s steps): %v\n", s.Step, err)
			return exitUsage
		}
	}
	if *evaluate {
		ev, err := forecast.Evaluate(s, forecast.EvalOptions{Horizon: h, Origins: *origins, Coverage: *coverage, Location: loc, Independent: *independent})
		if err != nil {
			fmt.Fprintf(stderr, "prescale forecast: %s: %v\n", *input, err)
			return exitFailure
		}
		if *asJSON {
			return writeJSON(stdout, stderr, evaluationJSON(ev))
		}
		printEvaluation(stdout, *input, ev)
		return exitOK
	}
	f, err := forecast.Auto(s, forecast.Options{Horizon: h, Quantiles: qs, Location: loc})
	if err != nil {
		fmt.Fprintf(stderr, "prescale forecast: %s: %v\n", *input, err)
		return exitFailure
	}
	for _, n := range f.Notes {
		fmt.Fprintf(stderr, "prescale forecast: note: %s\n", n)
	}
	if *plotFile != "" {
		if err := writeForecastPlot(*plotFile, *input, s, f, qs, loc); err != nil {
			fmt.Fprintf(stderr, "prescale forecast: --plot %s: %v\n", *plotFile, err)
			return exitFailure
		}
	}
	if *asJSON {
		return writeJSON(stdout, stderr, forecastJSON(f, qs))
	}
	printForecast(stdout, f, qs, loc)
	return exitOK
}

// defaultHorizon is one day of steps, or 24 steps for daily and coarser data.
func defaultHorizon(step time.Duration) int {
	if step > 0 && step < 24*time.Hour {
		return int((24 * time.Hour) / step)
	}
	return 24
}

func parseQuantiles(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	seen := map[float64]bool{}
	for _, p := range strings.Split(s, ",") {
		q, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || !(q > 0 && q < 1) {
			return nil, fmt.Errorf("%q is not a level in (0,1)", strings.TrimSpace(p))
		}
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	sort.Float64s(out)
	return out, nil
}

// quantileKey formats a level the way the JSON contract shows it: "0.1".
func quantileKey(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

type pointJSON struct {
	Timestamp string             `json:"timestamp"`
	Mean      float64            `json:"mean"`
	Quantiles map[string]float64 `json:"quantiles,omitempty"`
}

type forecastOut struct {
	Model       string      `json:"model"`
	Detail      string      `json:"detail"`
	StepSeconds int64       `json:"step_seconds"`
	Seasons     []string    `json:"seasons"`
	Notes       []string    `json:"notes,omitempty"`
	Points      []pointJSON `json:"points"`
}

func forecastJSON(f *forecast.Forecast, qs []float64) forecastOut {
	out := forecastOut{Model: f.Model, Detail: f.Detail, StepSeconds: int64(f.Step / time.Second), Notes: f.Notes, Seasons: []string{}}
	for _, s := range f.Seasons {
		out.Seasons = append(out.Seasons, fmt.Sprintf("%s/%d", s.Name, s.Period))
	}
	for i, m := range f.Mean {
		p := pointJSON{Timestamp: f.Time(i).UTC().Format(time.RFC3339), Mean: m}
		if len(qs) > 0 {
			p.Quantiles = map[string]float64{}
			for _, q := range qs {
				p.Quantiles[quantileKey(q)] = f.Quantiles[q][i]
			}
		}
		out.Points = append(out.Points, p)
	}
	return out
}

func printForecast(w io.Writer, f *forecast.Forecast, qs []float64, loc *time.Location) {
	fmt.Fprintf(w, "model: %s (%s)\n", f.Model, f.Detail)
	var seasons []string
	for _, s := range f.Seasons {
		seasons = append(seasons, fmt.Sprintf("%s (%d steps)", s.Name, s.Period))
	}
	if len(seasons) == 0 {
		seasons = []string{"none"}
	}
	fmt.Fprintf(w, "seasons: %s, in %s\n\n", strings.Join(seasons, ", "), loc)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "time\tmean\t")
	for _, q := range qs {
		fmt.Fprintf(tw, "q%s\t", quantileKey(q))
	}
	fmt.Fprintln(tw)
	// Seconds where the steps are not whole minutes: a 1-second trace's
	// rows all read 00:00 otherwise.
	layout := "2006-01-02 15:04 MST"
	if f.Step%time.Minute != 0 {
		layout = "2006-01-02 15:04:05 MST"
	}
	for i, m := range f.Mean {
		fmt.Fprintf(tw, "%s\t%.4g\t", f.Time(i).In(loc).Format(layout), m)
		for _, q := range qs {
			fmt.Fprintf(tw, "%.4g\t", f.Quantiles[q][i])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

type evaluationOut struct {
	Horizon  int              `json:"horizon"`
	Baseline string           `json:"baseline"`
	Origins  []string         `json:"origins"`
	Coverage float64          `json:"nominal_coverage"`
	Scores   []forecast.Score `json:"scores"`
	// Ratio is the selection's MASE divided by the baseline's.
	Ratio float64  `json:"mase_ratio_vs_baseline"`
	Notes []string `json:"notes,omitempty"`
	// Blocks, Calibration and IntervalBlocks: how the selection's
	// quantiles held, per level and per block of horizon steps (-1: no
	// actual value in the block).
	Blocks         []forecast.StepBlock     `json:"blocks"`
	Calibration    []forecast.LevelCoverage `json:"calibration"`
	IntervalBlocks []float64                `json:"interval_blocks"`
	// M4: the selection against the M4 competition's Naive2 (OWA; -1:
	// unknown).
	M4 *forecast.M4Score `json:"m4,omitempty"`
}

func evaluationJSON(ev *forecast.Evaluation) evaluationOut {
	out := evaluationOut{Horizon: ev.Horizon, Baseline: ev.BaselineName(), Coverage: ev.Coverage, Notes: ev.Notes, Ratio: maseRatio(ev)}
	for _, o := range ev.Origins {
		out.Origins = append(out.Origins, o.UTC().Format(time.RFC3339))
	}
	// NaN does not encode: report an unknown as -1 only where it cannot be
	// mistaken for a measurement (coverage of the baseline, which has no
	// interval).
	for _, s := range ev.Scores {
		if math.IsNaN(s.Coverage) {
			s.Coverage = -1
		}
		if math.IsNaN(s.SMAPE) {
			s.SMAPE = -1
		}
		if math.IsNaN(s.MASE) {
			s.MASE = -1
		}
		out.Scores = append(out.Scores, s)
	}
	if math.IsNaN(out.Ratio) {
		out.Ratio = -1
	}
	known := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = x
			if math.IsNaN(x) {
				out[i] = -1
			}
		}
		return out
	}
	out.Blocks = ev.Blocks
	for _, lc := range ev.Calibration {
		lc.Below = known([]float64{lc.Below})[0]
		lc.Under = known([]float64{lc.Under})[0]
		lc.Blocks = known(lc.Blocks)
		out.Calibration = append(out.Calibration, lc)
	}
	out.IntervalBlocks = known(ev.IntervalBlocks)
	if ev.M4 != nil {
		m4 := *ev.M4
		for _, x := range []*float64{&m4.SMAPE, &m4.MASE, &m4.Naive2SMAPE, &m4.Naive2MASE, &m4.OWA} {
			*x = known([]float64{*x})[0]
		}
		out.M4 = &m4
	}
	return out
}

func maseRatio(ev *forecast.Evaluation) float64 {
	sel, ok1 := ev.Score("selection")
	base, ok2 := ev.Score(ev.BaselineName())
	if !ok1 || !ok2 || !(base.MASE > 0) {
		return math.NaN()
	}
	return sel.MASE / base.MASE
}

func printEvaluation(w io.Writer, name string, ev *forecast.Evaluation) {
	fmt.Fprintf(w, "%s: rolling origin, %d origin(s) of %d steps, MASE scaled by in-sample %s\n", name, len(ev.Origins), ev.Horizon, ev.BaselineName())
	for _, n := range ev.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\tsMAPE %%\tMASE\tcoverage %.0f%%\torigins\n", ev.Coverage*100)
	for _, s := range ev.Scores {
		cov := "-"
		if !math.IsNaN(s.Coverage) {
			cov = fmt.Sprintf("%.1f%%", 100*s.Coverage)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%s\t%d\n", s.Model, s.SMAPE, s.MASE, cov, s.Origins)
	}
	tw.Flush()
	if r := maseRatio(ev); !math.IsNaN(r) {
		fmt.Fprintf(w, "\nselection MASE / %s MASE = %.3f\n", ev.BaselineName(), r)
	}
	if m := ev.M4; m != nil {
		fmt.Fprintf(w, "M4 OWA against Naive2 (m = %d, seasonal at %d of %d origins): %.3f = ½ sMAPE %.2f/%.2f + ½ MASE(m) %.3f/%.3f\n",
			m.Period, m.SeasonalOrigins, m.Origins, m.OWA, m.SMAPE, m.Naive2SMAPE, m.MASE, m.Naive2MASE)
	}
	if len(ev.Calibration) == 0 {
		return
	}
	// Calibration of the selection's quantiles: the share of actual
	// values at or under each, which should equal its level.
	fmt.Fprintf(w, "\nselection quantiles: share of actual values at or under each, by block of horizon steps\n")
	pct := func(x float64) string {
		if math.IsNaN(x) {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*x)
	}
	fmt.Fprint(tw, "level\tall steps\t")
	for _, b := range ev.Blocks {
		fmt.Fprintf(tw, "steps %d-%d\t", b.From, b.To)
	}
	// Strictly under: with ties (zeros under a quantile clipped at
	// zero) a calibrated quantile has under ≤ level ≤ at or under.
	fmt.Fprintln(tw, "strictly under\t")
	for _, lc := range ev.Calibration {
		fmt.Fprintf(tw, "q%s\t%s\t", quantileKey(lc.Level), pct(lc.Below))
		for _, x := range lc.Blocks {
			fmt.Fprintf(tw, "%s\t", pct(x))
		}
		fmt.Fprintf(tw, "%s\t\n", pct(lc.Under))
	}
	sel, _ := ev.Score("selection")
	fmt.Fprintf(tw, "interval %.0f%%\t%s\t", 100*ev.Coverage, pct(sel.Coverage))
	for _, x := range ev.IntervalBlocks {
		fmt.Fprintf(tw, "%s\t", pct(x))
	}
	fmt.Fprintln(tw)
	tw.Flush()
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "prescale: writing JSON: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func writeForecastPlot(path, input string, hist forecast.Series, f *forecast.Forecast, qs []float64, loc *time.Location) error {
	var buf bytes.Buffer
	lo, hi := 0.0, 0.0
	if len(qs) >= 2 {
		lo, hi = qs[0], qs[len(qs)-1]
	}
	if err := forecastplot.Write(&buf, filepath.Base(input), hist, f, lo, hi, loc); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
