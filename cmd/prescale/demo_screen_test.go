package main

import (
	"strings"
	"testing"
	"time"
)

// A demo line stays short: the bound that held the floor, without the
// explanation `prescale plan` gives in parentheses.
func TestDecisionLine(t *testing.T) {
	at := time.Date(2015, 1, 31, 4, 59, 0, 0, time.UTC)
	for _, c := range []struct {
		reasons []string
		want    string
	}{
		{[]string{"forecast p90 demand 6481 over [now+5m, now+20m] (model ets)", "capacity model: ceil(6481 / (1500 per pod × 0.7 utilisation)) = 7",
			"limit: scale-down stabilisation 10m holds 8 (highest recommendation in the window)"},
			"  04:59  dispatch minReplicas  9 →  8  forecast p90 demand 6,481 (5m–20m ahead), needs 7 pods; held by scale-down stabilisation 10m holds 8"},
		{[]string{"forecast p90 demand 19650 over [now+5m, now+20m] (model ets)", "capacity model: ceil(19650 / (1500 per pod × 0.7 utilisation)) = 19",
			"limit: max step up 10 from 1 → 11"},
			"  04:59  dispatch minReplicas  1 → 11  forecast p90 demand 19,650 (5m–20m ahead), needs 19 pods; held by max step up 10 from 1 → 11"},
		{[]string{"no usable demand forecast: holding 12 from the forecast of 2015-01-30T10:00:00Z (grace 30m0s)"},
			"  04:59  dispatch minReplicas  9 →  8  fail-static: no usable demand forecast: holding 12"},
	} {
		from, to := 9, 8
		if strings.Contains(c.want, " 1 → 11") {
			from, to = 1, 11
		}
		if got := decisionLine(at, "dispatch", from, to, c.reasons); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
