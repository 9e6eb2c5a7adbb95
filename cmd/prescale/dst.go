package main

import (
	"strings"
	"time"

	"github.com/prescale/prescale/config"
)

// validateDSTAhead is how far ahead of now `prescale validate` looks for
// clock changes that skip or repeat a time the policies name.
const validateDSTAhead = 366 * 24 * time.Hour

// validateClock is `prescale validate`'s now; tests fix it.
var validateClock = time.Now

// planDSTAhead is how far past --at `prescale plan` looks: the week its
// event steps and lead times reach.
const planDSTAhead = 7 * 24 * time.Hour

// dstWarnings are the policies' DST warnings (config.DSTWarnings) at the
// clock changes in [from, to), formatted FILE:LINE:COL: field: warning: ….
func dstWarnings(policies []*config.Policy, from, to time.Time) []string {
	var out []string
	for _, p := range policies {
		for _, w := range config.DSTWarnings(p, from, to) {
			out = append(out, w.String())
		}
	}
	return out
}

// planDSTWarnings are plan's warnings about clock changes: --at written as
// a local time that does not exist or happens twice, and the times the
// policies name around the plan (from the warm-up's start to a week past
// --at), without the "warning: " plan adds when it prints them.
func planDSTWarnings(policies []*config.Policy, atFlag string, from, at time.Time) []string {
	var out []string
	if atFlag != "" && len(policies) > 0 {
		if note := config.LocalTimeNote(atFlag, policies[0].Location); note != "" {
			out = append(out, "--at "+note)
		}
	}
	for _, w := range dstWarnings(policies, from, at.Add(planDSTAhead)) {
		out = append(out, strings.Replace(w, "warning: ", "", 1))
	}
	return out
}
