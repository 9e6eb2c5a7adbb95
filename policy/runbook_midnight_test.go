package policy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

// Ramps across midnight: a ramp belongs to the session it follows or leads
// to, not to the calendar day the instant falls on. The pricing example's
// market-hours rule (calculator floor 10 from pre-market 08:00 through
// the close, minimum 3) with its ramps lengthened so that they cross
// midnight. The expected floors are the documented rule's (docs/policy.md,
// schedule): linear between minReplicas and the minimum, rounded up.
func pricingWithRamps(t *testing.T, ramps string) *timeline {
	t.Helper()
	data, err := os.ReadFile("../deploy/examples/pricing-trading-hours.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const rule = "        sessions: [pre-market, regular]\n        minReplicas: 10\n        rampDown: 2h\n"
	if !strings.Contains(string(data), rule) {
		t.Fatalf("the example's market-hours rule changed; this test edits %q", rule)
	}
	doc := strings.Replace(string(data), rule, "        sessions: [pre-market, regular]\n        minReplicas: 10\n"+ramps, 1)
	ps, err := config.Parse([]byte(doc), "pricing-ramps.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &timeline{t: t, e: NewEngine(ps[0])}
}

func (tl *timeline) start(at time.Time) *timeline {
	nt := newTimeline(tl.t, tl.e, at, pricingDemand)
	nt.promote = map[string]string{"gateway": "test: promoted after 14 days"}
	return nt
}

// A 10-hour ramp down after the 16:00 close runs to 02:00 the next day,
// and from a Friday close into Saturday: 10 at the close, 3 + ⌈7·(1 −
// elapsed/10h)⌉ after it.
func TestRunbookRampDownCrossesMidnight(t *testing.T) {
	for _, c := range []struct {
		name  string
		close time.Time
	}{
		{"Thursday into Friday", et(2026, 3, 12, 16, 0)},
		{"Friday into Saturday (no trading day)", et(2026, 3, 13, 16, 0)},
		{"the day before Thanksgiving into the holiday", et(2026, 11, 25, 16, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := pricingWithRamps(t, "        rampDown: 10h\n").start(c.close.Add(-time.Hour))
			check(t, "the close", tl.to(c.close), floorOf("calculator", 10))
			check(t, "21:00, half way", tl.to(c.close.Add(5*time.Hour)), floorOf("calculator", 7).because("ramp down from 10 after 16:00"))
			midnight := c.close.Add(8 * time.Hour)
			prev := resource(t, tl.to(midnight.Add(-time.Minute)), "calculator", KindHPA, FieldMinReplicas).Desired.(int)
			if prev != 5 {
				t.Errorf("23:59: floor %d, want 5", prev)
			}
			for at := midnight; at.Before(midnight.Add(2 * time.Hour)); at = at.Add(time.Minute) {
				f := resource(t, tl.to(at), "calculator", KindHPA, FieldMinReplicas).Desired.(int)
				if f > prev || prev-f > 1 || f <= 3 {
					t.Fatalf("%s: floor %d after %d: the ramp down must go on past midnight, gradually, above the minimum until 02:00", at.Format("Mon 15:04"), f, prev)
				}
				prev = f
			}
			check(t, "01:59", tl.to(midnight.Add(2*time.Hour-time.Minute)), floorOf("calculator", 4))
			// The ramp ends at 02:00; the calculator's 10-minute scale-down
			// stabilisation may hold its last step until 02:10.
			check(t, "02:10", tl.to(midnight.Add(2*time.Hour+10*time.Minute)), floorOf("calculator", 3))
		})
	}
	t.Run("00:00 exactly", func(t *testing.T) {
		tl := pricingWithRamps(t, "        rampDown: 10h\n").start(et(2026, 3, 12, 15, 0))
		check(t, "Friday 00:00", tl.to(et(2026, 3, 13, 0, 0)), floorOf("calculator", 5).because("after 16:00"))
		check(t, "Friday 01:00", tl.to(et(2026, 3, 13, 1, 0)), floorOf("calculator", 4))
	})
}

// A 10-hour ramp to the 08:00 pre-market starts at 22:00 the evening
// before, also on a Sunday; none before a holiday (Thanksgiving), and the
// one to the Friday after it starts on the holiday evening.
func TestRunbookRampUpCrossesMidnight(t *testing.T) {
	for _, c := range []struct {
		name  string
		opens time.Time
	}{
		{"Sunday evening to Monday", et(2026, 3, 16, 8, 0)},
		{"Thanksgiving evening to the early-close Friday", et(2026, 11, 27, 8, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := c.opens.Add(-11 * time.Hour)
			tl := pricingWithRamps(t, "        ramp: 10h\n").start(start)
			check(t, "21:59", tl.to(c.opens.Add(-10*time.Hour-time.Minute)), floorOf("calculator", 3))
			// 3 + ⌈7·f⌉ with f the fraction of the ramp done.
			check(t, "23:00, a tenth of the way", tl.to(c.opens.Add(-9*time.Hour)), floorOf("calculator", 4).because("ramp to 10 before 08:00"))
			check(t, "03:00, half way", tl.to(c.opens.Add(-5*time.Hour)), floorOf("calculator", 7))
			check(t, "08:00, pre-market", tl.to(c.opens), floorOf("calculator", 10).because("pre-market session"))
		})
	}
	t.Run("no ramp to a holiday", func(t *testing.T) {
		tl := pricingWithRamps(t, "        ramp: 10h\n").start(et(2026, 11, 25, 21, 0))
		for _, at := range []time.Time{et(2026, 11, 25, 23, 0), et(2026, 11, 26, 3, 0), et(2026, 11, 26, 8, 0)} {
			check(t, at.Format("Mon 15:04"), tl.to(at), floorOf("calculator", 3))
		}
	})
}

// A ramp down after the close and the ramp to the next pre-market
// overlap between 22:00 and 02:00: the higher floor holds, so the floor
// never drops to the minimum in between.
func TestRunbookRampsOverlapOvernight(t *testing.T) {
	tl := pricingWithRamps(t, "        ramp: 10h\n        rampDown: 10h\n").start(et(2026, 3, 10, 15, 0))
	// Down: 3 + ⌈7·(1 − e/10h)⌉; up: 3 + ⌈7·(1 − r/10h)⌉ with r the time
	// left to 08:00. The lowest is where they cross, 00:00: 3 + ⌈1.4⌉ = 5.
	for at := et(2026, 3, 10, 16, 0); !at.After(et(2026, 3, 11, 8, 0)); at = at.Add(time.Minute) {
		if f := resource(t, tl.to(at), "calculator", KindHPA, FieldMinReplicas).Desired.(int); f < 5 {
			t.Fatalf("%s: floor %d, want at least 5 where the two ramps overlap", at.Format("Mon 15:04"), f)
		}
	}
	check(t, "Wednesday 08:00", tl.to(et(2026, 3, 11, 8, 0)), floorOf("calculator", 10))
}

// The ticketing runbook's on-sale with its hour of lead and its two hours
// crossing midnight: the stadium tour on sale at 00:30 London on Saturday
// December 5. 8 replicas from 23:30 on Friday (T−1h) through 02:30 (the
// end), back to the owner's 2 afterwards: the event the instant belongs
// to, whichever day it falls on.
func TestRunbookOnSaleAcrossMidnight(t *testing.T) {
	data, err := os.ReadFile("../deploy/examples/ticketing-on-sale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "start: 2026-12-04T10:00", "start: 2026-12-05T00:30", 1)
	if doc == string(data) {
		t.Fatal("the example's stadium-tour start changed; this test moves it")
	}
	ps, err := config.Parse([]byte(doc), "ticketing-midnight.yaml")
	if err != nil {
		t.Fatal(err)
	}
	T := lon(12, 5, 0, 30)
	tl := newTimeline(t, NewEngine(ps[0]), T.Add(-2*time.Hour), map[string]float64{"tickets-api": 100})
	check(t, "Friday 23:29", tl.to(T.Add(-61*time.Minute)), floorOf("tickets-api", 2))
	check(t, "Friday 23:30, T-1h", tl.to(T.Add(-time.Hour)), floorOf("tickets-api", 8).because("stadium-tour 2026-12-05 00:30"))
	for at := T.Add(-time.Hour); at.Before(T.Add(2 * time.Hour)); at = at.Add(time.Minute) {
		if f := resource(t, tl.to(at), "tickets-api", KindHPA, FieldMinReplicas).Desired.(int); f != 8 {
			t.Fatalf("%s: floor %d, want 8 from T-1h to the end at 02:30", at.Format("Mon 15:04"), f)
		}
	}
	check(t, "Saturday 03:30, after the event", tl.to(T.Add(3*time.Hour)), floorOf("tickets-api", 2))
}
