package metrics

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

// ReplayClock maps wall-clock time to trace time at a speed-up: Speed 60
// replays an hour of trace per minute. It starts at Start in trace time
// when created.
type ReplayClock struct {
	Start time.Time // trace time at creation
	Speed float64
	wall  time.Time
	now   func() time.Time
}

// NewReplayClock starts a replay clock at trace time start. now is the
// wall clock (time.Now when nil).
func NewReplayClock(start time.Time, speed float64, now func() time.Time) *ReplayClock {
	if now == nil {
		now = time.Now
	}
	if speed <= 0 {
		speed = 1
	}
	return &ReplayClock{Start: start, Speed: speed, wall: now(), now: now}
}

// Now returns the current trace time.
func (c *ReplayClock) Now() time.Time {
	el := c.now().Sub(c.wall)
	return c.Start.Add(time.Duration(float64(el) * c.Speed))
}

// Replay is a Source over recorded traces, for the demo, backtests and
// tests. A query's Expr names a trace added with Add. Samples later than
// the clock's now are never served, so a replay cannot leak the future.
type Replay struct {
	now func() time.Time

	mu     sync.RWMutex
	traces map[string]forecast.Series
}

// NewReplay returns a replay source whose present is now() (a
// ReplayClock's Now, typically).
func NewReplay(now func() time.Time) *Replay {
	return &Replay{now: now, traces: map[string]forecast.Series{}}
}

// Add registers a trace under name (the Expr of the queries that read it).
func (r *Replay) Add(name string, s forecast.Series) {
	r.mu.Lock()
	r.traces[name] = s
	r.mu.Unlock()
}

// Range implements Source. The trace is resampled to step: the mean of the
// trace's samples in each step when step is coarser, the latest sample at
// or before each grid point when it is finer.
func (r *Replay) Range(ctx context.Context, q Query, start, end time.Time, step time.Duration) (Samples, error) {
	fail := func(kind ErrorKind, err error) (Samples, error) {
		return Samples{}, &SourceError{Query: q, Kind: kind, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return fail(KindCanceled, err)
	}
	r.mu.RLock()
	tr, ok := r.traces[q.Expr]
	r.mu.RUnlock()
	if !ok {
		return fail(KindBadQuery, fmt.Errorf("no trace named %q in the replay", q.Expr))
	}
	if step <= 0 {
		return fail(KindBadQuery, fmt.Errorf("step %v: must be positive", step))
	}
	if now := r.now(); end.After(now) {
		end = now
	}
	first, last := alignGrid(start, end, step)
	if last.Before(first) {
		return fail(KindEmpty, fmt.Errorf("range %s to %s holds no grid point", start.Format(time.RFC3339), end.Format(time.RFC3339)))
	}
	n := int(last.Sub(first)/step) + 1
	out := Samples{Series: forecast.Series{Start: first, Step: step, Values: make([]float64, n)}}
	seen := 0
	for i := range out.Values {
		t := out.Time(i)
		var v float64
		if step > tr.Step {
			// Mean of the trace samples in (t-step, t].
			var s float64
			var c int
			for j := traceIndexAtOrBefore(tr, t); j >= 0 && tr.Time(j).After(t.Add(-step)); j-- {
				if x := tr.Values[j]; !math.IsNaN(x) {
					s += x
					c++
				}
			}
			v = math.NaN()
			if c > 0 {
				v = s / float64(c)
			}
		} else {
			v = math.NaN()
			if j := traceIndexAtOrBefore(tr, t); j >= 0 && t.Sub(tr.Time(j)) < tr.Step {
				v = tr.Values[j]
			}
		}
		out.Values[i] = v
		if !math.IsNaN(v) {
			seen++
		}
	}
	if seen == 0 {
		return fail(KindEmpty, fmt.Errorf("trace %q has no samples from %s to %s", q.Expr, first.Format(time.RFC3339), last.Format(time.RFC3339)))
	}
	return out, nil
}

// traceIndexAtOrBefore is the index of the last trace point at or before t,
// or -1.
func traceIndexAtOrBefore(s forecast.Series, t time.Time) int {
	if t.Before(s.Start) {
		return -1
	}
	return min(int(t.Sub(s.Start)/s.Step), s.Len()-1)
}

// AddFile reads a trace CSV (see package trace) and registers it under name.
func (r *Replay) AddFile(name, path string) error {
	s, err := trace.ReadFile(path)
	if err != nil {
		return err
	}
	r.Add(name, s)
	return nil
}
