package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// dstPolicy is a policy in zone with one schedule rule (cron), one event
// (start or schedule) and one database change window (window).
func dstPolicy(zone, cron, eventStart, eventSchedule, window string) string {
	ev := fmt.Sprintf("start: %q", eventStart)
	if eventSchedule != "" {
		ev = fmt.Sprintf("schedule: %q", eventSchedule)
	}
	return fmt.Sprintf(`apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: dst
spec:
  timeZone: %s
  calendars:
    - name: cal
      events:
        - name: launch
          %s
          duration: 2h
  targets:
    - name: api
      signals:
        demand:
          query: sum(rate(http_requests_total[2m]))
      capacity:
        perPod: 100
      hpa:
        namespace: default
        name: api
        maxReplicas: 10
      database: db
  databases:
    - name: db
      identifier: db
      region: us-east-1
      current: db.t3.large
      tiers:
        - {class: db.t3.large, maxConnections: 600}
      changeWindows:
        - schedule: %q
          duration: 2h
  rules:
    - name: open
      schedule:
        cron: %q
        duration: 1h
        minReplicas: 4
`, zone, ev, window, cron)
}

// TestDSTWarnings: America/New_York's clock changes in 2026 and 2027 are,
// by the US rule, at 02:00 on the second Sunday of March (clocks jump to
// 03:00: 2026-03-08, 2027-03-14) and at 02:00 on the first Sunday of
// November (clocks fall back to 01:00: 2026-11-01, 2027-11-07). A time
// named in [02:00, 03:00) on a March date does not exist; one in
// [01:00, 02:00) on a November date happens twice.
func TestDSTWarnings(t *testing.T) {
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	const quiet = "0 9 * * 1-5" // weekdays 09:00: never near a change
	cases := []struct {
		name                                     string
		zone, cron, start, eventSchedule, window string
		want                                     []string // substrings, one warning each, in order
	}{
		{"nothing near a change", "America/New_York", quiet, "2026-06-01T09:00", "", quiet, nil},
		{"rule in the spring gap", "America/New_York", "30 2 * * *", "2026-06-01T09:00", "", quiet, []string{
			`spec.rules[0].schedule.cron: warning: cron "30 2 * * *" names 02:30 on Sun 2026-03-08, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it does not fire then, so rule open's window does not open that day`,
			`names 02:30 on Sun 2027-03-14, which does not exist in America/New_York`,
		}},
		{"rule in the fall repeat", "America/New_York", "30 1 * * *", "2026-06-01T09:00", "", quiet, []string{
			`spec.rules[0].schedule.cron: warning: cron "30 1 * * *" names 01:30 on Sun 2026-11-01, which happens twice in America/New_York (clocks fall back from 02:00 EDT to 01:00 EST): it fires at both, 01:30 EDT and again at 01:30 EST, so rule open's window opens twice, for 1h from each`,
			`names 01:30 on Sun 2027-11-07, which happens twice`,
		}},
		{"weekdays only: changes are on Sundays", "America/New_York", "30 2 * * 1-5", "2026-06-01T09:00", "", "30 1 * * 1-5", nil},
		{"every hour is left alone", "America/New_York", "0 * * * *", "2026-06-01T09:00", "", "*/15 * * * *", nil},
		{"several times in the gap", "America/New_York", "*/20 2 * * 0", "2026-06-01T09:00", "", quiet, []string{
			`cron "*/20 2 * * 0" names 02:00, 02:20, 02:40 on Sun 2026-03-08, which does not exist`,
			`on Sun 2027-03-14`,
		}},
		{"change window on Sundays at 01:00", "America/New_York", quiet, "2026-06-01T09:00", "", "0 1 * * 0", []string{
			`spec.databases[0].changeWindows[0].schedule: warning: cron "0 1 * * 0" names 01:00 on Sun 2026-11-01, which happens twice in America/New_York (clocks fall back from 02:00 EDT to 01:00 EST): it fires at both, 01:00 EDT and again at 01:00 EST, so db's change window opens twice, for 2h from each`,
			`on Sun 2027-11-07`,
		}},
		{"recurring event in the gap", "America/New_York", quiet, "", "0 2 * * 0", quiet, []string{
			`spec.calendars[0].events[0].schedule: warning: cron "0 2 * * 0" names 02:00 on Sun 2026-03-08, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it does not fire then, so event launch has no occurrence that day`,
			`on Sun 2027-03-14`,
		}},
		{"one-off start in the gap", "America/New_York", quiet, "2027-03-14T02:30", "", quiet, []string{
			`spec.calendars[0].events[0].start: warning: event launch starts at 2027-03-14 02:30, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it is taken as 2027-03-14 01:30 EST; write the instant with its offset (RFC 3339) to choose`,
		}},
		{"one-off start in the repeat", "America/New_York", quiet, "2026-11-01T01:30", "", quiet, []string{
			`spec.calendars[0].events[0].start: warning: event launch starts at 2026-11-01 01:30, which happens twice in America/New_York (clocks fall back from 02:00 EDT to 01:00 EST): it is taken as the first, 01:30 EDT, not 01:30 EST`,
		}},
		{"one-off start with its offset", "America/New_York", quiet, "2026-11-01T01:30:00-05:00", "", quiet, nil},
		{"one-off start an hour after the repeat", "America/New_York", quiet, "2026-11-01T02:30", "", quiet, nil},
		{"UTC has no changes", "UTC", "30 2 * * *", "2026-03-08T02:30", "", "30 1 * * *", nil},
		// A CRON_TZ prefix wins over the policy's zone: London changes on
		// the last Sundays of March and October, at 01:00 UTC.
		{"CRON_TZ=Europe/London", "America/New_York", "CRON_TZ=Europe/London 30 1 * * 0", "2026-06-01T09:00", "", quiet, []string{
			`names 01:30 on Sun 2026-03-29, which does not exist in Europe/London (clocks jump from 01:00 GMT to 02:00 BST)`,
			`names 01:30 on Sun 2026-10-25, which happens twice in Europe/London (clocks fall back from 02:00 BST to 01:00 GMT): it fires at both, 01:30 BST and again at 01:30 GMT`,
			`on Sun 2027-03-28`,
			`on Sun 2027-10-31`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := Parse([]byte(dstPolicy(c.zone, c.cron, c.start, c.eventSchedule, c.window)), "dst.yaml")
			if err != nil {
				t.Fatal(err)
			}
			ws := DSTWarnings(ps[0], from, to)
			if len(ws) != len(c.want) {
				t.Fatalf("%d warnings, want %d:\n%v", len(ws), len(c.want), ws)
			}
			for i, w := range c.want {
				if got := ws[i].String(); !strings.Contains(got, w) {
					t.Errorf("warning %d:\n got %s\nwant …%s…", i, got, w)
				}
				if !strings.HasPrefix(ws[i].String(), "dst.yaml:") {
					t.Errorf("warning %d has no position: %s", i, ws[i])
				}
			}
		})
	}
}

// TestDSTWarningsSayWhatHappens: what the warnings say is what the
// schedules and the time package do. robfig/cron skips 02:30 on
// 2026-03-08 (the next firing is the 9th) and fires 01:30 twice on
// 2026-11-01, an hour apart; Go reads 2026-03-08 02:30 as 01:30 EST and
// 2026-11-01 01:30 as its first occurrence, EDT.
func TestDSTWarningsSayWhatHappens(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Parse([]byte(dstPolicy("America/New_York", "30 2 * * *", "2026-03-08T02:30", "", "30 1 * * *")), "dst.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	gap := p.Spec.Rules[0].Schedule.Parsed.Next(time.Date(2026, 3, 8, 0, 0, 0, 0, ny))
	if want := time.Date(2026, 3, 9, 2, 30, 0, 0, ny); !gap.Equal(want) {
		t.Errorf("after midnight on 2026-03-08, 30 2 * * * fires at %s, want %s (skipped that day)", gap, want)
	}
	w := p.Spec.Databases[0].ChangeWindows[0].Parsed
	first := w.Next(time.Date(2026, 11, 1, 0, 0, 0, 0, ny))
	second := w.Next(first)
	if first.Format("15:04 MST") != "01:30 EDT" || second.Sub(first) != time.Hour || second.In(ny).Format("15:04 MST") != "01:30 EST" {
		t.Errorf("30 1 * * * on 2026-11-01 fires at %s then %s, want 01:30 EDT then 01:30 EST", first.In(ny), second.In(ny))
	}
	if got := p.Spec.Calendars[0].EventSet.Events[0].Start.In(ny).Format("2006-01-02 15:04 MST"); got != "2026-03-08 01:30 EST" {
		t.Errorf("start 2026-03-08T02:30 taken as %s, want 2026-03-08 01:30 EST", got)
	}
	repeat, err := ParseTime("2026-11-01T01:30", ny)
	if err != nil || repeat.Format("15:04 MST") != "01:30 EDT" {
		t.Errorf("2026-11-01T01:30 taken as %s (%v), want 01:30 EDT", repeat, err)
	}
}

// TestClockChanges: the changes of America/New_York in 2026-2027, from
// the US rule.
func TestClockChanges(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	got := ClockChanges(ny, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC))
	want := []string{
		"2026-03-08 07:00 UTC clocks jump from 02:00 EST to 03:00 EDT",
		"2026-11-01 06:00 UTC clocks fall back from 02:00 EDT to 01:00 EST",
		"2027-03-14 07:00 UTC clocks jump from 02:00 EST to 03:00 EDT",
		"2027-11-07 06:00 UTC clocks fall back from 02:00 EDT to 01:00 EST",
	}
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d: %v", len(got), len(want), got)
	}
	for i, c := range got {
		if s := c.At.UTC().Format("2006-01-02 15:04 MST") + " " + c.String(); s != want[i] {
			t.Errorf("change %d: %s, want %s", i, s, want[i])
		}
	}
}
