package metrics

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

// recordingSource wraps a Source, recording each requested range, and can
// be switched to fail as an unreachable server does.
type recordingSource struct {
	Source
	mu     sync.Mutex
	ranges [][2]time.Time
	down   bool
}

func (r *recordingSource) Range(ctx context.Context, q Query, start, end time.Time, step time.Duration) (Samples, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, [2]time.Time{start, end})
	down := r.down
	r.mu.Unlock()
	if down {
		return Samples{}, &SourceError{Query: q, Kind: KindUnreachable, Err: errors.New("connection refused")}
	}
	return r.Source.Range(ctx, q, start, end, step)
}

type observed struct {
	mu    sync.Mutex
	kinds []ErrorKind
	age   time.Duration
}

func (o *observed) SourceError(q Query, kind ErrorKind, err error) {
	o.mu.Lock()
	o.kinds = append(o.kinds, kind)
	o.mu.Unlock()
}

func (o *observed) SourceAge(q Query, age time.Duration) {
	o.mu.Lock()
	o.age = age
	o.mu.Unlock()
}

func TestHistoryBackfillThenIncremental(t *testing.T) {
	tr, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	now := tr.Start.Add(10 * 24 * time.Hour).Truncate(5 * time.Minute)
	clock := func() time.Time { return now }
	rep := NewReplay(clock)
	if err := rep.AddFile("elb", "../testdata/elb_request_count_8c0756.csv"); err != nil {
		t.Fatal(err)
	}
	if err := rep.AddFile("bad", "../testdata/README.md"); err == nil {
		t.Error("a README is not a trace")
	}
	src := &recordingSource{Source: rep}
	obs := &observed{}
	h := NewHistory(src, HistoryConfig{Step: 5 * time.Minute, Window: 7 * 24 * time.Hour}, obs)
	q := Query{Target: "web", Signal: "demand", Expr: "elb"}
	ctx := context.Background()

	if err := h.Update(ctx, q, now); err != nil {
		t.Fatal(err)
	}
	s, ok := h.Series(q)
	if !ok || s.Len() != 7*288+1 {
		t.Fatalf("backfill: %d points, want %d", s.Len(), 7*288+1)
	}
	if got := src.ranges[0]; got[1].Sub(got[0]) != 7*24*time.Hour {
		t.Errorf("backfill asked for %v, want the window", got[1].Sub(got[0]))
	}
	// The history holds what the trace holds at the same times.
	for i := 0; i < s.Len(); i += 97 {
		want := tr.Values[int(s.Time(i).Sub(tr.Start)/tr.Step)]
		if g := s.Values[i]; math.Abs(g-want) > 1e-3*math.Abs(want)+1e-6 && !(math.IsNaN(g) && math.IsNaN(want)) {
			t.Fatalf("point %d (%s): %v, trace says %v", i, s.Time(i), g, want)
		}
	}

	// Three ticks later, only the new samples (and the overlap) are asked for.
	now = now.Add(15 * time.Minute)
	if err := h.Update(ctx, q, now); err != nil {
		t.Fatal(err)
	}
	last := src.ranges[len(src.ranges)-1]
	if d := last[1].Sub(last[0]); d > 25*time.Minute {
		t.Errorf("incremental fetch asked for %v, want only the last ticks", d)
	}
	s2, _ := h.Series(q)
	if v, ok := h.Latest(q); !ok || float32(v) != float32(s2.Values[s2.Len()-1]) {
		t.Errorf("Latest %v (%v), want the series' last value %v", v, ok, s2.Values[s2.Len()-1])
	}
	if !s2.End().Equal(now) || s2.Len() != s.Len() {
		t.Errorf("after the update: end %s (want %s), %d points (want the window, %d)", s2.End(), now, s2.Len(), s.Len())
	}

	// The source goes down for an hour: errors, and nothing held is lost.
	src.down = true
	for i := 0; i < 12; i++ {
		now = now.Add(5 * time.Minute)
		err := h.Update(ctx, q, now)
		if KindOf(err) != KindUnreachable {
			t.Fatalf("tick %d while down: %v", i, err)
		}
	}
	held, _ := h.Series(q)
	if held.Observed() < s2.Observed()-12 {
		t.Errorf("history shrank from %d to %d observed points during the outage", s2.Observed(), held.Observed())
	}
	// It comes back: one fetch brings the whole missed hour.
	src.down = false
	now = now.Add(5 * time.Minute)
	if err := h.Update(ctx, q, now); err != nil {
		t.Fatal(err)
	}
	back, _ := h.Series(q)
	gaps := 0
	for i := back.Len() - 14; i < back.Len(); i++ {
		if math.IsNaN(back.Values[i]) && !math.IsNaN(tr.Values[int(back.Time(i).Sub(tr.Start)/tr.Step)]) {
			gaps++
		}
	}
	if gaps > 0 || !back.End().Equal(now) {
		t.Errorf("after recovery: %d gaps in the last 70 minutes, end %s", gaps, back.End())
	}
	if len(obs.kinds) != 12 || obs.kinds[0] != KindUnreachable {
		t.Errorf("observer saw %v, want 12 unreachable", obs.kinds)
	}
}

func TestHistoryStale(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	v := make([]float64, 100)
	for i := range v {
		v[i] = 10
	}
	tr := forecast.Series{Start: start, Step: time.Minute, Values: v}
	now := start.Add(99 * time.Minute)
	rep := NewReplay(func() time.Time { return now })
	rep.Add("x", tr)
	obs := &observed{}
	h := NewHistory(rep, HistoryConfig{Step: time.Minute, Window: time.Hour, StaleAfter: 5}, obs)
	q := Query{Target: "t", Signal: "demand", Expr: "x"}
	if err := h.Update(context.Background(), q, now); err != nil {
		t.Fatal(err)
	}
	// The trace ends; time goes on.
	now = now.Add(10 * time.Minute)
	err := h.Update(context.Background(), q, now)
	if KindOf(err) != KindStale {
		t.Fatalf("10 minutes after the last sample: %v, want stale", err)
	}
	if obs.age != 10*time.Minute {
		t.Errorf("age reported %v, want 10m", obs.age)
	}
	// The window is the last hour: 51 samples, then 10 minutes of gap.
	if s, _ := h.Series(q); s.Len() != 61 || s.Observed() != 51 || !s.End().Equal(now) {
		t.Errorf("stale history: %d points, %d observed, ending %s; want 61, 51, %s", s.Len(), s.Observed(), s.End(), now)
	}
}

func TestReplayNeverServesTheFuture(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	v := make([]float64, 600)
	for i := range v {
		v[i] = float64(i)
	}
	tr := forecast.Series{Start: start, Step: time.Minute, Values: v}
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := NewReplayClock(start.Add(60*time.Minute), 60, func() time.Time { return wall })
	rep := NewReplay(clock.Now)
	rep.Add("x", tr)
	q := Query{Expr: "x"}
	// One wall second is one trace minute.
	wall = wall.Add(30 * time.Second)
	got, err := rep.Range(context.Background(), q, start, start.Add(10*time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !got.End().Equal(start.Add(90*time.Minute)) || got.Values[got.Len()-1] != 90 {
		t.Errorf("replay served up to %s (value %v), want the clock's 01:30", got.End(), got.Values[got.Len()-1])
	}
	// Coarser steps average the trace.
	got, err = rep.Range(context.Background(), q, start, start.Add(30*time.Minute), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.Values[1] != 3 { // mean of minutes 1..5
		t.Errorf("5-minute mean %v, want 3", got.Values[1])
	}
	if _, err := rep.Range(context.Background(), Query{Target: "t", Signal: "s", Expr: "nope"}, start, start.Add(time.Hour), time.Minute); KindOf(err) != KindBadQuery {
		t.Errorf("unknown trace: %v", err)
	}
}

// Span is the history held from its first observed sample (the source's
// first, when it began inside the window) to its end, at most the window.
func TestHistorySpan(t *testing.T) {
	tr, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	now := tr.Start.Add(2 * 24 * time.Hour).Truncate(5 * time.Minute)
	rep := NewReplay(func() time.Time { return now })
	rep.Add("elb", tr)
	h := NewHistory(rep, HistoryConfig{Step: 5 * time.Minute, Window: 7 * 24 * time.Hour}, nil)
	q := Query{Target: "web", Signal: "demand", Expr: "elb"}
	if got := h.Span(q); got != 0 {
		t.Errorf("span %v before any update, want 0", got)
	}
	for _, c := range []struct {
		at       time.Duration
		min, max time.Duration
	}{{2 * 24 * time.Hour, 47 * time.Hour, 48 * time.Hour}, {10 * 24 * time.Hour, 7 * 24 * time.Hour, 7*24*time.Hour + 5*time.Minute}} {
		now = tr.Start.Add(c.at).Truncate(5 * time.Minute)
		if err := h.Update(context.Background(), q, now); err != nil {
			t.Fatal(err)
		}
		s, _ := h.Series(q)
		if got := h.Span(q); got < c.min || got > c.max || got > time.Duration(s.Len())*s.Step {
			t.Errorf("%v into the trace: span %v, want %v to %v (series of %d points)", c.at, got, c.min, c.max, s.Len())
		}
	}
}
