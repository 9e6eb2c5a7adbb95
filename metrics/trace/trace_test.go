package trace

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestReadGood(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name  string
		in    string
		start string
		step  time.Duration
		want  []float64
	}{
		{"rfc3339", "timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01T01:00:00Z,2\n2024-03-01T02:00:00Z,3\n",
			"2024-03-01T00:00:00Z", time.Hour, []float64{1, 2, 3}},
		{"unix seconds", "timestamp,value\n1700000000,5\n1700000300,6.5\n",
			"2023-11-14T22:13:20Z", 5 * time.Minute, []float64{5, 6.5}},
		{"missing row is a gap", "timestamp,value\n0,1\n60,2\n180,4\n240,5\n",
			"1970-01-01T00:00:00Z", time.Minute, []float64{1, 2, nan, 4, 5}},
		{"empty and NaN values are gaps", "timestamp,value\n0,1\n60,\n120,NaN\n180,4\n",
			"1970-01-01T00:00:00Z", time.Minute, []float64{1, nan, nan, 4}},
		{"jittered timestamps snap to the grid", "timestamp,value\n0,1\n301,2\n598,3\n900,4\n",
			"1970-01-01T00:00:00Z", 5 * time.Minute, []float64{1, 2, 3, 4}},
		{"offset and CRLF and BOM", "\ufefftimestamp,value\r\n2024-03-01T00:00:00+01:00,1\r\n2024-03-01T00:30:00+01:00,2\r\n",
			"2024-02-29T23:00:00Z", 30 * time.Minute, []float64{1, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Read(strings.NewReader(c.in), "x.csv")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Start.Format(time.RFC3339); got != c.start {
				t.Errorf("start %s, want %s", got, c.start)
			}
			if s.Step != c.step {
				t.Errorf("step %v, want %v", s.Step, c.step)
			}
			if len(s.Values) != len(c.want) {
				t.Fatalf("values %v, want %v", s.Values, c.want)
			}
			for i, w := range c.want {
				g := s.Values[i]
				if (math.IsNaN(w) != math.IsNaN(g)) || (!math.IsNaN(w) && g != w) {
					t.Errorf("value[%d] = %v, want %v", i, g, w)
				}
			}
		})
	}
}

func TestReadBad(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"bad header", "time,val\n0,1\n", "x.csv:1: header"},
		{"three fields", "timestamp,value\n0,1,2\n60,1\n", "x.csv:2: want 2 fields"},
		{"bad time", "timestamp,value\n0,1\nyesterday,2\n", "x.csv:3: timestamp \"yesterday\""},
		{"bad number", "timestamp,value\n0,1\n60,abc\n", "x.csv:3: value \"abc\" is not a number"},
		{"infinite", "timestamp,value\n0,1\n60,+Inf\n", "x.csv:3: value \"+Inf\" is infinite"},
		{"beyond the magnitude bound", "timestamp,value\n0,1\n60,1e300\n", "x.csv:3: value \"1e300\" is beyond ±1e+15"},
		{"negative beyond the bound", "timestamp,value\n0,-2e15\n60,1\n", "x.csv:2: value \"-2e15\" is beyond ±1e+15"},
		{"duplicate", "timestamp,value\n0,1\n60,2\n60,3\n", "x.csv:4: duplicate timestamp 1970-01-01T00:01:00Z (also at line 3)"},
		{"out of order", "timestamp,value\n0,1\n120,2\n60,3\n", "x.csv:4: timestamp 1970-01-01T00:01:00Z is before"},
		{"empty", "", "x.csv: empty file"},
		{"one row", "timestamp,value\n0,1\n", "x.csv: 1 sample(s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Read(strings.NewReader(c.in), "x.csv")
			if err == nil {
				t.Fatalf("no error, got %d values", s.Len())
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q, want prefix %q", err, c.want)
			}
			if s.Values != nil {
				t.Errorf("partial output on error: %v", s.Values)
			}
		})
	}
}

func TestReadRealTrace(t *testing.T) {
	s, err := ReadFile("../../testdata/nyc_taxi.csv")
	if err != nil {
		t.Fatal(err)
	}
	if s.Step != 30*time.Minute {
		t.Errorf("step %v, want 30m", s.Step)
	}
	// 10,320 rows; the DST change of 2014-11-02 left two half-hours absent
	// (see ../shared/data/README.md), so the grid has 10,322 points, 2 gaps.
	if s.Len() != 10322 || s.Observed() != 10320 {
		t.Errorf("len %d observed %d, want 10322 and 10320", s.Len(), s.Observed())
	}
}
