package forecast

import (
	"math"
	"time"
)

// Series is a regularly spaced series on a UTC grid. Values[i] is the sample
// at Start + i*Step; NaN marks a gap (a missing row, an empty or NaN value).
// Gaps are kept as gaps: models skip them rather than read them as zeros.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Len is the number of grid points, gaps included.
func (s Series) Len() int { return len(s.Values) }

// Time returns the timestamp of grid index i; i may lie beyond the end.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// End is the time of the last grid point.
func (s Series) End() time.Time { return s.Time(len(s.Values) - 1) }

// Observed counts the samples that are not gaps.
func (s Series) Observed() int {
	n := 0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// Slice returns the sub-series [from, to) sharing the same backing array.
func (s Series) Slice(from, to int) Series {
	return Series{Start: s.Time(from), Step: s.Step, Values: s.Values[from:to]}
}
