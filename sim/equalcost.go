package sim

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/prescale/prescale/forecast"
)

// Floors only add pods at a given HPA target, so a strategy compared with
// the HPA alone at the same target always costs more. The fair question is
// whether forecasting beats the obvious alternative, running the HPA
// cooler: reactive's cost–unserved curve over a sweep of HPA targets, and
// each strategy placed on it (DESIGN.md, "Simulated cluster").

// DefaultSweep is the HPA targets reactive is run at to draw its
// cost–unserved curve: 0.40 to 0.90 by 0.05. SweepCurve widens it when a
// strategy lies beyond it.
var DefaultSweep = []float64{0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90}

// sweepLimits bound how far SweepCurve widens the sweep: below 0.10 the
// HPA holds ten times the demand, above 1 it holds less than it.
const sweepLow, sweepHigh, sweepStep = 0.10, 1.0, 0.05

// CurvePoint is reactive run at one HPA target.
type CurvePoint struct {
	TargetUtilization float64
	ReplicaHours      float64
	UnservedFraction  float64
	// Days is the run's outcome by UTC day (see DaysAt).
	Days []DayOutcome
}

// CostCurve is reactive's cost–unserved trade-off, sorted by replica-hours
// ascending (target descending). Unserved demand is made non-increasing in
// replica-hours (the simulator's discreteness can make a cooler HPA leave
// a little more unserved than a warmer one; the curve takes the warmer
// one's value), so that interpolation in either direction is well defined.
type CostCurve []CurvePoint

// Sweep runs reactive at each HPA target on cfg and returns its curve. The
// runs share nothing and go on up to GOMAXPROCS at a time.
func Sweep(ctx context.Context, cfg Config, demand forecast.Series, targets []float64) (CostCurve, error) {
	pts := make([]CurvePoint, len(targets))
	errs := make([]error, len(targets))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, t := range targets {
		if !(t > 0 && t <= sweepHigh) {
			return nil, fmt.Errorf("sweep: HPA target %v: must be in (0, 1]", t)
		}
		c := cfg
		c.TargetUtilization = t
		c.Record = false
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := Run(ctx, c, demand, Reactive{})
			if err != nil {
				errs[i] = fmt.Errorf("sweep at target %.2f: %w", t, err)
				return
			}
			pts[i] = CurvePoint{TargetUtilization: t, ReplicaHours: r.ReplicaHours, UnservedFraction: r.UnservedFraction, Days: r.Days}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return newCostCurve(pts), nil
}

func newCostCurve(pts []CurvePoint) CostCurve {
	c := CostCurve(slices.Clone(pts))
	slices.SortFunc(c, func(a, b CurvePoint) int {
		if a.ReplicaHours != b.ReplicaHours {
			if a.ReplicaHours < b.ReplicaHours {
				return -1
			}
			return 1
		}
		if a.TargetUtilization > b.TargetUtilization {
			return -1
		}
		return 1
	})
	for i := len(c) - 2; i >= 0; i-- {
		c[i].UnservedFraction = max(c[i].UnservedFraction, c[i+1].UnservedFraction)
	}
	return c
}

// Position says where a value lies against the curve's sweep.
type Position int

const (
	// Within: interpolated between two swept targets.
	Within Position = iota
	// Beyond: past the sweep's end; the value given is the sweep's
	// endpoint, a bound (reactive would need a target outside the sweep).
	Beyond
)

// UnservedAt is reactive's unserved fraction at rh replica-hours,
// interpolated on the curve (log-linear where both neighbours are
// positive, since unserved demand falls roughly exponentially with
// headroom). Past either end it is the endpoint's value, with Beyond.
func (c CostCurve) UnservedAt(rh float64) (float64, Position) {
	if len(c) == 0 {
		return math.NaN(), Beyond
	}
	i, f, pos := c.bracket(rh)
	if f == 0 {
		return c[i].UnservedFraction, pos
	}
	return interpolate(c[i].UnservedFraction, c[i+1].UnservedFraction, f), pos
}

// bracket places rh replica-hours on the non-empty curve c: between
// points i and i+1, a fraction f of the way (Within), or at an endpoint i
// with f 0 (Beyond unless rh is exactly its replica-hours).
func (c CostCurve) bracket(rh float64) (i int, f float64, pos Position) {
	if rh <= c[0].ReplicaHours {
		return 0, 0, positionAt(rh == c[0].ReplicaHours)
	}
	last := len(c) - 1
	if rh >= c[last].ReplicaHours {
		return last, 0, positionAt(rh == c[last].ReplicaHours)
	}
	j, _ := slices.BinarySearchFunc(c, rh, func(p CurvePoint, x float64) int {
		if p.ReplicaHours < x {
			return -1
		}
		if p.ReplicaHours > x {
			return 1
		}
		return 0
	})
	a, b := c[j-1], c[j]
	return j - 1, (rh - a.ReplicaHours) / (b.ReplicaHours - a.ReplicaHours), Within
}

// ReplicaHoursAt is the fewest replica-hours at which reactive leaves at
// most u unserved, interpolated on the curve. When even the coolest target
// swept leaves more, it is that target's replica-hours, with Beyond (a
// lower bound); when the warmest leaves no more, the warmest's (an upper
// bound, Beyond unless equal).
func (c CostCurve) ReplicaHoursAt(u float64) (float64, Position) {
	if len(c) == 0 {
		return math.NaN(), Beyond
	}
	last := c[len(c)-1]
	if u < last.UnservedFraction {
		return last.ReplicaHours, Beyond
	}
	if u >= c[0].UnservedFraction {
		return c[0].ReplicaHours, positionAt(u == c[0].UnservedFraction)
	}
	// c[i-1].Unserved > u >= c[i].Unserved for the first such i.
	for i := 1; i < len(c); i++ {
		a, b := c[i-1], c[i]
		if u >= b.UnservedFraction {
			if a.UnservedFraction == b.UnservedFraction {
				return b.ReplicaHours, Within
			}
			f := inverseInterpolate(a.UnservedFraction, b.UnservedFraction, u)
			return a.ReplicaHours + f*(b.ReplicaHours-a.ReplicaHours), Within
		}
	}
	return last.ReplicaHours, Within
}

func positionAt(onEnd bool) Position {
	if onEnd {
		return Within
	}
	return Beyond
}

// interpolate goes fraction f of the way from a to b, geometrically when
// both are positive.
func interpolate(a, b, f float64) float64 {
	if a > 0 && b > 0 {
		return math.Exp(math.Log(a) + f*(math.Log(b)-math.Log(a)))
	}
	return a + f*(b-a)
}

// inverseInterpolate is the f with interpolate(a, b, f) == u, for u
// between a and b.
func inverseInterpolate(a, b, u float64) float64 {
	if a > 0 && b > 0 && u > 0 {
		return (math.Log(u) - math.Log(a)) / (math.Log(b) - math.Log(a))
	}
	return (u - a) / (b - a)
}

// EqualCost places a strategy on reactive's curve.
type EqualCost struct {
	// ReactiveUnserved is reactive's unserved fraction at the strategy's
	// replica-hours: what running the HPA cooler would have left for the
	// same cost. UnservedPosition says whether it is a bound.
	ReactiveUnserved float64
	UnservedPosition Position
	// ReactiveReplicaHours is what reactive would spend to leave no more
	// unserved than the strategy. ReplicaHoursPosition says whether it is
	// a bound.
	ReactiveReplicaHours float64
	ReplicaHoursPosition Position
}

// Place puts r on the curve.
func (c CostCurve) Place(r Result) EqualCost {
	var e EqualCost
	e.ReactiveUnserved, e.UnservedPosition = c.UnservedAt(r.ReplicaHours)
	e.ReactiveReplicaHours, e.ReplicaHoursPosition = c.ReplicaHoursAt(r.UnservedFraction)
	return e
}

// covers reports whether the curve spans rh replica-hours and unserved
// fraction u, so that placing a result there needs no bound.
func (c CostCurve) covers(rh, u float64) bool {
	if len(c) == 0 {
		return false
	}
	last := c[len(c)-1]
	return rh >= c[0].ReplicaHours && rh <= last.ReplicaHours && u >= last.UnservedFraction
}

// SweepCurve runs reactive over targets and widens the sweep, by 0.05 at a
// time within (0.10, 1], until every result in results lies within the
// curve (or the limits are reached), so that each is placed by
// interpolation rather than against a bound.
func SweepCurve(ctx context.Context, cfg Config, demand forecast.Series, targets []float64, results []Result) (CostCurve, error) {
	if len(targets) == 0 {
		targets = DefaultSweep
	}
	curve, err := Sweep(ctx, cfg, demand, targets)
	if err != nil {
		return nil, err
	}
	pts := []CurvePoint(curve)
	for range 20 {
		lo, hi := 1.0, 0.0
		for _, p := range pts {
			lo, hi = min(lo, p.TargetUtilization), max(hi, p.TargetUtilization)
		}
		var more []float64
		for _, r := range results {
			if r.Strategy == "oracle" {
				continue // nothing unserved at the least cost: never on the curve
			}
			c := newCostCurve(pts)
			needLower := r.ReplicaHours > c[len(c)-1].ReplicaHours || r.UnservedFraction < c[len(c)-1].UnservedFraction
			needHigher := r.ReplicaHours < c[0].ReplicaHours
			if needLower && lo-sweepStep >= sweepLow-1e-9 {
				more = append(more, round2(lo-sweepStep))
			}
			if needHigher && hi+sweepStep <= sweepHigh+1e-9 {
				more = append(more, round2(hi+sweepStep))
			}
		}
		slices.Sort(more)
		more = slices.Compact(more)
		if len(more) == 0 {
			break
		}
		ext, err := Sweep(ctx, cfg, demand, more)
		if err != nil {
			return nil, err
		}
		pts = append(pts, ext...)
	}
	return newCostCurve(pts), nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
