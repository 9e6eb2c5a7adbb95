package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/policy"
)

const calendarPolicy = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  timeZone: UTC
  targets:
    - name: web
      signals:
        demand:
          query: elb
          step: 5m
      capacity:
        perPod: 1000000
        leadTime: 5m
        window: 15m
      hpa:
        namespace: default
        name: web
        mode: active
        minReplicas: 4
        maxReplicas: 60
  rules:
    - name: pre-open
      targets: [web]
      schedule:
        cron: "0 8 * * *"
        duration: 8h
        minReplicas: 12
`

// A rule's 08:00 floor shows as the target's next change at 08:00 (or its
// lead time before), seen from 02:00: the search goes on past the
// forecast's reach on the rules' calendar, not only the 20 minutes the
// forecast covers.
func TestNextChangeOnTheCalendar(t *testing.T) {
	doc := calendarPolicy
	var now time.Time
	var got []Report
	cfg := Config{Tick: 5 * time.Minute, Refit: 15 * time.Minute, Report: func(_ context.Context, r Report) { got = append(got, r) }}
	l, tr := elbLoop(t, doc, &now, cfg, NewMemoryActuator(), nil, nil)
	now = tr.Start.Add(10 * 24 * time.Hour).Truncate(24 * time.Hour).Add(2 * time.Hour) // 02:00 UTC
	if _, err := l.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d reports, want 1", len(got))
	}
	tr0 := got[0].Targets["web"]
	if !tr0.Forecast {
		t.Fatalf("no forecast at 02:00: %s", tr0.Why)
	}
	n := tr0.Next
	if n == nil {
		t.Fatal("no next change: the 08:00 rule is not foreseen")
	}
	open := now.Add(6 * time.Hour) // 08:00
	if n.At.Before(open.Add(-5*time.Minute)) || n.At.After(open) {
		t.Errorf("next change at %s, want 08:00 (or its 5m lead time before)", n.At.Format("15:04"))
	}
	t.Logf("next change %d → %d at %s: %s", n.From, n.To, n.At.Format("15:04"), n.Reason)
	// The owner's 4 now (demand is far below a pod's capacity), the
	// rule's 12 then.
	if n.From != 4 || n.To != 12 || !strings.Contains(n.Reason, "pre-open") {
		t.Errorf("next change %d → %d (%s), want 4 → 12 by rule pre-open", n.From, n.To, n.Reason)
	}
}

// BenchmarkCalendarSearch is the worst case of the search: seen at 09:00,
// the rule's window is open and nothing raises the floor within the 24
// hours, so all 288 steps are planned.
func BenchmarkCalendarSearch(b *testing.B) {
	t := &testing.T{}
	var now time.Time
	l, tr := elbLoop(t, calendarPolicy, &now, Config{Tick: 5 * time.Minute, Refit: 15 * time.Minute}, NewMemoryActuator(), nil, nil)
	now = tr.Start.Add(10 * 24 * time.Hour).Truncate(24 * time.Hour).Add(9 * time.Hour)
	plans, err := l.Tick(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	p := l.policies()[0]
	eng := l.engines[p]
	in := l.inputs(context.Background(), p, now)
	st := l.states[p.File+"#"+p.Metadata.Name]
	floor := floorOfPlan(plans[0])
	b.ResetTimer()
	for b.Loop() {
		targets := map[string]TargetReport{}
		l.calendarChanges(eng, now, st, in, map[string]int{"web": floor}, targets)
		if targets["web"].Next != nil {
			b.Fatal("a change found above the open window's floor")
		}
	}
}

func floorOfPlan(p policy.Plan) int {
	r, _ := p.Find("web", policy.KindHPA, policy.FieldMinReplicas)
	v, _ := r.Desired.(int)
	return v
}

// A shadow plan's reasons end with its mode; the reason reported is the
// one before, that says why the value is what it is.
func TestWhy(t *testing.T) {
	for _, c := range []struct {
		reasons []string
		want    string
	}{
		{nil, ""},
		{[]string{"capacity model: ceil(60 / 35) = 2"}, "capacity model: ceil(60 / 35) = 2"},
		{[]string{"capacity model: ceil(60 / 35) = 2", "limit: owner's floor 3", "mode shadow: recorded, not applied"}, "limit: owner's floor 3"},
		{[]string{"rule market-hours: pre-market session", "mode shadow, promoted: after 14d"}, "rule market-hours: pre-market session"},
		{[]string{"mode observe: forecast and export only, not applied"}, "mode observe: forecast and export only, not applied"},
	} {
		if got := Why(c.reasons); got != c.want {
			t.Errorf("Why(%q) = %q, want %q", c.reasons, got, c.want)
		}
		if got := ruleReason(c.reasons); c.want != "" && !strings.HasPrefix(c.want, "rule ") && got != c.want {
			t.Errorf("ruleReason(%q) = %q, want %q", c.reasons, got, c.want)
		}
	}
}
