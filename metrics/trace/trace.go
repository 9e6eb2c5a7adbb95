// Package trace reads demand traces: CSV files with the header
// "timestamp,value", one sample per row, on a regular step that is inferred
// from the data. It is the input of `prescale forecast`, `backtest` and the
// embedded demo.
//
// Gaps stay gaps: a missing row, an empty value or "NaN" becomes NaN on the
// grid. Everything else that is wrong (a bad header, an unparsable time or
// number, a duplicate or out-of-order row) is an error naming the file and
// line, and nothing is returned.
package trace

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prescale/prescale/forecast"
)

// Error is a problem at one line of a trace file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ReadFile reads a trace CSV from path.
func ReadFile(path string) (forecast.Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return forecast.Series{}, err
	}
	defer f.Close()
	return Read(f, path)
}

// MaxRows bounds the rows of a trace and the points of its grid (a year at
// a 10-second step is 3.2 million), so that the cost of a file is known
// before it is paid: about 40 bytes a row while reading.
const MaxRows = 5_000_000

// Read reads a trace CSV from r; name is used in error messages. A trace of
// more than MaxRows rows, or whose grid would have more than MaxRows points
// (a stray timestamp far from the others), is refused.
func Read(r io.Reader, name string) (forecast.Series, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var (
		times  []int64 // Unix nanoseconds
		values []float64
		lines  []int
	)
	line := 0
	header := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" {
			continue
		}
		if !header {
			h := strings.Split(text, ",")
			if len(h) != 2 || strings.TrimSpace(h[0]) != "timestamp" || strings.TrimSpace(h[1]) != "value" {
				return forecast.Series{}, &Error{name, line, fmt.Sprintf("header is %q, want \"timestamp,value\"", text)}
			}
			header = true
			continue
		}
		ts, val, ok := strings.Cut(text, ",")
		if !ok || strings.Contains(val, ",") {
			return forecast.Series{}, &Error{name, line, fmt.Sprintf("want 2 fields \"timestamp,value\", got %q", text)}
		}
		t, err := parseTime(strings.TrimSpace(ts))
		if err != nil {
			return forecast.Series{}, &Error{name, line, err.Error()}
		}
		v, err := parseValue(strings.TrimSpace(val))
		if err != nil {
			return forecast.Series{}, &Error{name, line, err.Error()}
		}
		if n := len(times); n > 0 {
			switch prev := times[n-1]; {
			case t == prev:
				return forecast.Series{}, &Error{name, line, fmt.Sprintf("duplicate timestamp %s (also at line %d)", fmtTime(t), lines[n-1])}
			case t < prev:
				return forecast.Series{}, &Error{name, line, fmt.Sprintf("timestamp %s is before %s at line %d: rows must be in time order", fmtTime(t), fmtTime(prev), lines[n-1])}
			}
		}
		if len(times) >= MaxRows {
			return forecast.Series{}, &Error{name, line, fmt.Sprintf("more than %d rows: too large a trace (resample it to a coarser step)", MaxRows)}
		}
		times = append(times, t)
		values = append(values, v)
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return forecast.Series{}, &Error{name, line, err.Error()}
	}
	if !header {
		return forecast.Series{}, &Error{name, 0, "empty file: want a \"timestamp,value\" header and at least two rows"}
	}
	if len(times) < 2 {
		return forecast.Series{}, &Error{name, 0, fmt.Sprintf("%d sample(s): need at least two to infer the step", len(times))}
	}
	step := inferStep(times)
	if step > maxStep {
		return forecast.Series{}, &Error{name, 0, fmt.Sprintf("inferred step %s: more than a year between samples", step)}
	}
	if span := (times[len(times)-1] - times[0]) / int64(step); span >= MaxRows {
		return forecast.Series{}, &Error{name, 0, fmt.Sprintf("%s to %s at a step of %s is more than %d points: too large a trace (check for a stray timestamp)",
			fmtTime(times[0]), fmtTime(times[len(times)-1]), step, MaxRows)}
	}
	return grid(times, values, step), nil
}

// parseTime accepts RFC 3339 (with or without fractional seconds) and Unix
// seconds (integer or decimal).
func parseTime(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty timestamp")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Before(minTime) || !t.Before(maxTime) {
			return 0, fmt.Errorf("timestamp %q: out of range (from 1970 to 2199)", s)
		}
		return t.UnixNano(), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && !strings.ContainsAny(s, "eExXpP") {
		if f < 0 || f >= float64(maxTime.Unix()) {
			return 0, fmt.Errorf("timestamp %q: Unix seconds out of range (from 1970 to 2199)", s)
		}
		return int64(math.Round(f * 1e9)), nil
	}
	return 0, fmt.Errorf("timestamp %q: want RFC 3339 (2006-01-02T15:04:05Z) or Unix seconds", s)
}

func parseValue(s string) (float64, error) {
	if s == "" || strings.EqualFold(s, "nan") {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is infinite", s)
	}
	if math.Abs(v) > maxValue {
		return 0, fmt.Errorf("value %q is beyond ±%g: no signal prescale plans on reaches it, and the fits' sums of squares would overflow", s, maxValue)
	}
	return v, nil
}

// maxValue bounds a sample's magnitude, as metrics.MaxMagnitude bounds
// Prometheus' answers (a 1e300 was forecast as 1e300).
const maxValue = 1e15

// Timestamps are bounded so that differences of nanoseconds, and the grid
// arithmetic on them, cannot overflow int64 (230 years is 7.3e18 ns).
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxStep bounds the inferred step (a trace of two rows years apart).
const maxStep = 366 * 24 * time.Hour

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

// inferStep returns the most common positive difference between consecutive
// timestamps, rounded to the second. Real traces have gaps (long deltas) and
// some jitter (deltas off by a few seconds); the mode ignores both.
func inferStep(times []int64) time.Duration {
	counts := map[int64]int{}
	for i := 1; i < len(times); i++ {
		d := (times[i] - times[i-1] + int64(time.Second)/2) / int64(time.Second)
		if d > 0 {
			counts[d]++
		}
	}
	type kv struct {
		d int64
		n int
	}
	all := make([]kv, 0, len(counts))
	for d, n := range counts {
		all = append(all, kv{d, n})
	}
	// Most frequent first; ties go to the smaller step so no sample is lost.
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].d < all[j].d
	})
	if len(all) == 0 {
		return time.Second
	}
	if 2*all[0].n >= len(times)-1 {
		return time.Duration(all[0].d) * time.Second
	}
	// No clear mode: jittered timestamps. Take the median delta and snap it
	// to the nearest conventional scrape or export interval within 10%.
	deltas := make([]int64, 0, len(times)-1)
	for i := 1; i < len(times); i++ {
		deltas = append(deltas, (times[i]-times[i-1])/int64(time.Second))
	}
	sort.Slice(deltas, func(i, j int) bool { return deltas[i] < deltas[j] })
	med := deltas[len(deltas)/2]
	for _, nice := range []int64{1, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400} {
		if math.Abs(float64(med-nice)) <= 0.1*float64(nice) {
			return time.Duration(nice) * time.Second
		}
	}
	return time.Duration(med) * time.Second
}

// grid lays the samples on a regular grid starting at the first timestamp.
// A sample off the grid goes to the nearest grid point; two samples on the
// same point are averaged (irregular sensors), and empty points are gaps.
func grid(times []int64, values []float64, step time.Duration) forecast.Series {
	t0 := times[0]
	s := int64(step)
	n := int((times[len(times)-1]-t0+s/2)/s) + 1
	out := make([]float64, n)
	cnt := make([]int32, n)
	for i, t := range times {
		k := int((t - t0 + s/2) / s)
		if math.IsNaN(values[i]) {
			continue
		}
		out[k] += values[i]
		cnt[k]++
	}
	for k := range out {
		if cnt[k] == 0 {
			out[k] = math.NaN()
		} else if cnt[k] > 1 {
			out[k] /= float64(cnt[k])
		}
	}
	return forecast.Series{Start: time.Unix(0, t0).UTC(), Step: step, Values: out}
}
