package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/forecast"
)

// A target is judged once a day on the last 14 days of its history, but
// 13 of those days were replayed the day before, on the same demand and
// the same recorded floors. Replays remembers each replay's totals by UTC
// day, so that a daily judgement replays only what is new: the day that
// ended since the last judgement, the part of today seen so far and the
// part-day the span now starts with; about 2 days of the 14. Each day is
// replayed with ReplayWarmup of the demand before it (replayed, not
// counted), so that it starts from the HPA's state rather than cold.

// ReplayWarmup is how much demand before a day its replay starts from:
// long enough for the HPA's 5-minute scale-down window and the nodes'
// scale-down delay to reach the state a continuous replay would have.
const ReplayWarmup = 2 * time.Hour

// Replays is a target's cache of daily replay totals for CompareLevels
// (its method). The zero value is ready to use; nil replays every span
// whole. Entries are keyed by what was replayed (the day, the HPA target,
// the cluster's settings, a hash of the demand and floors replayed), so a
// change of any of them replays afresh; entries no comparison used in the
// last few calls are dropped. It is not safe for concurrent use.
type Replays struct {
	entries map[replayKey]*replayEntry
	calls   int
	// Minutes counts the minutes replayed (warm-up included), for tests
	// and benchmarks.
	Minutes int
}

// replayKey names one day's replay.
type replayKey struct {
	start   int64   // first minute counted, Unix seconds
	minutes int     // minutes counted
	warm    int     // minutes replayed before start, not counted
	target  float64 // the HPA's target utilisation
	cluster uint64  // the rest of the cluster's settings
	demand  uint64  // FNV-64a of the demand replayed
	floors  uint64  // FNV-64a of the floors replayed (the HPA alone: of none)
}

type replayEntry struct {
	t    dayTotals
	used int // the call that last used it
}

// dayTotals are a Result's additive parts over one day.
type dayTotals struct {
	demand, unserved                      float64 // demand·seconds
	underMinutes, replicaHours, nodeHours float64
	actuations, floorChanges, evaluated   int
}

// keepCalls is how many CompareLevels calls an entry outlives unused: the
// daemon compares twice a judgement (14 and 7 days).
const keepCalls = 4

// CompareLevels is the package's CompareLevels, replaying day by day and
// reusing the days r has replayed before (r nil: the whole span at once).
func (r *Replays) CompareLevels(ctx context.Context, cfg Config, demand forecast.Series, floors [][]int32) ([]Impact, error) {
	if r == nil {
		return CompareLevels(ctx, cfg, demand, floors)
	}
	r.calls++
	defer r.evict()
	var days []replayDay // the days of demand counted from EvalFrom, hashed once
	return compareLevels(ctx, cfg, demand, floors, func(c Config, f []int32) (Result, error) {
		if days == nil {
			days = daysOf(demand, c.EvalFrom)
		}
		return r.replay(ctx, c, demand, days, f)
	})
}

// replayDay is one day of a span replayed: minutes [start, end) counted,
// warm minutes before start replayed first.
type replayDay struct {
	start, end, warm int
	demand           uint64 // hash of the demand replayed
}

// daysOf cuts demand, counted from evalFrom (zero: its start), into UTC
// days, each with up to ReplayWarmup of the demand before it.
func daysOf(demand forecast.Series, evalFrom time.Time) []replayDay {
	from := 0
	if !evalFrom.IsZero() {
		from = max(0, int(evalFrom.Sub(demand.Start)/time.Minute))
	}
	warmup := int(ReplayWarmup / time.Minute)
	var out []replayDay
	for s := from; s < demand.Len(); {
		e := min(demand.Len(), nextUTCDay(demand, s))
		w := min(warmup, s)
		out = append(out, replayDay{start: s, end: e, warm: w, demand: hashValues(demand.Values[s-w : e])})
		s = e
	}
	return out
}

// Clone returns a copy of r that shares nothing with it (entries are
// copied), for a caller that must judge twice from the same state.
func (r *Replays) Clone() Replays {
	out := Replays{calls: r.calls, Minutes: r.Minutes, entries: make(map[replayKey]*replayEntry, len(r.entries))}
	for k, e := range r.entries {
		c := *e
		out.entries[k] = &c
	}
	return out
}

// Compare is the package's Compare, reusing the days r has replayed.
func (r *Replays) Compare(ctx context.Context, cfg Config, demand forecast.Series, floors []int32) (Impact, error) {
	ims, err := r.CompareLevels(ctx, cfg, demand, [][]int32{floors})
	if err != nil {
		return Impact{}, err
	}
	return ims[0], nil
}

// CompareRecent is Compare over the last ImpactRecent of demand and of
// floors (the floor of each of demand's minutes): the impact report's
// second window and RecentVerdict's input. ok is false, with nothing
// replayed, where demand is not an hour longer than that window.
func (r *Replays) CompareRecent(ctx context.Context, cfg Config, demand forecast.Series, floors []int32) (im Impact, ok bool, err error) {
	n := int(ImpactRecent / Minute)
	if demand.Len() <= n+60 || len(floors) < n {
		return Impact{}, false, nil
	}
	im, err = r.Compare(ctx, cfg, demand.Slice(demand.Len()-n, demand.Len()), floors[len(floors)-n:])
	return im, err == nil, err
}

// evict drops the entries no call used in the last keepCalls.
func (r *Replays) evict() {
	for k, e := range r.entries {
		if e.used <= r.calls-keepCalls {
			delete(r.entries, k)
		}
	}
}

// replay is Run of the HPA alone (floors nil) or with floors (one a
// minute of demand) on cfg, day by day: each UTC day of demand counted
// (from cfg.EvalFrom) is looked up in r or replayed with up to
// ReplayWarmup of demand before it, and the days' totals are summed.
func (r *Replays) replay(ctx context.Context, cfg Config, demand forecast.Series, days []replayDay, floors []int32) (Result, error) {
	if r.entries == nil {
		r.entries = map[replayKey]*replayEntry{}
	}
	name := "reactive"
	if floors != nil {
		name = "predictive"
	}
	sc := cfg
	sc.TargetUtilization, sc.EvalFrom, sc.Record = 0, time.Time{}, false
	cluster := hashString(fmt.Sprintf("%v", sc))
	var sum dayTotals
	var outDays []DayOutcome
	for _, d := range days {
		s, e, w := d.start, d.end, d.warm
		key := replayKey{start: demand.Time(s).Unix(), minutes: e - s, warm: w, target: cfg.TargetUtilization,
			cluster: cluster, demand: d.demand}
		var f []int32
		if floors != nil {
			f = floors[s-w : e]
			key.floors = hashFloors(f)
		}
		ent, ok := r.entries[key]
		if !ok {
			t, err := r.runDay(ctx, cfg, demand.Slice(s-w, e), w, f)
			if err != nil {
				return Result{}, err
			}
			ent = &replayEntry{t: t}
			r.entries[key] = ent
		}
		ent.used = r.calls
		sum.add(ent.t)
		if ent.t.evaluated > 0 {
			outDays = addDay(outDays, demand.Time(s).Unix(), ent.t.demand, ent.t.unserved)
		}
	}
	res := Result{Strategy: name, UnderprovisionedMinutes: sum.underMinutes, ReplicaHours: sum.replicaHours,
		NodeHours: sum.nodeHours, Actuations: sum.actuations, FloorChanges: sum.floorChanges, EvaluatedMinutes: sum.evaluated, Days: outDays}
	if sum.demand > 0 {
		res.UnservedFraction = sum.unserved / sum.demand
	}
	return res, nil
}

// runDay runs one day (day: its warm-up minutes, then the day; floors
// one a minute of it, nil for the HPA alone) and returns its totals; a day
// without observed demand counts nothing.
func (r *Replays) runDay(ctx context.Context, cfg Config, day forecast.Series, warm int, floors []int32) (dayTotals, error) {
	var t dayTotals
	observed := false
	for _, v := range day.Values[warm:] {
		if !math.IsNaN(v) {
			t.demand += 60 * v // as Run sums it: demand × seconds, a minute a value
			observed = true
		}
	}
	if !observed {
		return t, nil
	}
	c := cfg
	c.EvalFrom = day.Time(warm)
	var s Strategy = Reactive{}
	if floors != nil {
		s = floorsAt{start: day.Start, floors: floors}
	}
	r.Minutes += day.Len()
	res, err := Run(ctx, c, day, s)
	if err != nil {
		return t, err
	}
	t.unserved = res.UnservedFraction * t.demand
	t.underMinutes, t.replicaHours, t.nodeHours = res.UnderprovisionedMinutes, res.ReplicaHours, res.NodeHours
	t.actuations, t.floorChanges, t.evaluated = res.Actuations, res.FloorChanges, res.EvaluatedMinutes
	return t, nil
}

// nextUTCDay is the index of the first minute of demand after i that
// starts a UTC day.
func nextUTCDay(demand forecast.Series, i int) int {
	t := demand.Time(i)
	next := t.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	return i + int((next.Sub(t)+time.Minute-1)/time.Minute)
}

func (t *dayTotals) add(o dayTotals) {
	t.demand += o.demand
	t.unserved += o.unserved
	t.underMinutes += o.underMinutes
	t.replicaHours += o.replicaHours
	t.nodeHours += o.nodeHours
	t.actuations += o.actuations
	t.floorChanges += o.floorChanges
	t.evaluated += o.evaluated
}

// The cache's keys hash what was replayed, a 64-bit word at a time (a
// cache key, not a defence against crafted input).
const hashSeed, hashMul = 14695981039346656037, 0x9E3779B97F4A7C15

func hashWord(h, w uint64) uint64 {
	h = (h ^ w) * hashMul
	return h ^ h>>29
}

func hashString(s string) uint64 {
	h := uint64(hashSeed)
	for i := 0; i < len(s); i++ {
		h = hashWord(h, uint64(s[i]))
	}
	return h
}

func hashValues(v []float64) uint64 {
	h := uint64(hashSeed)
	for _, x := range v {
		h = hashWord(h, math.Float64bits(x))
	}
	return hashWord(h, uint64(len(v)))
}

func hashFloors(v []int32) uint64 {
	h := uint64(hashSeed)
	for _, x := range v {
		h = hashWord(h, uint64(uint32(x)))
	}
	return hashWord(h, uint64(len(v)))
}
