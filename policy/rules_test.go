package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

var scheduled = strings.Replace(base, "maxStepUp: 5", "maxStepUp: 50", 1) + `  calendars:
    - name: nyse
      exchange: XNYS
    - name: launches
      events:
        - {name: launch, start: "2026-06-10T03:00:00Z", duration: 2h}
        - {name: weekly, schedule: "0 3 * * 3", duration: 1h}
  rules:
    - name: cron-window
      schedule:
        cron: "0 9 * * 1-5"
        timeZone: America/New_York
        duration: 8h
        tradingDaysOnly: true
        calendar: nyse
        minReplicas: 8
        maxReplicas: 60
        ramp: 1h
    - name: double-at-lunch
      schedule: {cron: "0 12 * * *", timeZone: America/New_York, duration: 1h, multiplier: 2}
    - name: launch
      event:
        calendar: launches
        event: launch
        steps:
          - {at: -1d, minReplicas: 5}
          - {at: -1h, minReplicasPercent: 100, maxReplicas: 55}
    - name: weekly
      event:
        calendar: launches
        event: weekly
        steps:
          - {at: -30m, minReplicas: 12}
          - {at: 1h, reset: true}
`

func TestScheduleAndEventRules(t *testing.T) {
	e := parsePolicy(t, scheduled)
	for _, c := range []struct {
		name           string
		at             time.Time
		floor, ceiling int
		reason         string
	}{
		{"cron window open on a trading day", et(2026, 6, 1, 10, 0), 8, 60, "rule cron-window (window 09:00 EDT–17:00 EDT): floor 8"},
		{"cron window at its last minute", et(2026, 6, 1, 16, 59), 8, 60, "floor 8"},
		{"cron window closed", et(2026, 6, 1, 17, 0), 2, 50, "owner's minReplicas 2"},
		{"ramp half-way", et(2026, 6, 1, 8, 30), 5, 50, "ramp to 8 before 09:00 EDT, 50% of the way: floor 5"},
		{"no window on Juneteenth (trading days only)", et(2026, 6, 19, 10, 0), 2, 50, "owner's minReplicas 2"},
		{"no ramp before a holiday", et(2026, 6, 19, 8, 30), 2, 50, "owner's minReplicas 2"},
		{"multiplier inside both windows", et(2026, 6, 1, 12, 30), 16, 60, "rule double-at-lunch (window 12:00 EDT–13:00 EDT): × 2 → 16"},
		{"one-off event T-1d", time.Date(2026, 6, 9, 3, 0, 0, 0, time.UTC), 5, 50, "rule launch (launch 2026-06-10 03:00 UTC, T-1d): floor 5"},
		// Steps accumulate: the floor of 5 from T-1d, then +100%.
		{"one-off event T-1h: +100% and maxReplicas", time.Date(2026, 6, 10, 2, 0, 0, 0, time.UTC), 10, 55, "minReplicas +100% → 10"},
		{"one-off event over (no reset: ends with the event)", time.Date(2026, 6, 10, 5, 0, 0, 0, time.UTC), 2, 50, "owner's minReplicas 2"},
		{"recurring event T-30m", time.Date(2026, 6, 3, 2, 30, 0, 0, time.UTC), 12, 50, "rule weekly (weekly 2026-06-03 03:00 UTC, T-30m): floor 12"},
		{"recurring event reset at T+1h", time.Date(2026, 6, 3, 4, 0, 0, 0, time.UTC), 2, 50, "owner's minReplicas 2"},
		{"recurring event next week with the one-off", time.Date(2026, 6, 10, 2, 45, 0, 0, time.UTC), 12, 55, "rule weekly (weekly 2026-06-10 03:00 UTC, T-15m): floor 12"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := e.Plan(c.at, State{}, Inputs{})
			r := find(t, p, "api", KindHPA, FieldMinReplicas)
			if r.Desired != c.floor || !hasReason(r, c.reason) {
				t.Errorf("floor %v, want %d with %q: %q", r.Desired, c.floor, c.reason, r.Reasons)
			}
			if got := find(t, p, "api", KindHPA, FieldMaxReplicas).Desired; got != c.ceiling {
				t.Errorf("ceiling %v, want %d", got, c.ceiling)
			}
		})
	}
}

func TestVolatilitySwitch(t *testing.T) {
	r := &config.VolatilityRule{Above: 25, Below: 22}
	for _, c := range []struct {
		v        float64
		observed bool
		was      bool
		want     bool
	}{
		{30, true, false, true}, {25, true, false, false}, {23, true, true, true}, {22, true, true, true},
		{21.9, true, true, false}, {30, false, false, false}, {10, false, true, true},
	} {
		if got := volatility(r, c.v, c.observed, c.was); got != c.want {
			t.Errorf("volatility(%g, observed %v, was %v) = %v, want %v", c.v, c.observed, c.was, got, c.want)
		}
	}
}

func TestCeilingComesDownAlongTheRate(t *testing.T) {
	e := parsePolicy(t, scheduled)
	// The cron window (maxReplicas 60) closes at 17:00 EDT: the ceiling
	// goes back to the owner's 50 by 2 pods per 5 minutes, not at once.
	var st State
	var got []int
	for at := et(2026, 6, 1, 16, 58); at.Before(et(2026, 6, 1, 17, 30)); at = at.Add(time.Minute) {
		var p Plan
		p, st = e.Plan(at, st, Inputs{})
		got = append(got, find(t, p, "api", KindHPA, FieldMaxReplicas).Desired.(int))
	}
	want := []int{60, 60, 58, 58, 58, 58, 58, 56}
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("ceilings %v, want prefix %v", got, want)
		}
	}
	if last := got[len(got)-1]; last != 50 {
		t.Errorf("ceiling after 30m = %d, want 50", last)
	}
}
