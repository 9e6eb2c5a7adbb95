package config

import (
	"fmt"
	"strings"
	"time"
)

// Limits on what one policy file, and one process, may hold. They follow
// the documented scale (10,000 targets per process, in one policy or split
// across files) with room to spare, and bound the cost of an input before
// it is paid: a file's size is checked before it is read, a list's length
// before its items are decoded. docs/policy.md lists them.
const (
	// MaxPolicyBytes is the largest policy file (10,000 targets of a
	// dozen lines each are about 4 MB).
	MaxPolicyBytes = 16 << 20
	// MaxListItems is the most items of any one list (targets, holidays,
	// events, rules, ...).
	MaxListItems = 10_000
	// MaxTargets is the most targets one process loads, across all its
	// policies and files.
	MaxTargets = 10_000
	// MaxForecastSteps bounds, for each signal, the steps its forecast
	// must reach ahead: (leadTime + window) / step, the database lead time
	// included. Two weeks of 1-minute steps.
	MaxForecastSteps = 20_160
	// MinSignalStep and MaxSignalStep bound a signal's step.
	MinSignalStep = Duration(time.Second)
	MaxSignalStep = Duration(24 * time.Hour)
	// MaxReplicas bounds replica counts (an HPA's, a rule's, a node
	// group's size): far above any real deployment, far below overflow.
	MaxReplicas = 100_000
	// maxInt bounds every integer of a policy.
	maxInt = 1_000_000_000
	// ShownProblems is how many problems Problems.Error prints before
	// counting the rest.
	ShownProblems = 20
)

// Head returns the first n problems (all of them when n ≤ 0) and how many
// more there are.
func (ps Problems) Head(n int) (Problems, int) {
	if n <= 0 || len(ps) <= n {
		return ps, 0
	}
	return ps[:n], len(ps) - n
}

// moreProblems is the line that counts the problems not shown.
func moreProblems(n int) string {
	if n == 1 {
		return "... and 1 more problem"
	}
	return fmt.Sprintf("... and %d more problems", n)
}

// joinProblems prints up to n problems one per line and counts the rest.
func joinProblems(ps Problems, n int) string {
	head, more := ps.Head(n)
	lines := make([]string, 0, len(head)+1)
	for _, p := range head {
		lines = append(lines, p.String())
	}
	if more > 0 {
		lines = append(lines, moreProblems(more))
	}
	return strings.Join(lines, "\n")
}

// forecastSteps checks that a signal's forecast horizon stays within
// MaxForecastSteps for the target's lead time and window (and the longest
// database or cache lead time).
func (v *validator) forecastSteps(path string, step Duration, ahead Duration, what string) {
	if step < MinSignalStep || step > MaxSignalStep {
		v.errf(path+".step", "must be between %s and %s, got %s", MinSignalStep, MaxSignalStep, step)
		return
	}
	if n := int64(ahead) / int64(step); n > MaxForecastSteps {
		v.errf(path+".step", "a forecast %s ahead (%s) at a step of %s is %d steps, at most %d: use a longer step",
			ahead, what, step, n, MaxForecastSteps)
	}
}

// replicas checks a replica count's upper bound.
func (v *validator) replicas(path string, n int) {
	if n > MaxReplicas {
		v.errf(path, "must be at most %d, got %d", MaxReplicas, n)
	}
}

func stepOf(s *Signal) *Duration {
	if s == nil {
		return nil
	}
	return &s.Step
}

func stepOfLatency(s *LatencySignal) *Duration {
	if s == nil {
		return nil
	}
	return &s.Step
}

func stepOfCache(s *CacheSignal) *Duration {
	if s == nil {
		return nil
	}
	return &s.Step
}
