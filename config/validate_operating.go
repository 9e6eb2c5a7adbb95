package config

import (
	"fmt"
	"slices"
)

// Operating points: lower quantiles the stand-down may put in force.
const (
	// MaxOperatingPoints bounds capacity.operatingPoints: each costs the
	// daily judgement a replay of the target's 14 days.
	MaxOperatingPoints = 4
)

// DefaultOperatingPoints are the quantiles tried below capacity.quantile
// when capacity.operatingPoints is not set.
var DefaultOperatingPoints = []float64{0.3, 0.5, 0.7}

// operatingPoints defaults and checks capacity.operatingPoints: quantiles
// in (0, capacity.quantile), distinct, at most MaxOperatingPoints. Unset,
// they are the DefaultOperatingPoints below the quantile; an empty list
// turns them off.
func (v *validator) operatingPoints(cp string, c *Capacity) {
	p := cp + ".operatingPoints"
	if c.OperatingPoints == nil {
		c.OperatingPoints = []float64{}
		for _, q := range DefaultOperatingPoints {
			if q < c.Quantile {
				c.OperatingPoints = append(c.OperatingPoints, q)
			}
		}
		return
	}
	if n := len(c.OperatingPoints); n > MaxOperatingPoints {
		v.errf(p, "%d quantiles: at most %d (each costs the daily judgement a replay of the target's history)", n, MaxOperatingPoints)
		return
	}
	for i, q := range c.OperatingPoints {
		at := fmt.Sprintf("%s[%d]", p, i)
		switch {
		case !(q > 0 && q < c.Quantile):
			v.errf(at, "%g must be between 0 and capacity.quantile %g: an operating point is a lower quantile the floors may fall back on before standing down", q, c.Quantile)
		case slices.Contains(c.OperatingPoints[:i], q):
			v.errf(at, "%g is listed twice", q)
		}
	}
}

// StandsDown reports whether the daily judgement may stand the floors
// down or move them to an operating point (capacity.standDown, default
// true).
func (c Capacity) StandsDown() bool { return c.StandDown == nil || *c.StandDown }

// Levels returns the quantiles the target's floors are planned at: the
// owner's Quantile first, then the operating points.
func (c Capacity) Levels() []float64 {
	return append([]float64{c.Quantile}, c.OperatingPoints...)
}
