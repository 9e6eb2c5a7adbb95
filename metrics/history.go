package metrics

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prescale/prescale/forecast"
)

// SourceObserver is told how fetches went, for metrics and logs.
type SourceObserver interface {
	// SourceError is called once per failed fetch.
	SourceError(q Query, kind ErrorKind, err error)
	// SourceAge is called after each fetch with the age of the newest
	// sample (0 when there is none yet).
	SourceAge(q Query, age time.Duration)
}

// HistoryConfig sets what a History keeps and when data is stale.
type HistoryConfig struct {
	// Step of the grid the signals are kept on, for queries without a
	// step of their own (default 1m).
	Step time.Duration
	// Window is how much of the past is kept and backfilled (default 14 days).
	Window time.Duration
	// StaleAfter is how many steps the newest sample may lag behind now
	// before the signal is stale (default 5).
	StaleAfter int
	// Overlap is how many of the newest steps are fetched again each tick:
	// the last points of a rate() are often incomplete when first read
	// (default 2).
	Overlap int
}

// History keeps the recent past of each query in memory: backfilled on
// first use, then extended with only the new samples on each Update. Values
// are stored as float32 on a regular grid (4 bytes a point: 14 days of
// 5-minute data is 16 KiB a signal). A failed fetch changes nothing that
// was already held; after an outage the next Update fetches the whole
// missed range, so nothing is lost while the source still has it.
type History struct {
	src Source
	cfg HistoryConfig
	obs SourceObserver

	mu     sync.Mutex
	series map[Query]*stored
}

type stored struct {
	start  time.Time // time of vals[0]
	vals   []float32
	newest time.Time // time of the newest non-NaN sample
}

// NewHistory returns an empty history over src. obs may be nil.
func NewHistory(src Source, cfg HistoryConfig, obs SourceObserver) *History {
	if cfg.Step <= 0 {
		cfg.Step = time.Minute
	}
	if cfg.Window <= 0 {
		cfg.Window = 14 * 24 * time.Hour
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 5
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 2
	}
	return &History{src: src, cfg: cfg, obs: obs, series: map[Query]*stored{}}
}

// stepOf is q's own step, or the history's.
func (h *History) stepOf(q Query) time.Duration {
	if q.Step > 0 {
		return q.Step
	}
	return h.cfg.Step
}

// Update fetches what is new for q up to now (the whole window the first
// time) and appends it. It returns a *SourceError when the fetch fails or
// when the newest sample is stale; the history held is kept either way.
func (h *History) Update(ctx context.Context, q Query, now time.Time) error {
	h.mu.Lock()
	st := h.series[q]
	var from time.Time
	if st == nil || len(st.vals) == 0 {
		from = now.Add(-h.cfg.Window)
	} else {
		end := st.start.Add(time.Duration(len(st.vals)-1) * h.stepOf(q))
		from = end.Add(-time.Duration(h.cfg.Overlap-1) * h.stepOf(q))
	}
	h.mu.Unlock()

	got, err := h.src.Range(ctx, q, from, now, h.stepOf(q))
	if err != nil && !(KindOf(err) == KindEmpty && st != nil) {
		h.report(q, err)
		h.age(q, now)
		return err
	}
	if err == nil {
		h.merge(q, got.Series)
		if got.NonFinite > 0 && h.obs != nil {
			h.obs.SourceError(q, KindNonFinite, fmt.Errorf("%d NaN, Inf or beyond ±%g sample(s) kept as gaps", got.NonFinite, MaxMagnitude))
		}
	}
	if age := h.age(q, now); age > time.Duration(h.cfg.StaleAfter)*h.stepOf(q) {
		err := &SourceError{Query: q, Kind: KindStale, Err: fmt.Errorf("newest sample is %v old, more than %d steps of %v", age.Round(time.Second), h.cfg.StaleAfter, h.stepOf(q))}
		h.report(q, err)
		return err
	}
	return nil
}

func (h *History) report(q Query, err error) {
	if h.obs == nil {
		return
	}
	kind := KindOf(err)
	if kind == "" {
		kind = KindServer
	}
	h.obs.SourceError(q, kind, err)
}

// age reports and returns how old the newest sample is (the whole window
// when there is none).
func (h *History) age(q Query, now time.Time) time.Duration {
	h.mu.Lock()
	st := h.series[q]
	age := h.cfg.Window
	if st != nil && !st.newest.IsZero() {
		age = now.Sub(st.newest)
	}
	h.mu.Unlock()
	if h.obs != nil {
		h.obs.SourceAge(q, age)
	}
	return age
}

// merge writes s into q's stored grid, extending it and trimming what has
// left the window.
func (h *History) merge(q Query, s forecast.Series) {
	h.mu.Lock()
	defer h.mu.Unlock()
	step := h.stepOf(q)
	st := h.series[q]
	if st == nil {
		st = &stored{start: s.Start}
		h.series[q] = st
	}
	if len(st.vals) == 0 {
		st.start = s.Start
	}
	if s.Start.Before(st.start) {
		// Older data than held (only on backfill overlap): drop it.
		skip := int(st.start.Sub(s.Start) / step)
		if skip >= s.Len() {
			return
		}
		s = s.Slice(skip, s.Len())
	}
	off := int(s.Start.Sub(st.start) / step)
	need := off + s.Len()
	for len(st.vals) < need {
		st.vals = append(st.vals, float32(math.NaN()))
	}
	for i, v := range s.Values {
		if math.IsNaN(v) {
			continue // a gap in a re-fetch never erases what was held
		}
		st.vals[off+i] = float32(v)
		if t := s.Time(i); t.After(st.newest) {
			st.newest = t
		}
	}
	// Trim to the window; copy only when a window's worth has piled up.
	keep := int(h.cfg.Window/step) + 1
	if len(st.vals) > 2*keep {
		drop := len(st.vals) - keep
		st.vals = append([]float32(nil), st.vals[drop:]...)
		st.start = st.start.Add(time.Duration(drop) * step)
	}
}

// Series returns q's history (at most the window) as a series, with NaN
// for gaps, or false when nothing is held.
func (h *History) Series(q Query) (forecast.Series, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.series[q]
	if st == nil || len(st.vals) == 0 {
		return forecast.Series{}, false
	}
	keep := int(h.cfg.Window/h.stepOf(q)) + 1
	from := max(0, len(st.vals)-keep)
	out := forecast.Series{Start: st.start.Add(time.Duration(from) * h.stepOf(q)), Step: h.stepOf(q), Values: make([]float64, len(st.vals)-from)}
	for i, v := range st.vals[from:] {
		out.Values[i] = float64(v)
	}
	return out, true
}

// Span returns how much of q's history (at most the window) lies from its
// first observed (non-NaN) sample to its end, without copying it.
func (h *History) Span(q Query) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.series[q]
	if st == nil {
		return 0
	}
	keep := int(h.cfg.Window/h.stepOf(q)) + 1
	vals := st.vals[max(0, len(st.vals)-keep):]
	for i, v := range vals {
		if v == v {
			return time.Duration(len(vals)-i) * h.stepOf(q)
		}
	}
	return 0
}

// Latest returns q's newest observed value, or false when none is held.
func (h *History) Latest(q Query) (float64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.series[q]
	if st == nil || st.newest.IsZero() {
		return math.NaN(), false
	}
	i := int(st.newest.Sub(st.start) / h.stepOf(q))
	if i < 0 || i >= len(st.vals) {
		return math.NaN(), false // the newest sample has left the window
	}
	return float64(st.vals[i]), true
}

// Forget drops q (a target left the policy).
func (h *History) Forget(q Query) {
	h.mu.Lock()
	delete(h.series, q)
	h.mu.Unlock()
}
